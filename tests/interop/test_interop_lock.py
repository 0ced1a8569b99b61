"""Database lock: with the trial locked every CLI write route is refused with a clear message."""

from __future__ import annotations

import re
import shlex
from datetime import date

import pytest
import typer
from interop_synth import build_trial
from sqlalchemy import select

from securebase.cli import app, main
from securebase.errors import ConflictError, FieldError, PermissionDenied, TrialLocked
from securebase.interop.backup import backup_store
from securebase.interop.odm_export import write_odm
from securebase.interop.redcap_records import write_redcap
from securebase.protocol import Protocol, load_protocol
from securebase.store.tables import AuditRecord, Participant, Transcript, Trial, UnblindingRequest, User
from securebase.trial.lock import lock_status, lock_trial, release_lock
from securebase.trial.roles import Actor, Role
from securebase.trial.setup import create_trial, create_user, grant_role

ADMIN = Actor("admin", "ng26-care", frozenset({Role.administrator}))

#: Every CLI command that writes a trial's data: each is run against a locked trial below.
WRITE_ROUTES = {
    "import odm": "import odm {odm} --trial ng26-care --as admin",
    "import redcap": "import redcap --trial ng26-care --dictionary {dic} --records {recs} --as admin",
    "restore": "restore {backup} --replace",
    "qual import": "qual import {transcript} --speaker practitioner --as admin",
    "qual code": "qual code {tid} 1 --start 0 --end 5 --codebook cb --as admin",
    "qual memo": "qual memo 'a memo' --as admin",
    "qual import-qdpx": "qual import-qdpx {qdpx} --codebook-name other --as admin",
    "qual codebook create": "qual codebook create cb2 --as admin",
    "qual codebook add-code": "qual codebook add-code Extra --codebook cb --as admin",
    "qual codebook new-version": "qual codebook new-version cb --as admin",
    "qual codebook freeze": "qual codebook freeze cb --as admin",
    "user grant": "user grant admin --trial ng26-care --role data_manager",
    "randomise": "randomise CARE-0099 --as admin",
    "randomisation prepare-lists": "randomisation prepare-lists --trial ng26-blocks --as admin",
    "unblind request": "unblind request CARE-0001 --reason 'hospital admission: treating team needs the allocation' --as admin",
    "unblind approve": "unblind approve {pending} --trial ng26-care --as admin",
    "unblind refuse": "unblind refuse {pending} --trial ng26-care --as admin",
    "unblind reveal": "unblind reveal {approved} --trial ng26-care --as clin1",
}
#: Writes whose refusal on a locked trial is tested beside their service
#: (tests/linkage/test_linkage_import.py::test_a_locked_trial_refuses_every_linkage_write).
LOCK_TESTED_ELSEWHERE = {"import ssda903", "import cin", "import school", "import linkage-consent", "import linkage-ids"}
#: Commands that do not write a trial's data (reads, files, user accounts, new stores, the lock itself).
NOT_TRIAL_WRITES = {
    "analyse", "init", "keygen", "demo", "economics", "lock", "backup", "compare", "report", "serve", "settings",
    "protocol validate", "protocol show", "audit verify", "audit show", "design size", "design simulate",
    "design power", "instruments list", "instruments show", "instruments score", "instruments redcap-export",
    "instruments redcap-import", "export odm", "export redcap", "export analysis", "qual list", "qual kappa",
    "qual matrix", "qual export-qdpx", "qual codebook show", "user add", "user token", "user unlock", "user list",
    "randomisation lists", "randomisation show", "randomisation simulate", "unblind report",
    "invite send", "invite remind",  # questionnaire links to respondents: no outcome data are written
    "audit head", "audit rekey",  # the chain's head file / rehashing the chain: no trial data changes
    "import match-rates",  # a report: reads only
    "secret", "user tokens", "user revoke-token", "user revoke-role", "user deactivate", "user activate", "user totp",
}


def _commands() -> set[str]:
    out: set[str] = set()

    def walk(c, prefix: str) -> None:  # type: ignore[no-untyped-def]
        if hasattr(c, "commands"):
            for n, sub in c.commands.items():
                walk(sub, f"{prefix} {n}")
        else:
            out.add(prefix.strip())

    walk(typer.main.get_command(app), "")
    return out


def test_every_cli_command_is_classified() -> None:
    new = _commands() - set(WRITE_ROUTES) - NOT_TRIAL_WRITES - LOCK_TESTED_ELSEWHERE
    assert not new, (f"new CLI commands {sorted(new)}: add each to WRITE_ROUTES (and check it is refused on a locked "
                     "trial) or to NOT_TRIAL_WRITES in tests/interop/test_interop_lock.py")


