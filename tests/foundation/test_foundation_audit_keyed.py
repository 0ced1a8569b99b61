"""The keyed audit chain (issue 15, item 5), on SQLite and PostgreSQL: `audit verify` reports each of the
four tamperings someone with write access to the database can do without the key file, and an old
(unkeyed) store is sealed with `audit rekey`.

1. the tail cut with the ``audit_head`` row updated to match;
2. a record edited and every later hash recomputed (plain SHA-256: the attacker has no key);
3. a data table edited, inserted into or deleted from outside the application;
4. a backup whose table and manifest hash were changed consistently.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select, text

from securebase.errors import DataError
from securebase.interop.backup import backup_store, restore_store, verify_backup
from securebase.protocol import load_protocol
from securebase.store import open_store, verify_chain
from securebase.store.audit import GENESIS, record_hash
from securebase.store.audit_key import AuditSeal, generate_key_file, load_key, read_head_file
from securebase.store.audit_verify import rekey_chain, verify_all
from securebase.store.tables import AuditHead, AuditRecord, Participant
from securebase.trial.roles import Role
from securebase.trial.setup import create_trial, create_user, grant_role

FIELDS = ("seq", "trial_id", "at", "actor", "action", "table_name", "record_id", "participant_id", "old", "new",
          "reason")


def _fill(store, n: int = 3) -> None:  # type: ignore[no-untyped-def]
    proto = load_protocol("ng26-care")
    with store.unit_of_work(actor="test-setup") as uow:
        create_trial(uow, proto, seed=1)
        admin = create_user(uow, "admin", "correct-horse-battery")
        grant_role(uow, admin, proto.id, Role.administrator)
        uow.commit()
    for i in range(1, n + 1):
        with store.unit_of_work(actor="recruiter1") as uow:
            uow.session.add(Participant(trial_id="ng26-care", participant_id=f"CARE-000{i}", site_code="LA01",
                                        status="enrolled", enrolled_on=date(2026, 1, 10), age_years=9,
                                        age_band="5-10", sex="female", care_status="foster"))
            uow.commit()
    with store.unit_of_work(actor="dm", reason="transcription error") as uow:
        p = uow.session.execute(select(Participant).where(Participant.participant_id == "CARE-0001")).scalar_one()
        p.care_status = "kinship"
        uow.commit()


@pytest.fixture
def keyed(store_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    key_file = tmp_path / "audit.key"
    generate_key_file(key_file)
    seal = AuditSeal(load_key(key_file), tmp_path / "audit.heads")
    st = open_store(store_url, migrate=False, seal=seal)
    _fill(st)
    yield st, seal, key_file
    st.dispose()


def _report(store, seal):  # type: ignore[no-untyped-def]
    with store.read() as s:
        return verify_all(s, seal)


def _resign_plain(conn, start: int) -> None:  # type: ignore[no-untyped-def]
    """What an attacker without the key can do: recompute plain SHA-256 hashes from ``start`` to the end."""
    t = AuditRecord.__table__
    prev = conn.execute(select(t.c.hash).where(t.c.seq == start - 1)).scalar() or GENESIS
    for r in conn.execute(select(t).where(t.c.seq >= start).order_by(t.c.seq)).mappings().all():
        digest = record_hash({k: r[k] for k in FIELDS}, prev)
        conn.execute(t.update().where(t.c.seq == r["seq"]).values(prev_hash=prev, hash=digest))
        prev = digest
    top = conn.execute(select(t.c.seq).order_by(t.c.seq.desc()).limit(1)).scalar()
    conn.execute(AuditHead.__table__.update().values(seq=top, hash=prev))


def test_keyed_chain_verifies_and_every_commit_appends_its_head(keyed) -> None:  # type: ignore[no-untyped-def]
    store, seal, _ = keyed
    report = _report(store, seal)
    assert report.ok, report.text()
    assert f"keyed: HMAC-SHA256, key id {seal.key_id}" in report.text()
    with store.read() as s:
        last = s.execute(select(AuditRecord).order_by(AuditRecord.seq.desc())).scalars().first()
        fields = {k: getattr(last, k) for k in FIELDS}
        assert record_hash(fields, last.prev_hash, seal.key) == last.hash  # an HMAC under the key ...
        assert record_hash(fields, last.prev_hash) != last.hash  # ... not a plain SHA-256
    lines, problems = read_head_file(seal)
    assert problems == [] and len(lines) == 5  # one line per committed unit of work
    assert (lines[-1]["seq"], lines[-1]["hash"]) == (last.seq, last.hash)
    assert "data: " in report.text() and "compared with the audit's replay" in report.text()


def test_tail_cut_with_head_updated_is_reported(keyed) -> None:  # type: ignore[no-untyped-def]
    store, seal, _ = keyed
    with store.engine.begin() as c:
        top = c.execute(text("SELECT max(seq) FROM audit_log")).scalar_one()
        c.execute(text("DELETE FROM audit_log WHERE seq > :s"), {"s": top - 2})
        new_hash = c.execute(text("SELECT hash FROM audit_log WHERE seq = :s"), {"s": top - 2}).scalar_one()
        c.execute(text("UPDATE audit_head SET seq = :s, hash = :h"), {"s": top - 2, "h": new_hash})
    with store.read() as s:
        verify_chain(s)  # the chain alone looks intact: only the head file outside the database tells
    report = _report(store, seal)
    assert not report.ok
    assert any(f"records {top - 1}-{top} were cut from the tail" in p for p in report.problems), report.text()


def test_record_edited_and_hashes_recomputed_without_the_key_is_reported(keyed) -> None:  # type: ignore[no-untyped-def]
    store, seal, _ = keyed
    with store.engine.begin() as c:
        seq = c.execute(text("SELECT min(seq) FROM audit_log WHERE table_name = 'participants'")).scalar_one()
        c.execute(text("UPDATE audit_log SET new = replace(new, 'female', 'male') WHERE seq = :s"), {"s": seq})
        _resign_plain(c, seq)
    report = _report(store, seal)
    assert not report.ok
    assert any(f"audit record {seq}" in p and "without the audit key" in p for p in report.problems), report.text()
    # the whole chain rewritten as plain SHA-256: the head file's hashes no longer match
    with store.engine.begin() as c:
        _resign_plain(c, 1)
    report = _report(store, seal)
    assert any("carry plain SHA-256" in p for p in report.problems), report.text()
    assert any("no longer has the hash the head file recorded" in p for p in report.problems), report.text()


@pytest.mark.parametrize("how", ["update", "insert", "delete"])
def test_data_table_edited_outside_the_audit_is_reported(keyed, how: str) -> None:  # type: ignore[no-untyped-def]
    store, seal, _ = keyed
    with store.engine.begin() as c:
        pk = c.execute(text("SELECT id FROM participants WHERE participant_id = 'CARE-0002'")).scalar_one()
        if how == "update":
            c.execute(text("UPDATE participants SET age_years = 12 WHERE id = :i"), {"i": pk})
            expected = f"participants record {pk}: age_years is 12"  # "... in the table but the audit's last value is 9"
        elif how == "insert":
            c.execute(text("INSERT INTO sites (trial_id, code, name) VALUES ('ng26-care', 'ZZ99', 'ghost site')"))
            new = c.execute(text("SELECT id FROM sites WHERE code = 'ZZ99'")).scalar_one()
            expected = f"sites record {new} is in the table but the audit has no insert of it"
        else:
            c.execute(text("DELETE FROM participants WHERE id = :i"), {"i": pk})
            expected = f"participants record {pk} is in the audit but not in the table"
    report = _report(store, seal)
    assert report.lines[0].startswith("chain: audit chain intact")  # the chain itself was not touched
    assert any(expected in p for p in report.problems), report.text()


def test_tampered_backup_is_reported_and_refused(keyed, tmp_path: Path, store_url: str) -> None:  # type: ignore[no-untyped-def]
    store, seal, _ = keyed
    good = backup_store(store, tmp_path / "good.zip").path
    assert verify_backup(good, seal).ok, verify_backup(good, seal).text()
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        manifest = json.loads(src.read("manifest.json"))
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "tables/participants.jsonl":
                data = data.replace(b'"sex": "female"', b'"sex": "male"')
                for e in manifest["tables"]:
                    if e["name"] == "participants":
                        e["sha256"] = hashlib.sha256(data).hexdigest()  # the manifest recomputed to match
            if item.filename == "manifest.json":
                continue
            dst.writestr(item.filename, data)
        dst.writestr("manifest.json", json.dumps(manifest, indent=2))
    report = verify_backup(bad, seal)
    assert not report.ok
    assert any("does not verify under the audit key" in p for p in report.problems), report.text()
    target = open_store(f"sqlite:///{tmp_path / 'target.db'}", seal=seal)
    with pytest.raises(DataError, match="does not verify under the audit key"):
        restore_store(target, bad)
    with target.read() as s:
        assert s.execute(select(Participant)).first() is None  # nothing restored
    result = restore_store(target, good)
    assert "backup signature: valid" in result.audit_check and "keyed" in result.audit_check
    target.dispose()


def test_unkeyed_store_is_reported_then_sealed_by_rekey(store_url: str, tmp_path: Path) -> None:
    legacy = open_store(store_url, migrate=False)  # no key: a store from before keyed chains
    _fill(legacy, n=2)
    with legacy.read() as s:
        assert "unkeyed legacy chain" in verify_chain(s).summary()
    legacy.dispose()
    key_file = tmp_path / "audit.key"
    generate_key_file(key_file)
    seal = AuditSeal(load_key(key_file), tmp_path / "audit.heads")
    store = open_store(store_url, migrate=False, seal=seal)
    report = _report(store, seal)
    assert any("carry plain SHA-256 hashes" in p and "audit rekey" in p for p in report.problems), report.text()
    summary = rekey_chain(store, actor="admin", reason="seal the chain of a store created before audit keys")
    assert f"key id {seal.key_id}" in summary
    report = _report(store, seal)
    assert report.ok, report.text()
    with store.read() as s:
        last = s.execute(select(AuditRecord).order_by(AuditRecord.seq.desc())).scalars().first()
        assert last.action == "audit_rekey" and json.loads(last.new)["legacy_records"] > 0
    assert "already keyed" in rekey_chain(store, actor="admin", reason="again")
    store.dispose()


def test_cli_verify_is_readable_and_exits_6(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = dict(os.environ, SECUREBASE_DATABASE_URL=url, SECUREBASE_ADMIN_PASSWORD=secrets.token_hex(8))

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "securebase.cli", *args], capture_output=True, text=True, env=env)

    init = cli("init", "--protocol", "ng26-care")
    assert init.returncode == 0, init.stderr
    assert (tmp_path / "cli.db.audit-key").exists() and "key id" in init.stdout
    assert oct((tmp_path / "cli.db.audit-key").stat().st_mode & 0o777) == "0o600"
    ok = cli("audit", "verify")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "chain: audit chain intact" in ok.stdout and "keyed: HMAC-SHA256" in ok.stdout
    assert "head file" in ok.stdout and "everything agrees" in ok.stdout
    store = open_store(url)
    with store.engine.begin() as c:
        c.execute(text("UPDATE users SET display_name = 'Mallory' WHERE username = 'admin'"))
    store.dispose()
    bad = cli("audit", "verify")
    assert bad.returncode == 6
    assert "users record" in bad.stderr and "display_name is 'Mallory'" in bad.stderr, bad.stderr
    assert "Traceback" not in bad.stderr
