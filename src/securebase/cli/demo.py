"""``securebase demo``: the main job (a whole simulated NG26 care trial, end to end)."""

from __future__ import annotations

from pathlib import Path

import typer

from securebase.cli._common import console


def demo(
    out: Path = typer.Option(Path("demo-output"), "--out", help="Folder for the store, report and exports."),
    n: int = typer.Option(200, "--participants", "-n", help="Children to randomise in the simulated trial."),
    seed: int = typer.Option(2026, help="Seed of the simulation (every number in the report reproduces from it)."),
) -> None:
    """Create a fresh SQLite trial 'ng26-care', run it end to end on synthetic data, and write the report."""
    from securebase.demo import run_demo

    run_demo(out=out, n=n, seed=seed, console=console)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
