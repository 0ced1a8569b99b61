"""Portable backup and restore of a whole store (SQLite or PostgreSQL), and a store comparison.

Format (``securebase backup FILE``): a zip holding ``manifest.json`` and one JSON Lines file per table,
``tables/<name>.jsonl``, written in dependency order (parents before children) with rows in primary-key
order. Each value is typed so nothing is lost between backends: ``{"$dt": "...+00:00"}`` for a UTC
timestamp (microseconds kept), ``{"$date": "YYYY-MM-DD"}``, ``{"$b64": "..."}`` for bytes (the
encrypted identifiers stay encrypted), floats as JSON numbers (Python's shortest round-trip repr),
JSON columns as JSON. The manifest records the format version, the schema revision (Alembic), the
source dialect, and per table the row count and the SHA-256 of its file.

Restore (``securebase restore FILE``) checks every hash and count, migrates the target to the same
schema revision, refuses a target that holds data (unless ``replace=True``, which empties it first),
inserts every row with its primary key (bypassing the ORM, so nothing is re-audited), copies
``audit_log`` and ``audit_head`` verbatim so the hash chain verifies, and on PostgreSQL moves each id
sequence past the largest restored id. :func:`compare_stores` then finds no difference.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Date, Float, LargeBinary, Table, delete, func, insert, select, text
from sqlalchemy.engine import Connection

from securebase.errors import AuditChainBroken, ConflictError, DataError, NotFound, TrialLocked
from securebase.store import Store, verify_chain
from securebase.store.tables import Base, Trial

FORMAT = "securebase-backup"
FORMAT_VERSION = 1
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
        zf.writestr("manifest.json", json.dumps(manifest, indent=2))
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


def restore_store(store: Store, path: str | Path, *, replace: bool = False) -> RestoreResult:
    """Restore the backup ``path`` into ``store`` (already migrated), all in one transaction."""
    manifest = read_manifest(path)
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
            check = verify_chain(session).summary()
        except AuditChainBroken as exc:
            check = f"AUDIT CHAIN BROKEN: {exc.message}"
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
