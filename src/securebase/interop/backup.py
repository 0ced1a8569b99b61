"""Portable backup and restore of a whole store (SQLite or PostgreSQL), and a store comparison.

Format (``securebase backup FILE``): a zip holding ``manifest.json`` and one JSON Lines file per table,
``tables/<name>.jsonl``, written in dependency order (parents before children) with rows in primary-key
order. Each value is typed so nothing is lost between backends: ``{"$dt": "...+00:00"}`` for a UTC
timestamp (microseconds kept), ``{"$date": "YYYY-MM-DD"}``, ``{"$b64": "..."}`` for bytes (the
encrypted identifiers stay encrypted), floats as JSON numbers (Python's shortest round-trip repr),
JSON columns as JSON. The manifest records the format version, the schema revision (Alembic), the
source dialect, and per table the row count and the SHA-256 of its file. A store with an audit key
(:mod:`securebase.store.audit_key`) also writes ``manifest.sig``, the HMAC-SHA256 of ``manifest.json`` under
that key: restore checks it and refuses a backup whose manifest (and so any table) was changed, even with
every hash recomputed. ``securebase audit verify --backup FILE`` runs the same checks without restoring.

Restore (``securebase restore FILE``) checks every hash and count, migrates the target to the same
schema revision, refuses a target that holds data (unless ``replace=True``, which empties it first),
inserts every row with its primary key (bypassing the ORM, so nothing is re-audited), copies
``audit_log`` and ``audit_head`` verbatim so the hash chain verifies, and on PostgreSQL moves each id
sequence past the largest restored id. :func:`compare_stores` then finds no difference.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Date, Float, LargeBinary, Table, delete, func, insert, select, text
from sqlalchemy.engine import Connection

from securebase.errors import (
    AuditChainBroken,
    ConfigurationError,
    ConflictError,
    DataError,
    NotFound,
    TrialLocked,
)
from securebase.store import Store, verify_chain
from securebase.store.audit_key import AuditSeal
from securebase.store.tables import Base, Trial

FORMAT = "securebase-backup"
FORMAT_VERSION = 1
SIGNATURE = "manifest.sig"  # {"key_id", "alg", "hmac"}: HMAC-SHA256 of manifest.json's bytes under the audit key
BATCH = 2000


def _tables() -> list[Table]:
    return list(Base.metadata.sorted_tables)


def _encode(col: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, datetime):
        return {"$dt": value.astimezone(UTC).isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, bytes | memoryview):
        return {"$b64": base64.b64encode(bytes(value)).decode("ascii")}
    return value


def _decode(col: Any, value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1 and not isinstance(col.type, JSON):
        (key, raw), = value.items()
        if key == "$dt":
            return datetime.fromisoformat(raw)
        if key == "$date":
            return date.fromisoformat(raw)
        if key == "$b64":
            return base64.b64decode(raw)
    if isinstance(col.type, Float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def schema_revision(conn: Connection) -> str | None:
    try:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()
    except Exception:
        return None


@dataclass(frozen=True)
class BackupResult:
    path: Path
    rows: dict[str, int]
    revision: str | None

    def summary(self) -> str:
        return (f"backup written to {self.path}: {sum(self.rows.values())} rows in {len(self.rows)} tables "
                f"(schema revision {self.revision})")

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "rows": dict(self.rows), "revision": self.revision}


def backup_store(store: Store, path: str | Path) -> BackupResult:
    """Write every table of ``store`` to the zip ``path`` in one consistent read transaction."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {"format": FORMAT, "format_version": FORMAT_VERSION,
                                "created_at": datetime.now(UTC).isoformat(), "dialect": store.dialect, "tables": []}
    rows: dict[str, int] = {}
    tmp = out.with_name(out.name + ".part")
    with store.engine.connect() as conn, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        if store.dialect == "postgresql":
            conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        manifest["schema_revision"] = schema_revision(conn)
        for table in _tables():
            buf = io.BytesIO()
            n = 0
            order = [table.c[c.name] for c in table.primary_key.columns]
            for r in conn.execute(select(table).order_by(*order)).mappings():
                row = {c.name: _encode(c, r[c.name]) for c in table.columns}
                buf.write(json.dumps(row, sort_keys=True, ensure_ascii=False).encode("utf-8") + b"\n")
                n += 1
            data = buf.getvalue()
            zf.writestr(f"tables/{table.name}.jsonl", data)
            manifest["tables"].append({"name": table.name, "rows": n, "sha256": hashlib.sha256(data).hexdigest()})
            rows[table.name] = n
        manifest_bytes = json.dumps(manifest, indent=2).encode("utf-8")
        zf.writestr("manifest.json", manifest_bytes)
        if store.seal is not None:  # signed with the audit key: a manifest recomputed after an edit does not verify
            zf.writestr(SIGNATURE, json.dumps({"key_id": store.seal.key_id, "alg": "HMAC-SHA256",
                                               "hmac": store.seal.mac(manifest_bytes)}))
    tmp.replace(out)
    return BackupResult(out, rows, manifest["schema_revision"])


