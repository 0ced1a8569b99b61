"""``securebase audit verify``: the chain, its heads, and the data tables against the audit.

Four checks, each reported on its own line:

1. **chain**: every record's keyed hash and link (:func:`securebase.store.audit.verify_chain`); a record
   edited and the hashes after it recomputed without the key fails here.
2. **head**: the ``audit_head`` row and the append-only head file (:mod:`securebase.store.audit_key`) agree
   with the chain; a tail cut with ``audit_head`` updated to match still disagrees with the head file.
3. **data**: the audit's insert, update and delete records are replayed, table by table and record by
   record, and compared with the current rows: a row inserted, changed or deleted without passing through
   the audited unit of work (plain SQL on the database) is named with its table, record, field and values.
4. **backup** (``--backup FILE``): the backup's signature under the key, then its tables' hashes and
   its own audit chain (:func:`verify_backup`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from securebase.errors import AuditChainBroken
from securebase.store.audit import REDACTED_COLUMNS, VerifyResult, _jsonable, verify_chain
from securebase.store.audit_key import AuditSeal, read_head_file
from securebase.store.tables import AuditRecord, Base

ROW_ACTIONS = ("insert", "update", "delete")
MAX_LISTED = 20  # differences named one by one before the rest are counted


@dataclass
class VerifyReport:
    """One line per check, and the problems found (empty: everything agrees)."""

    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        out = list(self.lines)
        if self.problems:
            out.append(f"AUDIT VERIFY FAILED: {len(self.problems)} problem(s)")
            out += [f"  - {p}" for p in self.problems]
        else:
            out.append("audit verify: everything agrees")
        return "\n".join(out)


def check_heads(result: VerifyResult, seal: AuditSeal | None) -> tuple[str, list[str]]:
    """Compare the chain's end with the head file (the ``audit_head`` row is checked by verify_chain)."""
    if seal is None or seal.head_file is None:
        return "head: audit_head agrees; no head file (no audit key configured)", []
    if not seal.head_file.exists():
        if result.records == 0:
            return f"head: no head file yet at {seal.head_file} (empty chain)", []
        return "head: head file missing", [
            f"the head file {seal.head_file} does not exist, so a cut tail cannot be ruled out: restore it from its "
            "copy, or, after checking the chain by other means, start a new one with `securebase audit head`"]
    lines, problems = read_head_file(seal)
    if not lines:
        return f"head: head file {seal.head_file} has no entries", problems
    top = max(lines, key=lambda x: x["seq"])
    if top["seq"] > result.head_seq:
        problems.append(
            f"the head file {seal.head_file} (line {top['line']}, written {top['at']}) records audit record "
            f"{top['seq']}, but the chain ends at record {result.head_seq}: records {result.head_seq + 1}-"
            f"{top['seq']} were cut from the tail (and the audit_head row updated to hide it); restore from a backup")
    return (f"head: audit_head at {result.head_seq}; head file {seal.head_file}: {len(lines)} entries, last at "
            f"{top['seq']}"), problems


def check_head_hashes(session: Session, seal: AuditSeal | None) -> list[str]:
    """Each head-file entry's hash must still be the hash of that record."""
    if seal is None or seal.head_file is None or not seal.head_file.exists():
        return []
    lines, _ = read_head_file(seal)
    want = {x["seq"]: x for x in lines}
    if not want:
        return []
    have = dict(session.execute(select(AuditRecord.seq, AuditRecord.hash).where(
        AuditRecord.seq.in_(list(want)))).all())
    out = []
    for seq, x in sorted(want.items()):
        if seq in have and have[seq] != x["hash"]:
            out.append(f"audit record {seq} no longer has the hash the head file recorded for it (line {x['line']}, "
                       f"written {x['at']}): the chain was rewritten from there on; restore from a backup")
            break
    return out


# -- replaying the audit over the data tables --------------------------------------------------------------
def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] in "T ":
        try:
            d = datetime.fromisoformat(value)
        except ValueError:
            return None
        return d if d.tzinfo else d.replace(tzinfo=UTC)
    return None


