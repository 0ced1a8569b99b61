"""The audit chain's key and its append-only head file: the parts of the audit kept outside the database.

* **Key** (setting ``audit_key_file``; see :func:`seal_paths` for the default): 32 random bytes, written as 64 hex digits to a file readable by the
  service account only. Every audit record's hash is ``HMAC-SHA256(key, canonical record + previous
  hash)``, so someone who can write to the database but does not hold the key cannot edit a record and
  recompute the hashes after it. ``securebase init`` creates the file when it is missing;
  :func:`load_key` reads it. The key is named in output by its *key id* (the first 12 hex digits of
  ``HMAC(key, "securebase audit key id")``), never by its value.
* **Head file** (setting ``audit_head_file``): one line appended after every committed unit of work that
  wrote audit records, ``{"seq": ..., "hash": ..., "at": ..., "key_id": ..., "mac": ...}``, where ``mac``
  is the HMAC of the other fields. A tail cut from the chain (with the ``audit_head`` row updated to
  match) still disagrees with the last line of this file. Keep it on storage the database's users cannot
  rewrite (another host, an append-only mount, ``chattr +a``). ``securebase audit rekey`` appends a
  ``{"rekey": ...}`` line: earlier lines refer to the chain before it was sealed and are not checked.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from securebase.errors import ConfigurationError

KEY_ID_LABEL = b"securebase audit key id"


@dataclass(frozen=True)
class AuditSeal:
    """The key of the chain and where its heads are appended (``head_file`` may be None: not kept)."""

    key: bytes
    head_file: Path | None = None

    @property
    def key_id(self) -> str:
        return key_id(self.key)

    def mac(self, data: bytes) -> str:
        return hmac.new(self.key, data, hashlib.sha256).hexdigest()

    def append_head(self, seq: int, digest: str) -> None:
        """Append the chain head ``(seq, digest)`` to the head file (no-op without one)."""
        if self.head_file is None:
            return
        line = {"seq": seq, "hash": digest, "at": datetime.now(UTC).isoformat(), "key_id": self.key_id}
        line["mac"] = self.mac(_line_bytes(line))
        _append(self.head_file, line)

    def append_rekey(self, seq: int, digest: str, legacy_hash: str | None = None, why: str = "rekey") -> None:
        """Start the head file afresh at ``(seq, digest)``: after ``audit rekey`` (``why="rekey"``) or a restore
        (``why="restore"``), the earlier lines describe a chain that is no longer the store's."""
        if self.head_file is None:
            return
        line: dict[str, Any] = {"rekey": seq, "hash": digest, "legacy_hash": legacy_hash, "why": why,
                                "at": datetime.now(UTC).isoformat(), "key_id": self.key_id}
        line["mac"] = self.mac(_line_bytes(line))
        _append(self.head_file, line)


def key_id(key: bytes) -> str:
    return hmac.new(key, KEY_ID_LABEL, hashlib.sha256).hexdigest()[:12]


def _line_bytes(line: dict[str, Any]) -> bytes:
    return json.dumps({k: v for k, v in line.items() if k != "mac"}, sort_keys=True, separators=(",", ":")).encode()


def _append(path: Path, line: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (json.dumps(line, sort_keys=True, separators=(",", ":")) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, data)  # one write of one short line with O_APPEND: concurrent writers do not interleave
        os.fsync(fd)
    finally:
        os.close(fd)


def read_head_file(seal: AuditSeal) -> tuple[list[dict[str, Any]], list[str]]:
    """The head file's lines since the last rekey, and problems (unreadable lines, forged macs)."""
    assert seal.head_file is not None
    lines: list[dict[str, Any]] = []
    problems: list[str] = []
    for n, raw in enumerate(seal.head_file.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except json.JSONDecodeError:
            problems.append(f"head file {seal.head_file} line {n} is not JSON: the file was edited")
            continue
        if not hmac.compare_digest(str(line.get("mac", "")), seal.mac(_line_bytes(line))):
            problems.append(f"head file {seal.head_file} line {n} does not carry a valid signature of this key "
                            f"(key id {seal.key_id}): the line was forged or edited, or written with another key")
            continue
        if "rekey" in line:
            lines = [{"seq": line["rekey"], "hash": line["hash"], "at": line["at"], "line": n}]
            continue
        lines.append({**line, "line": n})
    return lines, problems


def generate_key_file(path: Path) -> bool:
    """Create ``path`` with a new random key (mode 0600) unless it exists; True if created."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, (secrets.token_hex(32) + "\n").encode())
    finally:
        os.close(fd)
    return True


def load_key(path: Path) -> bytes:
    """The key in ``path`` (64 hex digits); ConfigurationError naming the file when it is malformed."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read the audit key file {str(path)!r} ({exc}); check "
                                 "SECUREBASE_AUDIT_KEY_FILE and the file's permissions") from None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ConfigurationError(f"the audit key file {str(path)!r} must hold 64 hex digits (32 bytes), got "
                                 f"{len(text)} characters; restore it from your key backup (a new key cannot "
                                 "verify the existing chain)")
    return key


def seal_paths(settings: Any, url: str) -> tuple[Path, Path]:
    """(key file, head file) for the store at ``url``: the settings, else files named after the database
    (``<file>.audit-key`` and ``<file>.audit-heads`` next to a SQLite file; ``securebase-audit-<database>.key``
    and ``.heads`` in the current folder for a server database)."""
    key = getattr(settings, "audit_key_file", None)
    head = getattr(settings, "audit_head_file", None)
    if key:
        key_path = Path(key)
    elif url.startswith("sqlite") and "///" in url and url.split("///", 1)[1] not in ("", ":memory:"):
        key_path = Path(url.split("///", 1)[1] + ".audit-key")
    else:
        from sqlalchemy.engine import make_url

        name = make_url(url).database or "store"
        key_path = Path(f"securebase-audit-{name}.key")
    if head:
        head_path = Path(head)
    elif key_path.name.endswith(".audit-key"):
        head_path = key_path.with_name(key_path.name.removesuffix(".audit-key") + ".audit-heads")
    else:
        head_path = key_path.with_name(key_path.name.removesuffix(".key") + ".heads")
    return key_path, head_path


def seal_for(url: str, settings: Any | None = None, *, create: bool = False) -> AuditSeal | None:
    """The seal of the store at ``url`` as the settings name it, or None when its key file does not exist
    (an unkeyed, legacy store). ``create=True`` (``securebase init``) first creates a missing key file."""
    if settings is None:
        from securebase.settings import get_settings

        settings = get_settings()
    key_path, head_path = seal_paths(settings, url)
    if create:
        generate_key_file(key_path)
    if not key_path.exists():
        return None
    return AuditSeal(load_key(key_path), head_path)
