"""docs/interop.md documents every command and option of the interop CLI."""

from __future__ import annotations

from pathlib import Path

import typer

from securebase.cli import app

DOC = Path(__file__).resolve().parents[2] / "docs" / "interop.md"
COMMANDS = ("export odm", "export redcap", "export analysis", "import odm", "import redcap", "lock", "backup",
            "restore", "compare")


def test_every_interop_command_and_option_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    root = typer.main.get_command(app)
    for path in COMMANDS:
        cmd = root
        for part in path.split():
            cmd = cmd.commands[part]  # type: ignore[attr-defined]
        assert f"securebase {path}" in text, f"command {path} is not documented"
        for p in cmd.params:
            for opt in p.opts:
                if opt.startswith("--"):
                    assert opt.split("/")[0] in text, f"option {opt} of {path} is not documented"
