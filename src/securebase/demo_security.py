"""The demo's web set-up: a generated session secret next to the demo store, never a default."""

from __future__ import annotations

from pathlib import Path

from securebase.settings import write_secret_file


def demo_secret(out: Path) -> Path:
    """Write a random session secret to ``out/securebase.secret`` (kept if already there); returns its path."""
    path = Path(out) / "securebase.secret"
    write_secret_file(path)
    return path
