"""Database lock: freeze a trial before analysis, record a hash of its data, unlock only with a reason.

Locking sets ``Trial.locked``, ``locked_at``, ``locked_by`` and ``lock_hash`` = SHA-256 of the canonical
snapshot of every row of the trial (every table with a ``trial_id`` column except the audit trail and
user roles; the trial row itself without its lock columns). The store refuses every write to a locked
trial's data at flush (``store.uow._guard_locked``), whatever route it came by. The Trial row is exempt
from that guard, so releasing the lock is an ordinary audited update that needs a reason for change.
After a release ``lock_hash`` is kept, so :func:`verify_lock` still tells whether data changed since.

The canonical snapshot (:func:`trial_snapshot`) is also what the interop round-trip tests compare: with
``natural=True`` surrogate keys are dropped and participant/visit/screening references become their
natural keys (``CARE-0001``, ``CARE-0001/m6``), so two stores holding the same trial compare equal.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from securebase.errors import ConflictError, FieldError, PermissionDenied
from securebase.store import UnitOfWork
from securebase.store.tables import Base, Participant, ScreeningRecord, Trial, Visit
from securebase.trial.roles import Actor, Role

#: Tables with a trial_id that are not trial data (the audit trail, access rights).
NOT_DATA = frozenset({"audit_log", "user_roles"})
LOCK_COLUMNS = frozenset({"locked", "locked_at", "locked_by", "lock_hash"})
MAY_LOCK = frozenset({Role.administrator, Role.trial_manager, Role.data_manager})
MAY_RELEASE = frozenset({Role.administrator, Role.trial_manager})


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return "sha256:" + hashlib.sha256(bytes(value)).hexdigest()
    if isinstance(value, float):
        return repr(value)
    return value


def data_tables() -> list[Table]:
    """Tables holding a trial's data, in dependency order."""
    return [t for t in Base.metadata.sorted_tables if "trial_id" in t.c and t.name not in NOT_DATA]


def trial_snapshot(session: Session, trial_id: str, *, natural: bool = False) -> dict[str, list[dict[str, Any]]]:
    """Every row of the trial as plain JSON-able dicts, per table, in a canonical order."""
    out: dict[str, list[dict[str, Any]]] = {}
    trial = session.execute(select(Trial.__table__).where(Trial.id == trial_id)).mappings().first()
    out["trials"] = [] if trial is None else [
        {k: _plain(v) for k, v in trial.items() if k not in LOCK_COLUMNS}]
    pids: dict[int, str] = {}
    visits: dict[int, str] = {}
    screens: dict[int, str] = {}
    if natural:
        pids = dict(session.execute(select(Participant.id, Participant.participant_id)
                                    .where(Participant.trial_id == trial_id)).all())
        for pk, ppk, vid in session.execute(select(Visit.id, Visit.participant_pk, Visit.visit_id)
                                            .where(Visit.trial_id == trial_id)):
            visits[pk] = f"{pids.get(ppk)}/{vid}"
        screens = dict(session.execute(select(ScreeningRecord.id, ScreeningRecord.screening_number)
                                       .where(ScreeningRecord.trial_id == trial_id)).all())
    for table in data_tables():
        pk_cols = [c.name for c in table.primary_key.columns]
        rows = session.execute(select(table).where(table.c.trial_id == trial_id)
                               .order_by(*[table.c[c] for c in pk_cols])).mappings().all()
        plain = []
        for r in rows:
            d = {k: _plain(v) for k, v in r.items()}
            if natural:
                d.pop("id", None)
                for col, names in (("participant_pk", pids), ("visit_pk", visits), ("screening_pk", screens)):
                    if col in d and d[col] is not None:
                        d[col] = names.get(d[col], d[col])
            plain.append(d)
        if natural:
            plain.sort(key=lambda d: json.dumps(d, sort_keys=True, default=str))
        out[table.name] = plain
    return out


