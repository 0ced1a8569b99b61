"""`securebase import linkage-ids | linkage-consent | cin | match-rates` on a SQLite store."""

from __future__ import annotations

from pathlib import Path

import pytest
from linkage_world import MALT, maltreatment_trial
from trial_world import days_ago
from typer.testing import CliRunner

from securebase.cli import app
from securebase.linkage.synthetic import Child, cin_xml, make_upn
from securebase.store import open_store
from securebase.store.crypto import new_key


def test_cli_consent_ids_cin_import_refusal_and_match_rates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    st = open_store(url)
    (pid,) = maltreatment_trial(st, n=1, back=400)
    st.dispose()
    monkeypatch.setenv("SECUREBASE_ENCRYPTION_KEY", new_key())
    common = ["--as", "mdm", "--trial", MALT, "--db", url]
    child = Child("LA01C0001", "1", days_ago(365 * 9), make_upn(201, 2000, 2018, 1),
                  referrals=[{"referral": days_ago(100), "cpp": [(days_ago(90), None)]}])
    xml = tmp_path / "cin.xml"
    xml.write_bytes(cin_xml([child], la_number="201", year=2026, reference_date=days_ago(3)))
    period = ["--site", "LA01", "--period-start", days_ago(430).isoformat(), "--period-end", days_ago(3).isoformat()]
    r = CliRunner().invoke(app, ["import", "cin", str(xml), *period, *common])
    assert r.exit_code != 0 and "linkage consent" in str(r.exception)  # refused: no consent yet
    r = CliRunner().invoke(app, ["import", "linkage-ids", pid, "--la-child-id", "LA01C0001", "--upn", child.upn, *common])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, ["import", "linkage-consent", pid, "--reference", "linkage consent form 1.0",
                                 "--given-on", days_ago(401).isoformat(), *common])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, ["import", "cin", str(xml), *period, *common])
    assert r.exit_code == 0, r.output
    assert "1 of 1 children matched" in r.output and "2 records linked" in r.output
    bad = tmp_path / "bad.xml"
    bad.write_bytes(xml.read_bytes().replace(days_ago(90).isoformat().encode(), b"2020-13-45"))
    r = CliRunner().invoke(app, ["import", "cin", str(bad), *period, *common])
    assert r.exit_code != 0 and "SB-CIN-5" in str(r.exception) + r.output
    r = CliRunner().invoke(app, ["import", "match-rates", *common])
    assert r.exit_code == 0 and "cin      pooled: 1/1 consented linked (100.0%)" in r.output
