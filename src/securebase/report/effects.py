"""Run the trial's statistical analysis plan and turn its results into report rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console

from securebase.protocol import Protocol


def effect_rows(results: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Outcome-table rows and forest-plot rows (subgroups of the first primary outcome)."""
    rows, forest = [], []
    for o in results.outcomes:
        res = o.primary.result
        notes = list(o.primary.notes)
        if res is None:
            why = ("Not analysed under the plan's sparse-data rule: " if o.primary.by_rule
                   else "Not analysed: ") + (o.primary.error or "no reason recorded")
            rows.append({"label": o.label, "model": "", "n": "", "estimate": None, "ci_lower": None,
                         "ci_upper": None, "p_value": None, "p_adjusted": None, "not_analysed": why, "notes": notes})
            continue
        est = res.primary
        lo, hi = est.ci
        n = "/".join(str(v) for v in res.n_analysed.values())
        measure = "ratio" if est.transform == "exp" else "difference"
        rows.append({"label": o.label + (" (primary)" if o.role == "primary" else ""), "model": res.model, "n": n,
                     "measure": measure, "estimate": est.estimate, "ci_lower": lo, "ci_upper": hi,
                     "p_value": est.p_value, "p_adjusted": o.adjusted_p, "notes": notes})
    primary = next((o for o in results.outcomes if o.role == "primary" and o.primary.result is not None), None)
    if primary is not None:
        for sg in primary.subgroups:
            if sg.result is None:
                continue
            levels = [e for e in sg.result.estimates if "=" in e.name and "interaction" not in e.name]
            for e in levels or [e for e in sg.result.estimates if "interaction" not in e.name]:
                lo, hi = e.ci
                forest.append({"label": f"{sg.label}: {e.name}", "estimate": e.estimate, "ci_lower": lo, "ci_upper": hi})
        est = primary.primary.result.primary  # type: ignore[union-attr]
        lo, hi = est.ci
        forest.append({"label": "All participants", "estimate": est.estimate, "ci_lower": lo, "ci_upper": hi,
                       "overall": True})
    return rows, forest


def effects_from_plan(proto: Protocol, part: pd.DataFrame, visits: pd.DataFrame, out: Path,
                      console: Console) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, str]]:
    from securebase.analysis.sap.runner import run_plan
    from securebase.analysis.sap.validate import load_plan

    plan = load_plan(proto.analysis_plans.statistical or proto.id)
    console.print(f"Statistical analysis plan {plan.id} v{plan.version}: {len(plan.outcomes)} outcomes")
    results = run_plan(plan, part, visits, on_error="record")
    (out / "analysis").mkdir(parents=True, exist_ok=True)
    (out / "analysis" / "results.json").write_text(results.to_json(), encoding="utf-8")
    (out / "analysis" / "results.md").write_text(results.to_markdown(), encoding="utf-8")
    rows, forest = effect_rows(results)
    return rows, forest, {"statistical": f"{plan.id} v{plan.version}"}
