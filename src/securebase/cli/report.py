"""``securebase report``: the trial report (open or closed) as HTML and PDF."""

from __future__ import annotations

from pathlib import Path

import typer

from securebase.cli._common import console, store


def report(
    trial: str = typer.Option("ng26-care", "--trial", "-t", help="Trial id in the store."),
    as_user: str = typer.Option(..., "--as", help="Your user name; blinded roles can only produce the open report."),
    kind: str = typer.Option("open", "--kind", "-k", help="open (pooled, for the trial team) or closed (by arm, for the DMC)."),
    out: Path = typer.Option(Path("report-output"), "--out", "-o", help="Folder for report.html, report.pdf and tables."),
    pdf: bool = typer.Option(True, "--pdf/--no-pdf", help="Also print the report to PDF with Chromium."),
    boot: int = typer.Option(1000, "--boot", help="Bootstrap replicates per imputed set (closed report)."),
    seed: int = typer.Option(1, help="Seed of the bootstrap and imputation (stored in the provenance)."),
    db: str | None = typer.Option(None, "--db", help="Store URL; default SECUREBASE_DATABASE_URL."),
    as_of: str | None = typer.Option(None, "--as-of", help="Analysis date (YYYY-MM-DD): the data cut the report "
                                     "describes; records dated later are left out. Default today."),
) -> None:
    """Write the CONSORT flow, baseline table, outcomes, cost effectiveness, CHEERS items and provenance."""
    from securebase.errors import FieldError
    from securebase.report.from_store import report_from_store

    if kind not in ("open", "closed"):
        raise FieldError("--kind", kind, "'open' or 'closed'")
    cut = None
    if as_of is not None:
        from datetime import date

        try:
            cut = date.fromisoformat(as_of)
        except ValueError:
            raise FieldError("--as-of", as_of, "a date as YYYY-MM-DD, e.g. 2026-06-30") from None
    files = report_from_store(store(db), trial, as_user, kind, out, console=console, pdf=pdf, n_boot=boot, seed=seed,
                              as_of=cut)
    for k, path in files.items():
        console.print(f"{k.upper()}: {path}")


def register(app: typer.Typer) -> None:
    app.command("report")(report)
