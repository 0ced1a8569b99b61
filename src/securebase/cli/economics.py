"""``securebase economics``: the trial-based cost-utility analysis from a plan and data files.

Writes ``economics.json`` (everything), ``summary.txt``, CSV tables and PNG plots (cost-effectiveness
plane, CEAC with CEAF, EVPI) to ``--out``. Differences are always intervention minus usual care.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import pandas as pd
import typer

from securebase.cli._common import console
from securebase.errors import DataError, InputError


class Layout(str, Enum):
    securebase = "securebase"
    ben2023 = "ben2023"


def _read(path: Path, what: str) -> pd.DataFrame:
    if not path.exists():
        raise InputError(f"{what} file {str(path)!r} does not exist; give the path of a CSV or Parquet file")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except Exception as err:  # pandas raises many types for unreadable files
        raise DataError(f"cannot read {what} file {str(path)!r}: {err}") from None


def economics_command(
    data: Path = typer.Option(..., "--data", help="Participant data (CSV/Parquet, schema.py layout) or the "
                                                  "Ben et al. (2023) CSV with --layout ben2023."),
    out: Path = typer.Option(..., "--out", help="Directory for JSON, tables and plots (created)."),
    plan: str = typer.Option("", "--plan", help="Built-in plan (ng26-care, ng26-maltreatment) or a plan YAML."),
    resource_use: Path | None = typer.Option(None, "--resource-use", help="Resource-use frame (CSV/Parquet)."),
    delivery_log: Path | None = typer.Option(None, "--delivery-log",
                                             help="Intervention delivery log: participant_id, therapist, attended, "
                                                  "[minutes]. Default: sessions_attended x plan minutes."),
    unit_costs: Path | None = typer.Option(None, "--unit-costs", help="Unit-cost table YAML or CSV (item, unit, "
                                           "cost, price_year, category, source); overrides the plan's."),
    price_index: Path | None = typer.Option(None, "--price-index", help="Price index (YAML, or CSV price_year,index) "
                                            "for a CSV unit-cost table."),
    layout: Layout = typer.Option(Layout.securebase, "--layout", help="Input layout: securebase or ben2023."),
    n_boot: int = typer.Option(0, "--n-boot", help="Bootstrap replicates per imputed set (0: the plan's; 5000)."),
    imputations: int = typer.Option(0, "--imputations", help="Number of imputed sets m (0: the plan's; 5)."),
    seed: int = typer.Option(-1, "--seed", help="Random seed (-1: the plan's; 1 for ben2023)."),
    workers: int = typer.Option(1, "--workers", help="Local Dask worker processes for the bootstrap (1: in process)."),
    scheduler: str = typer.Option("", "--scheduler", help="Address of a Dask scheduler (tcp://host:8786)."),
    complete_case: bool = typer.Option(False, "--complete-case", help="Complete-case analysis (no imputation): "
                                       "participants with every cost and utility observed."),
    under_age: str = typer.Option("", "--under-age", help="Children under the utility measure's valid age: "
                                  "exclude or proxy (default: the plan's, exclude)."),
    carer_qalys: bool = typer.Option(False, "--carer-qalys", help="Spill-over sensitivity analysis: add carers' "
                                     "QALYs (the plan's carer_utility) to the children's."),
) -> None:
    """Cost-effectiveness analysis: SUR of costs and QALYs, bootstrap, MI by arm, CEAC/EVPI, plots."""
    from securebase.analysis.economics import ben2023
    from securebase.analysis.economics.analysis import CostEffectivenessAnalysis, write_outputs
    from securebase.analysis.economics.plan import BUILTIN_DIR, load_plan
    from securebase.instruments.unit_costs import load_unit_costs

    frame = _read(data, "data")
    sched = scheduler or None
    if layout is Layout.ben2023:
        p = load_plan(plan) if plan else None
        res = ben2023.analyse(frame, m=imputations or 5, n_boot=n_boot or 5000, seed=1 if seed < 0 else seed,
                              wtp=p.wtp.grid() if p else None, thresholds=p.wtp.thresholds if p else (20_000, 30_000),
                              scheduler=sched, workers=workers)
        paths = res.write(out)
        console.print(res.summary())
    else:
        if not plan:
            raise InputError("--plan is required with the securebase layout (ng26-care, ng26-maltreatment or a YAML)")
        if resource_use is None:
            raise InputError("--resource-use is required with the securebase layout")
        pl = load_plan(plan)
        idx = price_index or (pl.price_index and (BUILTIN_DIR / f"{pl.price_index}.yaml"
                                                  if "." not in pl.price_index else Path(pl.price_index)))
        table = load_unit_costs(unit_costs, idx or None) if unit_costs else None
        ru = _read(resource_use, "resource-use")
        dl = _read(delivery_log, "delivery-log") if delivery_log else None
        cea = CostEffectivenessAnalysis(pl, unit_costs=table, n_boot=n_boot or None, m=imputations or None,
                                        seed=None if seed < 0 else seed, scheduler=sched, workers=workers,
                                        complete_case=complete_case, under_age=under_age or None,
                                        carer_qalys=carer_qalys)
        cres = cea.fit(frame, ru, dl)
        paths = write_outputs(cres, out)
        console.print(cres.summary())
        for w in cres.warnings:
            console.print(f"[yellow]warning:[/yellow] {w}")
    console.print(f"wrote {len(paths)} files to {out}")


def register(app: typer.Typer) -> None:
    app.command("economics")(economics_command)
