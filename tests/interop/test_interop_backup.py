"""Backup and restore on SQLite and PostgreSQL (and across them): every record back, the chain verifies."""

from __future__ import annotations

import json
import zipfile

import pytest
from interop_synth import build_trial
from sqlalchemy import select

from securebase.cli import main
from securebase.errors import ConflictError, DataError
from securebase.interop.backup import backup_store, compare_stores, read_manifest, restore_store
from securebase.store import open_store, verify_chain
from securebase.store.tables import Participant


@pytest.mark.parametrize(("source", "kind"), [("sqlite", "postgresql"), ("postgresql", "postgresql"),
                                              ("postgresql", "sqlite")])
def test_backup_restore_loses_nothing(fresh_care, tmp_path, fresh_url, source, kind) -> None:  # type: ignore[no-untyped-def]
    """SQLite to SQLite is the CLI test below."""
    care_trial = fresh_care(source)
    build_trial(care_trial, n=3)
    path = backup_store(care_trial, tmp_path / "b.zip").path
    manifest = read_manifest(path)
    counts = {t["name"]: t["rows"] for t in manifest["tables"]}
    assert counts["responses"] > 100 and counts["audit_log"] > counts["responses"]
    target = open_store(fresh_url(kind))
    result = restore_store(target, path)
    assert result.rows == counts and result.audit_check.startswith("audit chain intact")
    with target.read() as s:
        assert verify_chain(s).records == counts["audit_log"]
    cmp = compare_stores(care_trial, target)
    assert cmp.identical, cmp.summary()
    # the restored store keeps working: new ids do not collide and the chain extends
    with target.unit_of_work(actor="dm1", reason="age corrected from the placement record") as uow:
        p = uow.session.execute(select(Participant).order_by(Participant.id).limit(1)).scalar_one()
        p.age_years = 9.5
        uow.session.add(Participant(trial_id="ng26-care", participant_id="CARE-0999", site_code="LA01",
                                    enrolled_on=p.enrolled_on, age_years=7.0, age_band="5-10"))
        uow.commit()
    with target.read() as s:
        verify_chain(s)
    diff = compare_stores(care_trial, target)
    assert not diff.identical and "participants" in diff.differences
    target.dispose()


def test_restore_refuses_damaged_backup_and_non_empty_target(fresh_care, tmp_path, fresh_url) -> None:  # type: ignore[no-untyped-def]
    care_trial = fresh_care("sqlite")
    build_trial(care_trial, n=2)
    path = backup_store(care_trial, tmp_path / "b.zip").path
    with pytest.raises(ConflictError, match="already holds data"):
        restore_store(care_trial, path)
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.namelist():
            data = src.read(item)
            if item == "tables/participants.jsonl":
                data = data.replace(b'"female"', b'"male"', 1)
            dst.writestr(item, data)
    target = open_store(fresh_url("sqlite"))
    with pytest.raises(DataError, match="does not match its hash"):
        restore_store(target, bad)
    (tmp_path / "junk.zip").write_text("not a zip")
    with pytest.raises(DataError, match="not a securebase backup"):
        restore_store(target, tmp_path / "junk.zip")


def test_backup_restore_compare_cli(fresh_care, tmp_path, fresh_url, capsys) -> None:  # type: ignore[no-untyped-def]
    care_trial = fresh_care("sqlite")
    store_url = care_trial.url
    build_trial(care_trial, n=2)
    target = fresh_url("sqlite")
    assert main(["backup", str(tmp_path / "cli.zip"), "--db", store_url]) == 0
    assert main(["restore", str(tmp_path / "cli.zip"), "--db", target]) == 0
    assert main(["audit", "verify", "--db", target]) == 0
    assert main(["compare", store_url, target]) == 0
    out = capsys.readouterr().out
    assert "no difference" in out and "audit chain intact" in out
    manifest = json.loads(zipfile.ZipFile(tmp_path / "cli.zip").read("manifest.json"))
    assert manifest["dialect"] == "sqlite"
