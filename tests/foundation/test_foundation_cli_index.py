"""``securebase --help`` lists the commands from a stored index without importing them; the index must match
the commands the modules really register (regenerate with ``securebase.cli.command_index()``)."""

from __future__ import annotations

import subprocess
import sys

from securebase.cli import command_index
from securebase.cli._index import COMMANDS


def test_the_stored_index_matches_the_registered_commands() -> None:
    assert command_index() == COMMANDS, "regenerate src/securebase/cli/_index.py from command_index()"


def test_help_imports_no_command_module_and_no_numerical_library() -> None:
    code = ("import sys; from securebase.cli import main; rc = main(['--help']); "
            "heavy = sorted(m for m in ('pandas', 'numpy', 'scipy', 'sqlalchemy', 'securebase.store') if m in sys.modules)"
            "; cmds = sorted(m for m in sys.modules if m.startswith('securebase.cli.') and m != 'securebase.cli._index'); "
            "print('RESULT', rc, heavy, cmds)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("RESULT"))
    assert line == "RESULT 0 [] []", line
    assert "randomisation" in out.stdout and "Commands" in out.stdout
