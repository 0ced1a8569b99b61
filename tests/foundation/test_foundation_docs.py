"""Every command and every setting is documented (a new one without docs fails here)."""

from __future__ import annotations

from pathlib import Path

import typer.main

from securebase.cli import app
from securebase.settings import Settings

ROOT = Path(__file__).parents[2]


def _docs() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.md"))) + (
        ROOT / "README.md").read_text(encoding="utf-8")


def _command_paths() -> list[str]:
    out: list[str] = []

    def walk(cmd, prefix: list[str]) -> None:  # type: ignore[no-untyped-def]
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                if not getattr(sub, "hidden", False):
                    walk(sub, prefix + [name])
        else:
            out.append(" ".join(prefix))

    walk(typer.main.get_command(app), [])
    return out


def test_every_command_is_documented() -> None:
    docs = _docs()
    paths = _command_paths()
    assert len(paths) > 40
    missing = [p for p in paths if f"securebase {p}" not in docs and f"`{p}" not in docs]
    assert not missing, f"undocumented commands: {missing}"


def test_every_setting_is_documented_with_help() -> None:
    docs = _docs()
    for name, field in Settings.model_fields.items():
        assert field.description, f"setting {name} has no help text"
        assert name.upper() in docs, f"setting SECUREBASE_{name.upper()} is not in docs/"