def _randomisation_setup(st, db: list[str]) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """Before the lock: an unrandomised participant, a permuted-blocks trial, a pending and an approved
    unblinding request (made by clin1, approved by admin). Returns the two request ids."""
    proto = load_protocol("ng26-care").to_dict()
    proto.update(id="ng26-blocks", participant_prefix="BLK")
    proto["stratification"] = {"method": "permuted_blocks", "block_sizes": [2, 4],
                               "factors": [{"name": "site", "label": "Site"}]}
    with st.unit_of_work(actor="test-setup") as uow:
        create_trial(uow, Protocol.model_validate(proto), seed=5)
        admin = uow.session.execute(select(User).where(User.username == "admin")).scalar_one()
        grant_role(uow, admin, "ng26-blocks", Role.administrator)
        clin = create_user(uow, "clin1", "correct-horse-battery")
        grant_role(uow, clin, "ng26-care", Role.site_recruiter)
        uow.session.add(Participant(trial_id="ng26-care", participant_id="CARE-0099", site_code="LA01",
                                    enrolled_on=date(2026, 5, 1), age_years=8.0, age_band="5-10"))
        uow.commit()
    reason = ["--reason", "hospital admission: treating team needs the allocation"]
    for _ in range(2):
        assert main(["unblind", "request", "CARE-0001", *reason, "--as", "clin1", *db]) == 0
    with st.read() as s:
        ids = sorted(s.execute(select(UnblindingRequest.id)).scalars())
    assert main(["unblind", "approve", str(ids[1]), "--trial", "ng26-care", "--as", "admin", *db]) == 0
    return ids[0], ids[1]


def test_locked_trial_refuses_every_cli_write(fresh_care, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """On SQLite: the lock is enforced in the store on both backends (tests/foundation, test_lock_rules)."""
    st = fresh_care("sqlite")
    db = ["--db", st.url]
    build_trial(st, n=1)
    odm = write_odm(st, ADMIN, tmp_path / "t.xml").path
    rc = write_redcap(st, ADMIN, tmp_path / "rc")
    (tmp_path / "t.txt").write_text("Practitioner interview about the groups. Synthetic text only.\n")
    assert main(["qual", "codebook", "create", "cb", "--as", "admin", *db]) == 0
    assert main(["qual", "codebook", "add-code", "Theme", "--codebook", "cb", "--as", "admin", *db]) == 0
    assert main(["qual", "import", str(tmp_path / "t.txt"), "--speaker", "practitioner", "--as", "admin", *db]) == 0
    assert main(["qual", "export-qdpx", "--out", str(tmp_path / "p.qdpx"), "--codebook", "cb", "--as", "admin", *db]) == 0
    pending, approved = _randomisation_setup(st, db)
    backup = backup_store(st, tmp_path / "b.zip").path
    assert main(["lock", "ng26-care", "--reason", "database lock for the final analysis", "--as", "admin", *db]) == 0
    assert main(["lock", "ng26-blocks", "--reason", "database lock for the final analysis", "--as", "admin", *db]) == 0
    with st.read() as s:
        before = lock_status(s, "ng26-care")
        seq = s.execute(select(AuditRecord.seq).order_by(AuditRecord.seq.desc())).scalars().first()
        tid = s.execute(select(Transcript.id)).scalars().first()
    assert before.locked and before.intact
    capsys.readouterr()
    args = {"odm": odm, "dic": rc.files[0], "recs": rc.files[1], "backup": backup, "transcript": tmp_path / "t.txt",
            "tid": tid, "qdpx": tmp_path / "p.qdpx", "pending": pending, "approved": approved}
    for route, line in WRITE_ROUTES.items():
        code = main([*shlex.split(line.format(**args)), *db])
        err = capsys.readouterr().err
        assert code == TrialLocked.exit_code, f"{route}: exit {code}, {err}"
        assert re.search(r"trial 'ng26-(care|blocks)' is locked", err) and "lock release" in err, f"{route}: {err}"
    with st.read() as s:
        after = lock_status(s, "ng26-care")
        assert s.execute(select(AuditRecord.seq).order_by(AuditRecord.seq.desc())).scalars().first() == seq
    assert after.intact and after.current_hash == before.lock_hash
    assert main(["lock", "status", "ng26-care", *db]) == 0
    assert "data unchanged since the lock" in " ".join(capsys.readouterr().out.split())
    # release needs a reason and a trial manager/administrator; then writes work again
    assert main(["lock", "release", "ng26-care", "--as", "admin", *db]) == FieldError.exit_code
    assert main(["lock", "release", "ng26-care", "--reason", "query on a 12-month date", "--as", "admin", *db]) == 0
    assert main(["qual", "codebook", "create", "cb2", "--as", "admin", *db]) == 0
    with st.read() as s:
        trial = s.get(Trial, "ng26-care")
        assert not trial.locked and trial.lock_hash == before.lock_hash
        events = s.execute(select(AuditRecord).where(AuditRecord.table_name == "trials", AuditRecord.action.in_(
            ["lock", "unlock", "update"]))).scalars().all()
    assert {e.action for e in events} == {"lock", "unlock", "update"}
    assert any(e.reason == "query on a 12-month date" for e in events)


def test_lock_rules(care_trial) -> None:  # type: ignore[no-untyped-def]
    blinded = Actor("ra1", "ng26-care", frozenset({Role.outcome_assessor}))
    dm = Actor("dm1", "ng26-care", frozenset({Role.data_manager}))
    with care_trial.unit_of_work(actor="ra1") as uow, pytest.raises(PermissionDenied, match="may not lock"):
        lock_trial(uow, blinded, "x")
    with care_trial.unit_of_work(actor="dm1") as uow, pytest.raises(FieldError, match="reason"):
        lock_trial(uow, dm, "  ")
    with care_trial.unit_of_work(actor="dm1") as uow:
        lock_trial(uow, dm, "frozen")
        uow.commit()
    with care_trial.unit_of_work(actor="dm1") as uow, pytest.raises(PermissionDenied, match="may not unlock"):
        release_lock(uow, dm, "want to change")
    with care_trial.unit_of_work(actor="admin") as uow, pytest.raises(ConflictError, match="already locked"):
        lock_trial(uow, ADMIN, "again")
