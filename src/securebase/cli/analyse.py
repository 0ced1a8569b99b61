"""``securebase analyse``: run a statistical analysis plan on external data and write the results.

    securebase analyse --plan ng26-care --data participants.csv [--visits visits.csv]
                       [--mapping map.yaml] --out results/ [--keep-going] [--show-plan]

Writes ``results.json`` and ``results.md`` in ``--out``. Store-backed runs call
:func:`securebase.analysis.sap.run_plan` with the frames of ``analysis.datasets``.
"""

from __future__ import annotations

from pathlib import Path

import typer

from securebase.analysis.datasets_external import load_external
from securebase.analysis.sap import load_plan, run_plan
from securebase.errors import DataError


def analyse_command(
    plan: str = typer.Option(..., "--plan", help="Plan file (YAML) or built-in plan name: ng26-care, ng26-maltreatment."),
    data: Path = typer.Option(None, "--data", help="Participants data: CSV, Parquet or REDCap records export (.csv/.json)."),
    visits: Path = typer.Option(None, "--visits", help="Visits data (one row per participant and visit), for MMRM."),
    mapping: Path = typer.Option(None, "--mapping", help="Column-mapping YAML (target column -> source column, recodes)."),
    out: Path = typer.Option(None, "--out", help="Directory for results.json and results.md (created if absent)."),
    keep_going: bool = typer.Option(False, "--keep-going", help="Record analyses that cannot run instead of stopping."),
    show_plan: bool = typer.Option(False, "--show-plan", help="Print the plan as readable text and exit."),
) -> None:
    """Run a statistical analysis plan on external data; write results.json and results.md."""
    sap = load_plan(plan)
    if show_plan:
        typer.echo(sap.summary("text"))
        return
    if data is None or out is None:
        raise DataError("--data and --out are required to run a plan (or give --show-plan to print it)")
    participants, visit_frame = load_external(data, visits, mapping)
    results = run_plan(sap, participants, visit_frame, on_error="record" if keep_going else "raise")
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(results.to_json(), encoding="utf-8")
    (out / "results.md").write_text(results.to_markdown(), encoding="utf-8")
    failed = sum(1 for o in results.outcomes for a in (o.primary, *o.subgroups, *o.sensitivity) if a.error)
    typer.echo(f"Plan {sap.id} v{sap.version}: {len(results.outcomes)} outcomes analysed"
                  + (f", {failed} analyses not estimable (see results.md)" if failed else "")
                  + f"; wrote {out / 'results.json'} and {out / 'results.md'}")


def register(app: typer.Typer) -> None:
    app.command("analyse")(analyse_command)