def _same(audited: Any, current: Any) -> bool:
    if audited == current:
        return True
    if audited is None or current is None:
        return False
    a_dt, c_dt = _as_datetime(audited), _as_datetime(current)
    if a_dt is not None and c_dt is not None:
        return a_dt == c_dt
    if isinstance(current, date) and not isinstance(current, datetime):
        return audited == current.isoformat()
    if not isinstance(audited, bool) and not isinstance(current, bool):
        try:
            fa, fc = float(audited), float(current)
        except (TypeError, ValueError):
            pass
        else:
            return math.isclose(fa, fc, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(current, dict | list) or isinstance(audited, dict | list):
        dump = lambda v: json.dumps(v, sort_keys=True, default=str)  # noqa: E731
        return dump(audited) == dump(current if not isinstance(current, str) else json.loads(current))
    return str(audited) == str(current)


def _current(col_key: str, value: Any) -> Any:
    if col_key in REDACTED_COLUMNS and value is not None:
        return "<redacted>"
    return _jsonable(value)


def _short(value: Any) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def replay_audit(session: Session, batch: int = 5000) -> dict[str, dict[str, dict[str, Any] | None]]:
    """Per table, per record id: the row as the audit says it is now (None: deleted)."""
    state: dict[str, dict[str, dict[str, Any] | None]] = {}
    after = 0
    t = AuditRecord.__table__
    while True:
        rows = session.execute(select(t.c.seq, t.c.action, t.c.table_name, t.c.record_id, t.c.new)
                               .where(t.c.seq > after, t.c.action.in_(ROW_ACTIONS))
                               .order_by(t.c.seq).limit(batch)).all()
        if not rows:
            break
        for _seq, action, table, record, new in rows:
            per = state.setdefault(table, {})
            if action == "delete":
                per[record] = None
                continue
            values = json.loads(new) if new else {}
            if action == "insert" or per.get(record) is None:
                per[record] = dict(values) if isinstance(values, dict) else {}
            else:
                per[record].update(values)  # type: ignore[union-attr]
        after = rows[-1][0]
    return state


def audited_tables() -> list[Any]:
    return sorted((m.class_.__table__ for m in Base.registry.mappers if getattr(m.class_, "__audited__", True)),
                  key=lambda t: t.name)


def check_data(session: Session) -> tuple[str, list[str]]:
    """Compare every audited table with the audit's replay; one problem per differing record."""
    state = replay_audit(session)
    problems: list[str] = []
    n_rows = 0
    tables = audited_tables()
    for table in tables:
        want = state.get(table.name, {})
        pk = list(table.primary_key.columns)
        seen: set[str] = set()
        for row in session.execute(select(table).order_by(*pk)).mappings():
            n_rows += 1
            rid = ",".join(str(row[c.key]) for c in pk)
            seen.add(rid)
            audited = want.get(rid)
            if audited is None:
                problems.append(f"{table.name} record {rid} is in the table but the audit has no insert of it "
                                "(or says it was deleted): it was written outside the audited application")
                continue
            for key, value in audited.items():
                if key not in row:
                    continue
                current = _current(key, row[key])
                if not _same(value, current):
                    problems.append(f"{table.name} record {rid}: {key} is {_short(current)} in the table but the "
                                    f"audit's last value is {_short(value)}: edited outside the audited application")
        for rid, audited in want.items():
            if audited is not None and rid not in seen:
                problems.append(f"{table.name} record {rid} is in the audit but not in the table: deleted outside "
                                "the audited application")
    if len(problems) > MAX_LISTED:
        problems = problems[:MAX_LISTED] + [f"... and {len(problems) - MAX_LISTED} more differences"]
    return f"data: {n_rows} rows in {len(tables)} audited tables compared with the audit's replay", problems


def verify_all(session: Session, seal: AuditSeal | None, *, data: bool = True) -> VerifyReport:
    """Every check on the store (chain, heads, data); a broken chain stops the later checks."""
    report = VerifyReport()
    try:
        result = verify_chain(session, key=seal.key if seal else None)
    except AuditChainBroken as exc:
        report.lines.append("chain: BROKEN")
        report.problems.append(exc.message)
        report.problems += check_head_hashes(session, seal)
        return report
    report.lines.append("chain: " + result.summary())
    if seal is not None and result.legacy:
        report.problems.append(
            f"audit records 1-{result.legacy} carry plain SHA-256 hashes, not the HMAC of the audit key (key id "
            f"{seal.key_id}): either they were written before this store was keyed (check the chain's history, "
            "then seal it once with `securebase audit rekey --reason ...`) or someone without the key rewrote them")
    line, problems = check_heads(result, seal)
    report.lines.append(line)
    report.problems += problems + check_head_hashes(session, seal)
    if data:
        line, problems = check_data(session)
        report.lines.append(line)
        report.problems += problems
    return report


# -- sealing an unkeyed (legacy) chain ---------------------------------------------------------------------
def rekey_chain(store: Any, *, actor: str, reason: str) -> str:
    """Recompute every hash of the chain under ``store.seal``'s key, after checking the chain as it is.

    For a store written before it had a key (plain SHA-256 records, possibly followed by keyed ones). The
    chain is verified first (a broken chain is refused: investigate it instead); the rewrite and an
    ``audit_rekey`` record (holding the old head hash, so the unkeyed chain stays citable) are one
    transaction; the head file gets a rekey line. Returns a summary.
    """
    from sqlalchemy import bindparam, update

    from securebase.store import audit as audit_mod
    from securebase.store.audit import GENESIS, record_hash
    from securebase.store.tables import AuditHead

    seal: AuditSeal | None = store.seal
    if seal is None:
        from securebase.errors import ConfigurationError

        raise ConfigurationError("no audit key is configured for this store, so there is nothing to seal the chain "
                                 "with; run `securebase init` (it creates the key file) or set SECUREBASE_AUDIT_KEY_FILE")
    with store.unit_of_work(actor=actor, reason=reason) as uow:
        s = uow.session
        audit_mod._next_position(s)  # takes the chain's lock (advisory lock on PostgreSQL)
        before = verify_chain(s, key=seal.key)
        if before.legacy == 0:
            return f"the chain is already keyed (key id {seal.key_id}): {before.records} records, nothing to do"
        t = AuditRecord.__table__
        prev, after, n = GENESIS, 0, 0
        stmt = (update(t).where(t.c.seq == bindparam("b_seq"))
                .values(prev_hash=bindparam("b_prev"), hash=bindparam("b_hash")))
        while True:
            rows = s.execute(select(t).where(t.c.seq > after).order_by(t.c.seq).limit(5000)).mappings().all()
            if not rows:
                break
            changes = []
            for r in rows:
                fields = {c: r[c] for c in ("seq", "trial_id", "at", "actor", "action", "table_name", "record_id",
                                            "participant_id", "old", "new", "reason")}
                digest = record_hash(fields, prev, seal.key)
                changes.append({"b_seq": r["seq"], "b_prev": prev, "b_hash": digest})
                prev = digest
                n += 1
            s.connection().execute(stmt, changes)
            after = rows[-1]["seq"]
        h = AuditHead.__table__
        s.connection().execute(update(h).where(h.c.id == 1).values(seq=before.head_seq, hash=prev))
        s.info["sb_audit_tail"] = (before.head_seq, prev)
        seq = uow.log_event("audit_rekey", table_name="audit_log", record_id=str(before.head_seq), trial_id=None,
                            detail={"legacy_records": before.legacy, "records": n, "unkeyed_head_seq": before.head_seq,
                                    "unkeyed_head_hash": before.head_hash, "key_id": seal.key_id})
        final = s.info["sb_audit_tail"]
        uow.commit()
    seal.append_rekey(final[0], final[1], before.head_hash)
    return (f"sealed the audit chain with key id {seal.key_id}: {n} records rehashed ({before.legacy} were unkeyed); "
            f"the old head hash {before.head_hash[:16]}... is kept in audit record {seq}")