def read_manifest(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.exists():
        raise NotFound(f"backup file {str(p)!r} does not exist; give the path of a file written by `securebase backup`")
    try:
        with zipfile.ZipFile(p) as zf:
            manifest = json.loads(zf.read("manifest.json"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError):
        raise DataError(f"{p} is not a securebase backup (expected a zip with manifest.json); "
                        "give a file written by `securebase backup`") from None
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise DataError(f"{p} has format {manifest.get('format')!r} version {manifest.get('format_version')!r} "
                        f"(expected {FORMAT!r} version {FORMAT_VERSION}); use the securebase release that wrote it")
    return manifest


def _empty(conn: Connection) -> bool:
    return all(conn.execute(select(func.count()).select_from(t)).scalar_one() == 0 for t in _tables())


def _reset_sequences(conn: Connection) -> None:
    for table in _tables():
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not pk[0].autoincrement or pk[0].autoincrement == "ignore_fk":
            continue
        if table.name == "audit_log":
            continue
        seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": pk[0].name}).scalar()
        if seq:
            top = conn.execute(select(func.max(pk[0]))).scalar()
            if top is None:
                conn.execute(text("SELECT setval(:s, 1, false)"), {"s": seq})
            else:
                conn.execute(text("SELECT setval(:s, :v, true)"), {"s": seq, "v": int(top)})


@dataclass(frozen=True)
class RestoreResult:
    rows: dict[str, int]
    revision: str | None
    source_dialect: str
    audit_check: str = ""

    def summary(self) -> str:
        return (f"restored {sum(self.rows.values())} rows in {len(self.rows)} tables from a {self.source_dialect} "
                f"backup (schema revision {self.revision}); {self.audit_check}")

    def to_dict(self) -> dict[str, Any]:
        return {"rows": dict(self.rows), "revision": self.revision, "source_dialect": self.source_dialect,
                "audit_check": self.audit_check}


def check_signature(path: str | Path, seal: AuditSeal | None, *, accept_unsigned: bool = False) -> str:
    """Check the backup's signature under the audit key; raise DataError (refused) unless it verifies.

    Returns a line for the report. An unsigned backup (written before the store had a key) is refused unless
    ``accept_unsigned``; a signed backup cannot be checked, and is refused, when no key is configured.
    """
    p = Path(path)
    with zipfile.ZipFile(p) as zf:
        manifest_bytes = zf.read("manifest.json")
        try:
            sig = json.loads(zf.read(SIGNATURE))
        except KeyError:
            sig = None
        except json.JSONDecodeError:
            sig = {"hmac": "unreadable"}
    if sig is None:
        if seal is not None and not accept_unsigned:
            raise DataError(f"{p} is not signed with an audit key, so its integrity cannot be checked; nothing was "
                            "restored. If it was written before this store had an audit key and you trust its copy, "
                            "restore it with --accept-unsigned")
        return "backup signature: none (unsigned backup, accepted)"
    if seal is None:
        raise ConfigurationError(f"{p} is signed with audit key id {sig.get('key_id')!r} but no audit key is "
                                 "configured, so the signature cannot be checked; set SECUREBASE_AUDIT_KEY_FILE to the "
                                 "key file it was written with")
    if sig.get("key_id") != seal.key_id or not hmac.compare_digest(str(sig.get("hmac", "")),
                                                                     seal.mac(manifest_bytes)):
        raise DataError(f"the signature of {p} does not verify under the audit key (key id {seal.key_id}; the backup "
                        f"names key id {sig.get('key_id')!r}): the backup was altered after it was written, or "
                        "signed with another key; nothing was restored. Use another copy")
    return f"backup signature: valid (HMAC-SHA256, key id {seal.key_id})"


def restore_store(store: Store, path: str | Path, *, replace: bool = False,
                  accept_unsigned: bool = False) -> RestoreResult:
    """Restore the backup ``path`` into ``store`` (already migrated), all in one transaction.

    The backup's signature is checked first under the store's audit key (:func:`check_signature`)."""
    manifest = read_manifest(path)
    signature = check_signature(path, store.seal, accept_unsigned=accept_unsigned)
    known = {t.name: t for t in _tables()}
    with zipfile.ZipFile(Path(path)) as zf:
        payload: dict[str, bytes] = {}
        for entry in manifest["tables"]:
            name = entry["name"]
            if name not in known:
                raise DataError(f"the backup holds table {name!r}, which this schema does not have; "
                                "restore with the securebase release that wrote the backup")
            data = zf.read(f"tables/{name}.jsonl")
            if hashlib.sha256(data).hexdigest() != entry["sha256"]:
                raise DataError(f"table {name!r} in {path} does not match its hash in the manifest: the backup is "
                                "damaged or was edited; use another copy")
            payload[name] = data
    rows: dict[str, int] = {}
    with store.engine.begin() as conn:
        rev = schema_revision(conn)
        if manifest.get("schema_revision") != rev:
            raise ConflictError(f"the backup has schema revision {manifest.get('schema_revision')!r} but the target "
                                f"store has {rev!r}; migrate both to the same securebase release first")
        if not _empty(conn):
            if not replace:
                raise ConflictError("the target store already holds data; restore into an empty store, or pass "
                                    "--replace to delete everything in it first")
            locked = conn.execute(select(Trial.id).where(Trial.locked.is_(True))).scalars().all()
            if locked:
                raise TrialLocked(f"trial '{locked[0]}' is locked in the target store; --replace would overwrite its "
                                  f"data, so nothing was restored. Release the lock with an audited reason first "
                                  f"(`securebase lock release {locked[0]} --reason ...`)")
            for table in reversed(_tables()):
                conn.execute(delete(table))
        for table in _tables():
            data = payload.get(table.name, b"")
            batch: list[dict[str, Any]] = []
            n = 0
            for line in data.splitlines():
                raw = json.loads(line)
                batch.append({c.name: _decode(c, raw.get(c.name)) for c in table.columns})
                n += 1
                if len(batch) >= BATCH:
                    conn.execute(insert(table), batch)
                    batch = []
            if batch:
                conn.execute(insert(table), batch)
            expected = next((e["rows"] for e in manifest["tables"] if e["name"] == table.name), 0)
            if n != expected:
                raise DataError(f"table {table.name!r}: {n} rows read but the manifest says {expected}; "
                                "the backup is damaged")
            rows[table.name] = n
        if store.dialect == "postgresql":
            _reset_sequences(conn)
    with store.read() as session:  # the data are restored whatever the chain says; the check is reported
        try:
            result = verify_chain(session)
            check = f"{result.summary()}; {signature}"
        except AuditChainBroken as exc:
            result = None
            check = f"AUDIT CHAIN BROKEN: {exc.message}; {signature}"
    if store.seal is not None and result is not None:
        store.seal.append_rekey(result.head_seq, result.head_hash, why="restore")
    return RestoreResult(rows, manifest.get("schema_revision"), manifest.get("dialect", "?"), check)


def _norm(col: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.replace(tzinfo=UTC).isoformat()
    if isinstance(col.type, Date) and isinstance(value, date):
        return value.isoformat()
    if isinstance(col.type, LargeBinary) or isinstance(value, bytes | memoryview):
        return hashlib.sha256(bytes(value)).hexdigest()
    if isinstance(value, float):
        return repr(value)
    if isinstance(col.type, JSON):
        return json.dumps(value, sort_keys=True)
    return value


@dataclass(frozen=True)
class Comparison:
    """Differences between two stores, per table (empty when the stores hold the same records)."""

    counts: dict[str, tuple[int, int]]
    differences: dict[str, list[str]] = field(default_factory=dict)

    @property
    def identical(self) -> bool:
        return not self.differences

    def summary(self) -> str:
        if self.identical:
            return f"no difference: {sum(a for a, _ in self.counts.values())} rows in {len(self.counts)} tables match"
        lines = [f"{len(self.differences)} tables differ:"]
        for t, diffs in self.differences.items():
            a, b = self.counts[t]
            lines.append(f"- {t} ({a} vs {b} rows): " + "; ".join(diffs[:3]) + (" ..." if len(diffs) > 3 else ""))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"identical": self.identical, "counts": {k: list(v) for k, v in self.counts.items()},
                "differences": dict(self.differences)}


def _rows(conn: Connection, table: Table) -> dict[tuple[Any, ...], dict[str, Any]]:
    pk = [c.name for c in table.primary_key.columns]
    out = {}
    for r in conn.execute(select(table)).mappings():
        out[tuple(r[c] for c in pk)] = {c.name: _norm(c, r[c.name]) for c in table.columns}
    return out


def compare_stores(a: Store, b: Store, *, limit: int = 20) -> Comparison:
    """Compare every row of every table of two stores (any backends), by primary key and value."""
    counts: dict[str, tuple[int, int]] = {}
    diffs: dict[str, list[str]] = {}
    with a.engine.connect() as ca, b.engine.connect() as cb:
        if schema_revision(ca) != schema_revision(cb):
            diffs["alembic_version"] = [f"schema revision {schema_revision(ca)} vs {schema_revision(cb)}"]
        for table in _tables():
            ra, rb = _rows(ca, table), _rows(cb, table)
            counts[table.name] = (len(ra), len(rb))
            found: list[str] = []
            for key in sorted(set(ra) | set(rb), key=str):
                if key not in rb:
                    found.append(f"row {key} only in the first store")
                elif key not in ra:
                    found.append(f"row {key} only in the second store")
                elif ra[key] != rb[key]:
                    cols = [c for c in ra[key] if ra[key][c] != rb[key][c]]
                    found.append(f"row {key} differs in {', '.join(cols)}: "
                                 + ", ".join(f"{c}={ra[key][c]!r} vs {rb[key][c]!r}" for c in cols[:3]))
                if len(found) >= limit:
                    break
            if found:
                diffs[table.name] = found
    return Comparison(counts, diffs)


__all__ = ["BackupResult", "Comparison", "RestoreResult", "backup_store", "compare_stores", "read_manifest",
           "restore_store"]


def verify_backup(path: str | Path, seal: AuditSeal | None) -> Any:
    """Check a backup without restoring it: signature, each table's hash and count, and its audit chain.

    Returns a :class:`~securebase.store.audit_verify.VerifyReport` (problems listed, never raised)."""
    from types import SimpleNamespace

    from securebase.errors import SecurebaseError
    from securebase.store.audit import GENESIS, record_hash
    from securebase.store.audit_verify import VerifyReport
    from securebase.store.tables import AuditRecord

    report = VerifyReport()
    manifest = read_manifest(path)
    try:
        report.lines.append(check_signature(path, seal))
    except SecurebaseError as exc:
        report.lines.append("backup signature: DOES NOT VERIFY")
        report.problems.append(exc.message)
    audit_rows: list[dict[str, Any]] = []
    with zipfile.ZipFile(Path(path)) as zf:
        bad = 0
        for entry in manifest["tables"]:
            data = zf.read(f"tables/{entry['name']}.jsonl")
            n = len(data.splitlines())
            if hashlib.sha256(data).hexdigest() != entry["sha256"] or n != entry["rows"]:
                bad += 1
                report.problems.append(f"table {entry['name']!r} in {path} does not match its hash or row count in "
                                       "the manifest: the backup is damaged or was edited")
            if entry["name"] == AuditRecord.__tablename__:
                audit_rows = [json.loads(line) for line in data.splitlines()]
        report.lines.append(f"backup tables: {len(manifest['tables'])} tables, {bad} not matching the manifest")
    table = AuditRecord.__table__
    prev, keyed_seen, legacy = GENESIS, False, 0
    for k, raw in enumerate(sorted(audit_rows, key=lambda r: r["seq"]), start=1):
        r = SimpleNamespace(**{c.name: _decode(c, raw.get(c.name)) for c in table.columns})
        fields = {c: getattr(r, c) for c in ("seq", "trial_id", "at", "actor", "action", "table_name", "record_id",
                                              "participant_id", "old", "new", "reason")}
        if r.seq != k or r.prev_hash != prev:
            report.problems.append(f"the backup's audit record {r.seq} does not follow record {k - 1}: records were "
                                   "removed, reordered or replaced")
            break
        keyed = seal is not None and hmac.compare_digest(record_hash(fields, prev, seal.key), r.hash)
        if not keyed:
            if record_hash(fields, prev) != r.hash:
                report.problems.append(f"the backup's audit record {r.seq} was altered: its content no longer matches "
                                       "its hash")
                break
            if seal is not None and keyed_seen:
                report.problems.append(f"the backup's audit record {r.seq} carries a plain SHA-256 after keyed records: "
                                       "rewritten without the audit key")
                break
            legacy += 1
        keyed_seen = keyed_seen or keyed
        prev = r.hash
    report.lines.append(f"backup audit chain: {len(audit_rows)} records"
                        + (f", {legacy} unkeyed" if legacy else "") + (", keyed" if seal and not legacy else ""))
    if seal is not None and legacy and not report.problems:
        report.problems.append(f"the backup's audit records 1-{legacy} are not keyed with key id {seal.key_id}")
    return report
