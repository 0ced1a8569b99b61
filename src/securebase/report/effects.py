"""Run the trial's statistical analysis plan and turn its results into report rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console

from securebase.protocol import Protocol

#: outcomes where a lower value is better (a negative difference, or a ratio below 1, favours the intervention)
LOWER_IS_BETTER = ("sdq_", "rpq_", "placement_end", "exclusions", "persistent_absence", "maltreatment")


def favours(variable: str) -> tuple[str, str]:
    """(left label, right label) of a forest plot for ``variable``: which arm each side of no effect favours."""
    lower = any(variable.startswith(p) for p in LOWER_IS_BETTER)
    return ("favours intervention", "favours usual care") if lower else ("favours usual care", "favours intervention")


def _n(res: Any) -> str:
    return "/".join(str(v) for v in res.n_analysed.values())


def _row(label: str, res: Any, notes: list[str], **extra: Any) -> dict[str, Any]:
    est = res.primary
    lo, hi = est.ci
    measure = "ratio" if est.transform == "exp" else "difference"
    warn = [f"{label}: {w}" for w in res.warnings]
    return {"label": label, "model": res.model, "n": _n(res), "measure": measure, "estimate": est.estimate,
            "ci_lower": lo, "ci_upper": hi, "p_value": est.p_value, "p_adjusted": None, "notes": notes + warn,
            **extra}


def _not_analysed(label: str, a: Any, **extra: Any) -> dict[str, Any]:
    why = ("Not analysed under the plan's sparse-data rule: " if a.by_rule else "Not analysed: ") + (
        a.error or "no reason recorded")
    return {"label": label, "model": "", "n": "", "estimate": None, "ci_lower": None, "ci_upper": None,
            "p_value": None, "p_adjusted": None, "not_analysed": f"{label}: {why}", "notes": list(a.notes), **extra}


def _tipping_note(a: Any) -> str | None:
    d = a.result.details if a.result is not None else {}
    if "tipping_table" not in d:
        return None
    tp, arm = d.get("tipping_point"), str(d.get("shifted_arm", "intervention")).replace("_", " ")
    deltas = [r["delta"] for r in d["tipping_table"]]
    if tp is None:
        return (f"{a.label}: the conclusion does not change for any delta tried ({min(deltas)} to {max(deltas)}, "
                f"missing {arm}-arm outcomes shifted).")
    return f"{a.label}: the conclusion changes at delta = {tp} (missing {arm}-arm outcomes shifted by delta)."


def effect_rows(results: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Outcome-table rows (each primary analysis followed by its sensitivity analyses, ``sub=True``) and
    forest-plot rows (subgroups of the first primary outcome)."""
    rows: list[dict[str, Any]] = []
    for o in results.outcomes:
        label = o.label + (" (primary)" if o.role == "primary" else "")
        if o.primary.result is None:
            rows.append(_not_analysed(label, o.primary))
        else:
            rows.append(_row(label, o.primary.result, list(o.primary.notes), p_adjusted=o.adjusted_p))
        for s in o.sensitivity:
            if s.result is None:
                rows.append(_not_analysed(f"Sensitivity: {s.label}", s, sub=True))
                continue
            tip = _tipping_note(s)
            rows.append(_row(f"Sensitivity: {s.label}", s.result, list(s.notes) + ([tip] if tip else []), sub=True))
    return rows, forest_rows(results)


def forest_rows(results: Any) -> list[dict[str, Any]]:
    """One row per subgroup level of the first primary outcome (effect in that level, n per arm and the
    interaction test of its subgroup), then the overall effect."""
    primary = next((o for o in results.outcomes if o.role == "primary" and o.primary.result is not None), None)
    if primary is None:
        return []
    out = []
    for sg in primary.subgroups:
        if sg.result is None:
            out.append({"subgroup": sg.label, "label": sg.label, "level": "", "estimate": None, "ci_lower": None,
                        "ci_upper": None, "n": "", "interaction_p": None, "interaction_test": "",
                        "not_analysed": sg.error or "not estimable", "notes": list(sg.notes)})
            continue
        test = sg.result.details.get("interaction_test", {})
        n_by_level = sg.result.details.get("n_by_level", {})
        for e in sg.result.estimates:
            if " = " not in e.name:
                continue
            lo, hi = e.ci
            level = e.name.split(" = ", 1)[1]
            out.append({"subgroup": sg.label, "label": f"{sg.label}: {level}", "level": level,
                        "estimate": e.estimate, "ci_lower": lo, "ci_upper": hi, "n": n_by_level.get(level, ""),
                        "interaction_p": test.get("p_value"),
                        "interaction_test": f"{test.get('test', '')} on {test.get('df1', '')} df".strip(),
                        "notes": list(sg.notes)})
    est = primary.primary.result.primary  # type: ignore[union-attr]
    lo, hi = est.ci
    out.append({"subgroup": "All participants", "label": "All participants", "level": "", "estimate": est.estimate,
                "ci_lower": lo, "ci_upper": hi, "n": _n(primary.primary.result), "interaction_p": None,
                "interaction_test": "", "overall": True, "variable": primary.variable, "notes": []})
    return out


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
