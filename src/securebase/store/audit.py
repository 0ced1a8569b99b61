"""Hash-chained audit trail written automatically for every insert, update and delete.

Each record's hash is ``HMAC-SHA256(key, canonical JSON of its fields + the previous record's hash)`` with
the key from outside the database (:mod:`securebase.store.audit_key`); a store opened without a key writes
plain ``sha256`` (a legacy, unkeyed chain that ``securebase audit rekey`` seals). ``audit_head`` keeps the
last sequence number and hash, and every commit also appends them to the head file. :func:`verify_chain` recomputes the chain and
names the first record where it breaks: an edited value changes that record's hash, a deleted record
leaves a gap in the sequence, swapped records break the link to the previous hash, and a cut tail
disagrees with the head.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Table, inspect, select, text
from sqlalchemy.orm import Session

from securebase.errors import AuditChainBroken, ReasonRequired
from securebase.store.tables import AuditHead, AuditRecord, Base

GENESIS = "0" * 64
#: Never written into the audit trail in clear: identifiers, secrets, and the randomisation seed (which would
#: let anyone who reads the trail predict allocations). A hash or "<redacted>" stands in their place.
REDACTED_COLUMNS = {"ciphertext", "password_hash", "token_hash", "randomisation_seed"}
PG_AUDIT_LOCK = 0x5EC0BA5E  # advisory lock key serialising writers of the chain on PostgreSQL


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return "sha256:" + hashlib.sha256(value).hexdigest()
    return value


def row_dict(obj: Base) -> dict[str, Any]:
    out = {}
    for col in obj.__mapper__.columns:
        value = getattr(obj, col.key, None)
        out[col.key] = "<redacted>" if col.key in REDACTED_COLUMNS and value is not None else _jsonable(value)
    return out


def canonical(data: dict[str, Any] | None) -> str | None:
    if data is None:
        return None
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)


def record_hash(fields: dict[str, Any], prev_hash: str, key: bytes | None = None) -> str:
    """HMAC-SHA256 of the record with ``key`` (a keyed chain); plain SHA-256 without one (a legacy chain)."""
    payload = {
        "seq": fields["seq"], "trial_id": fields["trial_id"], "at": _jsonable(fields["at"]),
        "actor": fields["actor"], "action": fields["action"], "table_name": fields["table_name"],
        "record_id": fields["record_id"], "participant_id": fields["participant_id"], "old": fields["old"],
        "new": fields["new"], "reason": fields["reason"], "prev_hash": prev_hash,
    }
    data = canonical(payload).encode("utf-8")  # type: ignore[union-attr]
    if key is not None:
        return hmac.new(key, data, hashlib.sha256).hexdigest()
    return hashlib.sha256(data).hexdigest()


def _session_key(session: Session) -> bytes | None:
    seal = session.info.get("sb_audit_seal")
    return seal.key if seal is not None else None


@dataclass
class AuditContext:
    """Who is writing and why; kept on the session while a unit of work is open."""

    actor: str
    reason: str | None = None
    trial_id: str | None = None


def _participant_label(session: Session, obj: Base) -> str | None:
    from securebase.store.tables import Participant

    if isinstance(obj, Participant):
        return obj.participant_id
    pk = getattr(obj, "participant_pk", None)
    if pk is None:
        return None
    cache: dict[int, str] = session.info.setdefault("sb_pid_cache", {})
    if pk not in cache:
        found = session.connection().execute(
            select(Participant.participant_id).where(Participant.id == pk)).scalar_one_or_none()
        if found is not None:
            cache[pk] = found
    return cache.get(pk)


def _changed_fields(obj: Base) -> tuple[dict[str, Any], dict[str, Any]]:
    state = inspect(obj)
    old, new = {}, {}
    for attr in state.mapper.column_attrs:
        hist = state.attrs[attr.key].history
        if hist.has_changes():
            before = hist.deleted[0] if hist.deleted else None
            after = hist.added[0] if hist.added else None
            if before == after:
                continue
            redact = attr.key in REDACTED_COLUMNS
            old[attr.key] = "<redacted>" if redact else _jsonable(before)
            new[attr.key] = "<redacted>" if redact else _jsonable(after)
    return old, new


def _tname(obj: Base) -> str:
    return str(obj.__tablename__)


def _is_audited(obj: object) -> bool:
    return isinstance(obj, Base) and getattr(type(obj), "__audited__", True)


def check_reasons(session: Session) -> None:
    """Before a flush: a change to or deletion of saved data needs a reason for change.

    Rows inserted in the same unit of work are not yet saved data, so changing them needs no reason.
    """
    ctx: AuditContext | None = session.info.get("sb_audit")
    if ctx is None or (ctx.reason and ctx.reason.strip()):
        return
    fresh: set[Any] = session.info.setdefault("sb_inserted", set())
    for obj in list(session.dirty) + list(session.deleted):
        if not _is_audited(obj) or inspect(obj).identity_key in fresh:
            continue
        deleting = obj in session.deleted
        if deleting or _changed_fields(obj)[0]:
            table = _tname(obj)
            what = "deleting" if deleting else "changing"
            raise ReasonRequired(
                f"{what} saved data in '{table}' (record {_pk(obj)}) needs a reason for change; "
                "give one (for example: transcription error corrected against the paper form)")


def remember_inserted(session: Session, flush_context: object) -> None:
    fresh: set[Any] = session.info.setdefault("sb_inserted", set())
    for obj in session.new:
        key = inspect(obj).identity_key
        if key is not None:
            fresh.add(key)


def _next_position(session: Session) -> tuple[int, str]:
    cached = session.info.get("sb_audit_tail")
    if cached is not None:
        return cached
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_AUDIT_LOCK})
    last = conn.execute(select(AuditRecord.seq, AuditRecord.hash).order_by(AuditRecord.seq.desc()).limit(1)).first()
    tail = (last[0], last[1]) if last else (0, GENESIS)
    session.info["sb_audit_tail"] = tail
    return tail


def _chain(session: Session, entries: list[dict[str, Any]]) -> int:
    """Append ``entries`` to the chain in one statement (inside the caller's transaction)."""
    if not entries:
        return 0
    ctx: AuditContext | None = session.info.get("sb_audit")
    seq, prev = _next_position(session)
    now = datetime.now(UTC)
    key = _session_key(session)
    rows = []
    for e in entries:
        seq += 1
        fields = {
            "seq": seq, "trial_id": e["trial_id"], "at": now, "actor": e.get("actor") or (ctx.actor if ctx else "system"),
            "action": e["action"], "table_name": e["table_name"], "record_id": e["record_id"],
            "participant_id": e["participant_id"], "old": canonical(e["old"]), "new": canonical(e["new"]),
            "reason": e["reason"] if e.get("reason") is not None else (ctx.reason if ctx else None),
        }
        digest = record_hash(fields, prev, key)
        rows.append({**fields, "prev_hash": prev, "hash": digest})
        prev = digest
    conn = session.connection()
    conn.execute(cast(Table, AuditRecord.__table__).insert(), rows)
    head = cast(Table, AuditHead.__table__)
    if rows[0]["seq"] == 1 and conn.execute(select(head.c.id)).first() is None:
        conn.execute(head.insert(), {"id": 1, "seq": seq, "hash": prev})
    else:
        conn.execute(head.update().where(head.c.id == 1), {"seq": seq, "hash": prev})
    session.info["sb_audit_tail"] = (seq, prev)
    return seq


def write_audit(session: Session, *, action: str, table_name: str, record_id: str, trial_id: str | None,
                participant_id: str | None, old: dict[str, Any] | None, new: dict[str, Any] | None,
                reason: str | None = None, actor: str | None = None) -> int:
    """Append one record to the chain (inside the caller's transaction). Returns its sequence number."""
    return _chain(session, [{"action": action, "table_name": table_name, "record_id": record_id, "trial_id": trial_id,
                             "participant_id": participant_id, "old": old, "new": new, "reason": reason,
                             "actor": actor}])


def audit_flush(session: Session, flush_context: object) -> None:
    """After a flush (primary keys known, history intact): one audit record per changed row, one INSERT."""
    entries: list[dict[str, Any]] = []

    def add(obj: Base, action: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        entries.append({"action": action, "table_name": _tname(obj), "record_id": _pk(obj),
                        "trial_id": _trial(obj), "participant_id": _participant_label(session, obj),
                        "old": old, "new": new, "reason": None})

    for obj in list(session.new):
        if _is_audited(obj):
            add(obj, "insert", None, row_dict(obj))
    for obj in list(session.dirty):
        if _is_audited(obj) and obj not in session.deleted:
            old, new = _changed_fields(obj)
            if old or new:
                add(obj, "update", old, new)
    for obj in list(session.deleted):
        if _is_audited(obj):
            add(obj, "delete", row_dict(obj), None)
    _chain(session, entries)


def _pk(obj: Base) -> str:
    # after a flush the primary key is on the instance even before the identity map has it
    ident = inspect(obj).mapper.primary_key_from_instance(obj)
    return ",".join(str(i) for i in ident) if ident and None not in ident else "?"


def _trial(obj: Base) -> str | None:
    from securebase.store.tables import Trial

    if isinstance(obj, Trial):
        return obj.id
    return getattr(obj, "trial_id", None)


@dataclass(frozen=True)
class VerifyResult:
    records: int
    head_seq: int
    head_hash: str = GENESIS
    #: records carrying a plain SHA-256 (written without a key, before the store was keyed); a prefix
    legacy: int = 0
    key_id: str | None = None

    @property
    def keyed(self) -> bool:
        return self.key_id is not None and self.legacy == 0

    def summary(self) -> str:
        text = f"audit chain intact: {self.records} records, head at {self.head_seq}"
        if self.key_id is None:
            return text + " (unkeyed legacy chain: plain SHA-256, no key configured)"
        if self.legacy:
            return text + (f" (records 1-{self.legacy} are an unkeyed legacy chain; the rest keyed with key id "
                           f"{self.key_id})")
        return text + f" (keyed: HMAC-SHA256, key id {self.key_id})"


def verify_chain(session: Session, batch: int = 5000, *, key: bytes | None = None) -> VerifyResult:
    """Recompute the chain; raise :class:`AuditChainBroken` naming the first bad record.

    With ``key`` (default: the key of the session's store, if it has one) every record must carry the
    HMAC of that key, except a leading run of plain SHA-256 records written before the store was keyed
    (counted in ``legacy``; ``securebase audit rekey`` seals them). A plain SHA-256 record after a keyed one
    was rewritten by someone without the key.
    """
    from securebase.store.audit_key import key_id

    if key is None:
        key = _session_key(session)
    prev_seq, prev_hash, count, last_seq, legacy = 0, GENESIS, 0, 0, 0
    after = 0
    while True:
        tbl = AuditRecord.__table__
        rows = [SimpleNamespace(**m) for m in session.execute(
            select(tbl).where(tbl.c.seq > after).order_by(tbl.c.seq).limit(batch)).mappings()]
        if not rows:
            break
        for r in rows:
            if r.seq != prev_seq + 1:
                raise AuditChainBroken(
                    f"audit record {prev_seq + 1} is missing (the record after {prev_seq} is {r.seq}): "
                    "records were deleted; restore from a backup and investigate", seq=prev_seq + 1)
            if r.prev_hash != prev_hash:
                raise AuditChainBroken(
                    f"audit record {r.seq} does not follow record {prev_seq} (its previous-hash link is wrong): "
                    "records were reordered, replaced or deleted", seq=r.seq)
            fields = {c: getattr(r, c) for c in ("seq", "trial_id", "at", "actor", "action", "table_name",
                                                  "record_id", "participant_id", "old", "new", "reason")}
            if key is None or not hmac.compare_digest(record_hash(fields, r.prev_hash, key), r.hash):
                plain = record_hash(fields, r.prev_hash) == r.hash
                if not plain:
                    raise AuditChainBroken(
                        f"audit record {r.seq} ({r.action} on {r.table_name} record {r.record_id}) was altered: "
                        "its content no longer matches its hash" + ("" if key is None else " under the audit key"),
                        seq=r.seq)
                if key is not None and legacy != count:
                    raise AuditChainBroken(
                        f"audit record {r.seq} ({r.action} on {r.table_name} record {r.record_id}) carries a plain "
                        f"SHA-256 although the records before it are keyed: it (and the hashes after it) were "
                        "recomputed by someone without the audit key; restore from a backup and investigate",
                        seq=r.seq)
                legacy += 1
            prev_seq, prev_hash = r.seq, r.hash
            count += 1
        after = rows[-1].seq
        last_seq = after
    head_row = session.execute(select(AuditHead.seq, AuditHead.hash)).first()
    head = SimpleNamespace(seq=head_row[0], hash=head_row[1]) if head_row else None
    if head is None and count:
        raise AuditChainBroken("the audit head record is missing", seq=None)
    if head is not None and (head.seq != last_seq or head.hash != prev_hash):
        raise AuditChainBroken(
            f"the audit trail ends at record {last_seq} but the head says {head.seq}: "
            f"records after {last_seq} were deleted", seq=last_seq + 1)
    return VerifyResult(count, last_seq, prev_hash, legacy, key_id(key) if key is not None else None)
