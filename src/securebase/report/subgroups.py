"""Subgroup section of the closed report: the effect in each declared level with its n per arm, the
treatment-by-subgroup interaction test beside it (CONSORT 2025 item on subgroup analyses: effects are
reported with the interaction test, never alone), and the forest plot with "favours" labels."""

from __future__ import annotations

from typing import Any

from securebase.report import figures
from securebase.report.effects import favours
from securebase.report.tables import fmt, fmt_p


def subgroup_section(rows: list[dict[str, Any]], *, outcome_label: str = "SDQ total") -> dict[str, Any] | None:
    """Table and figure of the primary outcome's subgroups; None when there are none."""
    if not rows:
        return None
    header = ["Subgroup", "Level", "n (int / usual)", "Effect (95% CI)", "Interaction test", "Interaction p"]
    body, seen, notes = [], set(), []
    for r in rows:
        if r.get("overall"):
            body.append(["All participants", "", r["n"], f"{fmt(r['estimate'])} ({fmt(r['ci_lower'])} to "
                         f"{fmt(r['ci_upper'])})", "", ""])
            continue
        if r.get("not_analysed"):
            notes.append(f"{r['subgroup']}: {r['not_analysed']}")
            body.append([r["subgroup"], "not estimable (see note)", "", "", "", ""])
            continue
        first = r["subgroup"] not in seen
        seen.add(r["subgroup"])
        body.append([r["subgroup"] if first else "", r["level"], r["n"],
                     f"{fmt(r['estimate'])} ({fmt(r['ci_lower'])} to {fmt(r['ci_upper'])})",
                     r["interaction_test"] if first else "", fmt_p(r["interaction_p"]) if first else ""])
        notes += [f"{r['subgroup']}: {n}" for n in r.get("notes", []) if f"{r['subgroup']}: {n}" not in notes]
    variable = next((r.get("variable") for r in rows if r.get("overall")), "sdq_total_12") or "sdq_total_12"
    fav = favours(variable)
    fig = {"src": figures.forest(rows, xlabel=f"Difference in {outcome_label} (intervention minus usual care)",
                                 favours=fav),
           "alt": "Forest plot of the primary outcome by subgroup",
           "caption": (f"Primary outcome by subgroup: effect (95% CI) within each level, n analysed per arm "
                       f"(intervention/usual care). Left of the dashed line {fav[0]}; right {fav[1]}. "
                       "Interaction tests are in the table above; subgroup effects are exploratory.")}
    return {"header": header, "rows": body, "figure": fig, "notes": notes}
