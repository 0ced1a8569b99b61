"""The store on SQLite and PostgreSQL: migrations, audit of every write, reasons, tampering, locks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date

import pytest
from sqlalchemy import select, text

from securebase.errors import AuditChainBroken, ReasonRequired, TrialLocked
from securebase.store import open_store, verify_chain
from securebase.store.crypto import decrypt_identifiers, encrypt_identifiers, new_key
from securebase.store.migrate import check
from securebase.store.tables import AuditRecord, Identifier, Participant, Trial


def _participant(store, pid: str = "CARE-0001", site: str = "LA01") -> int:  # type: ignore[no-untyped-def]
    with store.unit_of_work(actor="recruiter1") as uow:
        p = Participant(trial_id="ng26-care", participant_id=pid, site_code=site, status="enrolled",
                        enrolled_on=date(2026, 1, 10), age_years=9, age_band="5-10", sex="female", care_status="foster")
        uow.session.add(p)
        uow.commit()
        return p.id


def test_migrations_match_models(store) -> None:  # type: ignore[no-untyped-def]
    check(store.engine)  # raises when the models and migrations differ


def test_every_write_is_audited(care_trial) -> None:  # type: ignore[no-untyped-def]
    store = care_trial
    pk = _participant(store)
    with store.unit_of_work(actor="dm1", reason="date of birth checked against the placement record") as uow:
        p = uow.session.get(Participant, pk)
        p.age_years = 10
        uow.commit()
    with store.read() as s:
        rows = s.execute(select(AuditRecord).where(AuditRecord.participant_id == "CARE-0001")
                         .order_by(AuditRecord.seq)).scalars().all()
    assert [r.action for r in rows] == ["insert", "update"]
    assert rows[0].actor == "recruiter1" and json.loads(rows[0].new)["care_status"] == "foster"
    assert json.loads(rows[1].old) == {"age_years": 9.0} and json.loads(rows[1].new) == {"age_years": 10}
    assert rows[1].reason.startswith("date of birth") and rows[1].at.tzinfo is not None
    with store.unit_of_work(actor="dm1", reason="duplicate registration") as uow:
        uow.session.delete(uow.session.get(Participant, pk))
        uow.commit()
    with store.read() as s:
        last = s.execute(select(AuditRecord).order_by(AuditRecord.seq.desc())).scalars().first()
        assert last.action == "delete" and json.loads(last.old)["participant_id"] == "CARE-0001"
        assert verify_chain(s).records >= 9


def test_change_without_reason_is_refused_and_nothing_saved(care_trial) -> None:  # type: ignore[no-untyped-def]
    store = care_trial
    pk = _participant(store)
    with pytest.raises(ReasonRequired, match="reason for change"):
        with store.unit_of_work(actor="dm1") as uow:
            uow.session.get(Participant, pk).sex = "male"
            uow.commit()
    with store.read() as s:
        assert s.get(Participant, pk).sex == "female"
        assert s.execute(select(AuditRecord).where(AuditRecord.action == "update")).first() is None


def test_identifiers_encrypted_at_rest(care_trial) -> None:  # type: ignore[no-untyped-def]
    store, key = care_trial, new_key()
    pk = _participant(store)
    with store.unit_of_work(actor="recruiter1") as uow:
        uow.session.add(Identifier(trial_id="ng26-care", participant_pk=pk,
                                   ciphertext=encrypt_identifiers(key, {"name": "Synthetic Child", "postcode": "ZZ99 9ZZ"})))
        uow.commit()
    with store.engine.connect() as c:
        raw = c.execute(text("SELECT ciphertext FROM identifiers")).scalar_one()
        audit_rows = " ".join(r[0] or "" for r in c.execute(text("SELECT new FROM audit_log")))
    assert b"Synthetic" not in bytes(raw) and "Synthetic" not in audit_rows
    assert decrypt_identifiers(key, bytes(raw))["name"] == "Synthetic Child"


def test_locked_trial_refuses_every_write(care_trial) -> None:  # type: ignore[no-untyped-def]
    store = care_trial
    with store.unit_of_work(actor="tm", reason="database lock for final analysis") as uow:
        t = uow.session.get(Trial, "ng26-care")
        t.locked, t.locked_by = True, "tm"
        from securebase.store.tables import utcnow
        t.locked_at = utcnow()
        uow.commit()
    with pytest.raises(TrialLocked, match="locked"):
        _participant(store, "CARE-0002")
    with store.read() as s:
        assert s.execute(select(Participant)).first() is None


def _run_cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, SECUREBASE_DATABASE_URL=url)
    return subprocess.run([sys.executable, "-m", "securebase.cli", *args], capture_output=True, text=True, env=env)


@pytest.mark.parametrize("tamper", ["edit", "delete", "swap"])
def test_tampering_is_caught_and_named(care_trial, store_url: str, tamper: str) -> None:  # type: ignore[no-untyped-def]
    store = care_trial
    for i in range(1, 4):
        _participant(store, f"CARE-000{i}")
    ok = _run_cli(store_url, "audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert "intact" in ok.stdout
    with store.engine.begin() as c:
        if tamper == "edit":
            c.execute(text("UPDATE audit_log SET new = replace(new, 'foster', 'kinship') WHERE seq = 9"))
            expected = "record 9"
        elif tamper == "delete":
            c.execute(text("DELETE FROM audit_log WHERE seq = 8"))
            expected = "record 8"
        else:
            c.execute(text("UPDATE audit_log SET seq = -1 WHERE seq = 8"))
            c.execute(text("UPDATE audit_log SET seq = 8 WHERE seq = 9"))
            c.execute(text("UPDATE audit_log SET seq = 9 WHERE seq = -1"))
            expected = "record 8"
    res = _run_cli(store_url, "audit", "verify")
    assert res.returncode == 6
    assert expected in res.stderr, res.stderr
    assert "Traceback" not in res.stderr
    with store.read() as s, pytest.raises(AuditChainBroken):
        verify_chain(s)


def test_cut_tail_is_caught(care_trial) -> None:  # type: ignore[no-untyped-def]
    store = care_trial
    _participant(store)
    with store.engine.begin() as c:
        top = c.execute(text("SELECT max(seq) FROM audit_log")).scalar_one()
        c.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": top})
    with store.read() as s, pytest.raises(AuditChainBroken, match=f"record {top}|records after"):
        verify_chain(s)


def test_open_store_names_unreachable_server() -> None:
    from securebase.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="cannot open the store"):
        open_store("postgresql+psycopg://nobody@127.0.0.1:1/none")


def test_insert_audit_names_the_new_record(care_trial) -> None:  # type: ignore[no-untyped-def]
    pk = _participant(care_trial, "CARE-0042")
    with care_trial.read() as s:
        rec = s.execute(select(AuditRecord).where(AuditRecord.participant_id == "CARE-0042",
                                                  AuditRecord.action == "insert")).scalars().one()
    assert rec.record_id == str(pk)


def test_cli_exit_codes_pass_through(monkeypatch: pytest.MonkeyPatch) -> None:
    """A command's typer.Exit(n) reaches the shell as n (the probe app stands in for the real one)."""
    import typer

    import securebase.cli as cli

    probe_app = typer.Typer()

    @probe_app.command()
    def probe() -> None:
        raise typer.Exit(3)

    monkeypatch.setattr(cli, "_lazy_group", lambda: typer.main.get_command(probe_app))
    assert cli.main([]) == 3
