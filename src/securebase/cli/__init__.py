"""The ``securebase`` command line: a thin layer that turns arguments into service calls.

Sub-command groups live in the modules of this package; each module defines ``register(app)``
and is discovered automatically, so areas of the code never edit a shared file to add commands.
Errors from the error tree become one message on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from typing import Any

import typer

from securebase.errors import SecurebaseError

HELP = "securebase: run and analyse the NICE NG26 attachment trials, from design to final report."
_app = typer.Typer(name="securebase", help=HELP, no_args_is_help=True, pretty_exceptions_enable=False,
                   add_completion=False)
_loaded = False


@_app.callback()
def _root() -> None:
    """securebase: run and analyse the NICE NG26 attachment trials, from design to final report."""


def _load_commands() -> typer.Typer:
    """The whole Typer app, every command module imported (tests and introspection use this)."""
    global _loaded
    if not _loaded:
        for mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
            if mod.name.startswith("_"):
                continue
            module = importlib.import_module(f"{__name__}.{mod.name}")
            register = getattr(module, "register", None)
            if register is not None:
                register(_app)
        _loaded = True
    return _app


def __getattr__(name: str) -> typer.Typer:  # PEP 562: ``from securebase.cli import app`` loads every command
    if name == "app":
        return _load_commands()
    raise AttributeError(name)


def command_index() -> dict[str, tuple[str, str]]:
    """{top-level command: (module that registers it, one-line help)}, read from the real commands; the
    stored copy in ``_index.py`` must equal it (a test checks), so ``--help`` needs no imports."""
    out: dict[str, tuple[str, str]] = {}
    for mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if mod.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{mod.name}")
        if getattr(module, "register", None) is None:
            continue
        one = typer.Typer()
        one.callback()(lambda: None)
        module.register(one)
        group = typer.main.get_command(one)
        for name, cmd in group.commands.items():  # type: ignore[attr-defined]
            out[name] = (mod.name, cmd.get_short_help_str(limit=90))
    return out


def _lazy_group():  # type: ignore[no-untyped-def]
    """The click group ``main`` runs: command names and help from ``_index.py``; a command's module is
    imported only when that command runs, so ``securebase --help`` and light commands start fast."""
    from typer.core import TyperCommand, TyperGroup

    from securebase.cli._index import COMMANDS

    class LazyGroup(TyperGroup):
        invoking = False

        def list_commands(self, ctx: Any) -> list[str]:
            return sorted(COMMANDS)

        def resolve_command(self, ctx: Any, args: list[str]) -> Any:
            self.invoking = True  # the one lookup that runs a command: import its module
            try:
                return super().resolve_command(ctx, args)
            finally:
                self.invoking = False

        def get_command(self, ctx: Any, cmd_name: str) -> Any:
            if cmd_name not in COMMANDS:
                return None
            if not self.invoking:  # listing commands in help: name and one line, nothing imported
                return TyperCommand(name=cmd_name, help=COMMANDS[cmd_name][1])
            module = importlib.import_module(f"{__name__}.{COMMANDS[cmd_name][0]}")
            one = typer.Typer(pretty_exceptions_enable=False, add_completion=False)
            one.callback()(lambda: None)
            module.register(one)
            return typer.main.get_command(one).commands.get(cmd_name)  # type: ignore[attr-defined]

        def format_commands(self, ctx: Any, formatter: Any) -> None:
            rows = [(name, COMMANDS[name][1]) for name in sorted(COMMANDS)]
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    return LazyGroup(name="securebase", help=HELP, no_args_is_help=True,
                     callback=lambda: None)


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point. Returns the exit code."""
    try:
        rv = _lazy_group().main(args=argv, prog_name="securebase", standalone_mode=False)
        if isinstance(rv, int) and rv:  # typer.Exit(n) comes back as a return value here
            return rv
    except SecurebaseError as err:
        typer.secho(f"Error: {err.message}", err=True, fg=typer.colors.RED)
        return err.exit_code
    except (typer.Abort, KeyboardInterrupt):
        typer.secho("Aborted.", err=True)
        return 130
    except typer.Exit as ex:
        return ex.exit_code
    except OSError as exc:  # a file or folder named on the command line that cannot be read or written
        where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        typer.secho(f"Error: cannot use{where}: {exc.strerror or exc}; check that the path and its folder exist "
                    "and are writable", err=True, fg=typer.colors.RED)
        return 2
    except ValueError as exc:  # a value the command's libraries refuse (an address, a number format)
        typer.secho(f"Error: invalid value: {exc}; see the command's --help for what each option expects",
                    err=True, fg=typer.colors.RED)
        return 2
    except Exception as exc:  # click usage errors and the like
        show = getattr(exc, "show", None)
        if callable(show) and hasattr(exc, "exit_code"):  # a usage error from the argument parser
            show()
            return int(exc.exit_code)
        typer.secho(f"Internal error: {type(exc).__name__}: {exc}. Please report this with the command you ran.",
                    err=True, fg=typer.colors.RED)
        return 70
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