def snapshot_hash(session: Session, trial_id: str) -> str:
    """SHA-256 of the canonical JSON of :func:`trial_snapshot` (sorted keys, no spaces, UTF-8)."""
    text = json.dumps(trial_snapshot(session, trial_id), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class LockStatus:
    """The lock state of a trial and whether its data still match the recorded hash."""

    trial_id: str
    locked: bool
    locked_at: datetime | None
    locked_by: str | None
    lock_hash: str | None
    current_hash: str

    @property
    def intact(self) -> bool:
        return self.lock_hash is not None and self.lock_hash == self.current_hash

    def summary(self) -> str:
        if self.locked:
            state = (f"trial '{self.trial_id}' is locked since {self.locked_at:%Y-%m-%d %H:%M:%S} UTC "
                     f"by {self.locked_by}; snapshot hash {self.lock_hash}")
        else:
            state = f"trial '{self.trial_id}' is not locked"
        if self.lock_hash is None:
            return state
        check = "data unchanged since the lock" if self.intact else "DATA DIFFER from the locked snapshot"
        return f"{state}; {check} (current hash {self.current_hash})"

    def to_dict(self) -> dict[str, Any]:
        return {"trial_id": self.trial_id, "locked": self.locked,
                "locked_at": self.locked_at.isoformat() if self.locked_at else None,
                "locked_by": self.locked_by, "lock_hash": self.lock_hash, "current_hash": self.current_hash,
                "intact": self.intact}


def _require(actor: Actor, allowed: frozenset[Role], what: str) -> None:
    if not actor.roles & allowed:
        raise PermissionDenied(f"user '{actor.username}' may not {what} trial '{actor.trial_id}' (needs one of the "
                               f"roles {', '.join(sorted(r.value for r in allowed))}); ask a trial manager")


def _reason(reason: str | None, what: str) -> str:
    if reason is None or not reason.strip():
        raise FieldError("--reason", reason or "", f"a reason for the {what}",
                         "say why, for example: final analysis dataset frozen for the SAP")
    return reason.strip()


def lock_trial(uow: UnitOfWork, actor: Actor, reason: str | None) -> LockStatus:
    """Freeze the trial: record who, when and the snapshot hash; audited with the reason."""
    _require(actor, MAY_LOCK, "lock")
    why = _reason(reason, "lock")
    trial = uow.trial(actor.trial_id, for_update=True)
    if trial.locked:
        raise ConflictError(f"trial '{trial.id}' is already locked (since {trial.locked_at:%Y-%m-%d %H:%M} UTC by "
                            f"{trial.locked_by}); release it first if it must change")
    digest = snapshot_hash(uow.session, trial.id)
    uow.reason = why
    trial.locked, trial.locked_at, trial.locked_by, trial.lock_hash = True, datetime.now(UTC), actor.username, digest
    uow.session.flush()
    uow.log_event("lock", table_name="trials", record_id=trial.id, trial_id=trial.id,
                  detail={"lock_hash": digest, "reason": why})
    return LockStatus(trial.id, True, trial.locked_at, trial.locked_by, digest, digest)


def release_lock(uow: UnitOfWork, actor: Actor, reason: str | None) -> LockStatus:
    """Unlock the trial with an audited reason (the hash of the last lock is kept for checking)."""
    _require(actor, MAY_RELEASE, "unlock")
    why = _reason(reason, "unlock")
    trial = uow.trial(actor.trial_id, for_update=True)
    if not trial.locked:
        raise ConflictError(f"trial '{trial.id}' is not locked; nothing to release")
    digest = snapshot_hash(uow.session, trial.id)
    uow.reason = why
    previous = {"locked_at": trial.locked_at.isoformat() if trial.locked_at else None, "locked_by": trial.locked_by}
    trial.locked, trial.locked_at, trial.locked_by = False, None, None
    uow.session.flush()
    uow.log_event("unlock", table_name="trials", record_id=trial.id, trial_id=trial.id,
                  detail={"reason": why, "lock_hash": trial.lock_hash, "hash_at_release": digest, **previous})
    return LockStatus(trial.id, False, None, None, trial.lock_hash, digest)


def lock_status(session: Session, trial_id: str) -> LockStatus:
    trial = session.get(Trial, trial_id)
    if trial is None:
        from securebase.errors import NotFound

        raise NotFound(f"trial '{trial_id}' is not in this store; check the trial id")
    return LockStatus(trial.id, bool(trial.locked), trial.locked_at, trial.locked_by, trial.lock_hash,
                      snapshot_hash(session, trial_id))


__all__ = ["LockStatus", "data_tables", "lock_status", "lock_trial", "release_lock", "snapshot_hash",
           "trial_snapshot"]
