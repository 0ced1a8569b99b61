"""Readable Markdown tables of plan results: the main results table, then per outcome the subgroup
(with interaction tests), sensitivity and warning details."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from securebase.analysis.effectiveness import DIRECTION, EffectResult

if TYPE_CHECKING:
    from securebase.analysis.sap.runner import AnalysisOutcome, PlanResults


def _num(x: float | None, digits: int = 2) -> str:
    if x is None or not math.isfinite(x):
        return "NA"
    return f"{x:.{digits}f}"


def _p(p: float | None) -> str:
    if p is None or not math.isfinite(p):
        return "NA"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _est_cells(r: EffectResult, k: int = 0) -> tuple[str, str]:
    e = r.estimates[k]
    lo, hi = e.ci
    return f"{e.name}: {_num(e.estimate)} ({_num(lo)} to {_num(hi)})", _p(e.p_value)


def _n(r: EffectResult) -> str:
    return " / ".join(str(v) for v in r.n_analysed.values())


def _row(a: AnalysisOutcome) -> str:
    if a.result is None:
        return f"| {a.label} | {'not analysed (plan rule)' if a.by_rule else 'not estimable'}: {a.error} | | |"
    est, p = _est_cells(a.result)
    return f"| {a.label} | {est} | {p} | {_n(a.result)} |"


def results_markdown(res: PlanResults) -> str:
    n = ", ".join(f"{k} {v}" for k, v in res.n_randomised.items())
    out = [f"# Results: plan {res.plan_id} (version {res.plan_version}), trial {res.trial}", "",
           f"Randomised: {n}. Direction of every effect: {DIRECTION}.", "",
           "| outcome | role | estimate (95% CI) | p | adjusted p | n analysed (intervention / usual care) |",
           "|---|---|---|---|---|---|"]
    for o in res.outcomes:
        if o.primary.result is None:
            out.append(f"| {o.label} | {o.role} | not estimable: {o.primary.error} | | | |")
            continue
        est, p = _est_cells(o.primary.result)
        adj = _p(o.adjusted_p) + (" (rejected)" if o.rejected else "") if o.adjusted_p is not None else ""
        out.append(f"| {o.label} | {o.role} | {est} | {p} | {adj} | {_n(o.primary.result)} |")
    mu = res.multiplicity
    out += ["", f"Multiplicity: {mu.get('method', 'none').replace('_', ' ')} over {', '.join(mu.get('family', []))} "
            f"at alpha {mu.get('alpha')}." + (f" {mu['note']}" if "note" in mu else "")]
    for o in res.outcomes:
        out += ["", f"## {o.label}", "", f"Variable `{o.variable}`, summary measure {o.summary_measure}, "
                f"analysis set {o.analysis_set}."]
        r = o.primary.result
        if r is not None:
            out += ["", "```", r.summary(), "```"]
        notes = [f"- {a.label}: {n}" for a in (o.primary, *o.subgroups, *o.sensitivity) for n in a.notes]
        if notes:
            out += ["", "Pre-specified sparse-data rule applied:", "", *dict.fromkeys(notes)]
        if o.subgroups:
            out += ["", "| subgroup | level | estimate (95% CI) | p | interaction test |", "|---|---|---|---|---|"]
            for s in o.subgroups:
                if s.result is None:
                    out.append(f"| {s.label} | | not estimable: {s.error} | | |")
                    continue
                t = s.result.details.get("interaction_test", {})
                tp = f"{t.get('test')} p = {_p(t.get('p_value'))}" if t else ""
                levels = [k for k, e in enumerate(s.result.estimates) if " = " in e.name]
                for k in levels:
                    est, p = _est_cells(s.result, k)
                    out.append(f"| {s.label} | {s.result.estimates[k].name} | {est.split(': ', 1)[1]} | {p} | "
                               f"{tp if k == levels[0] else ''} |")
        if o.sensitivity:
            out += ["", "| sensitivity analysis | estimate (95% CI) | p | n analysed |", "|---|---|---|---|"]
            out += [_row(s) for s in o.sensitivity]
            for s in o.sensitivity:
                if s.result is not None and "tipping_table" in s.result.details:
                    tp = s.result.details["tipping_point"]
                    out += ["", f"Tipping point ({s.label}): "
                            + (f"the conclusion changes at delta = {tp}." if tp is not None else "none in the range."),
                            "", "| delta | estimate | 95% CI | p |", "|---|---|---|---|"]
                    for row in s.result.details["tipping_table"]:
                        out.append(f"| {row['delta']} | {_num(row['estimate'])} | {_num(row['ci_lower'])} to "
                                   f"{_num(row['ci_upper'])} | {_p(row['p_value'])} |")
    return "\n".join(out) + "\n"
