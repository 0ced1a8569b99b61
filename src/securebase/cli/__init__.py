"""The ``securebase`` command line: a thin layer that turns arguments into service calls.

Sub-command groups live in the modules of this package; each module defines ``register(app)``
and is discovered automatically, so areas of the code never edit a shared file to add commands.
Errors from the error tree become one message on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer

from securebase.errors import SecurebaseError

app = typer.Typer(
    name="securebase",
    help="securebase: run and analyse the NICE NG26 attachment trials, from design to final report.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """securebase: run and analyse the NICE NG26 attachment trials, from design to final report."""


def _load_commands() -> None:
    for mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if mod.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{mod.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_load_commands()


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point. Returns the exit code."""
    try:
        rv = app(args=argv, standalone_mode=False)
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
