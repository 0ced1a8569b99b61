"""``securebase analyse``: run a statistical analysis plan on external data and write the results.

    securebase analyse --plan ng26-care --data participants.csv [--visits visits.csv]
                       [--mapping map.yaml] --out results/ [--stop-on-error] [--show-plan]

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
    keep_going: bool = typer.Option(True, "--keep-going/--stop-on-error",
                                    help="Default: run every analysis, record those that cannot run and list them "
                                         "with the reason; --stop-on-error stops at the first primary analysis "
                                         "that cannot run."),
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
    typer.echo(f"Plan {sap.id} v{sap.version}: {len(results.outcomes)} outcomes; wrote {out / 'results.json'} "
               f"and {out / 'results.md'}")
    for line in not_analysed_lines(results):
        typer.echo(line)


def not_analysed_lines(results: object) -> list[str]:
    """One line per analysis the plan's rules changed or that could not run, with what to do."""
    lines: list[str] = []
    for o in results.outcomes:  # type: ignore[attr-defined]
        for kind, a in (("primary", o.primary), *(("subgroup", s) for s in o.subgroups),
                        *(("sensitivity", s) for s in o.sensitivity)):
            where = f"{o.id}" + (f" / {kind} {a.id}" if kind != "primary" else "")
            for note in a.notes:
                lines.append(f"  rule applied  {where}: {note}")
            if a.error:
                lines.append(f"  NOT ANALYSED  {where}: {a.error}")
    if any("NOT ANALYSED" in ln for ln in lines):
        lines.insert(0, "Analyses not done (each with its reason; results.md lists them too):")
    elif lines:
        lines.insert(0, "Pre-specified sparse-data rules applied:")
    return lines


def register(app: typer.Typer) -> None:
    app.command("analyse")(analyse_command)
