"""Report section: the decision model beyond the trial (closed report only: it uses by-arm trial results).

Shows the model's structure (states, transition diagram, parameters with sources), the deterministic result
(3.5% and 1.5% discounting), the CEAC with CEAF, the tornado, EVPPI by parameter group, EVSI and population
EVPI. ``economics_model_context(analysis, plot_dir)`` returns the template context, or None.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from securebase.analysis.economics.decision import DIRECTION


def _money(v: float | None) -> str:
    return "—" if v is None else f"£{v:,.0f}"


def economics_model_context(a: Any, plot_dir: Path | None = None) -> dict[str, Any] | None:
    if a is None:
        return None
    from securebase.analysis.economics.model.plots import plot_model_all
    from securebase.report.figures import file_to_data_uri

    figs = plot_model_all(a, plot_dir) if plot_dir is not None else {}
    captions = {"structure": "Model structure: states and the transitions between them (annual cycles).",
                "ceac": "Cost-effectiveness acceptability curve of the model (PSA), with the CEAF.",
                "tornado": "One-way sensitivity analysis: each parameter at its 2.5th and 97.5th percentile.",
                "evppi": "Expected value of partial perfect information by parameter group, per person."}
    det = []
    for key, label in (("base", "NICE reference case (3.5%)"), ("discount_1_5", "Sensitivity: 1.5% discounting")):
        d = a.deterministic[key]
        det.append([label, _money(d["cost_usual_care"]), _money(d["cost_intervention"]),
                    f"{d['qaly_usual_care']:.3f}", f"{d['qaly_intervention']:.3f}", _money(d["incremental_cost"]),
                    f"{d['incremental_qaly']:.4f}",
                    "dominant" if d["incremental_cost"] <= 0 < d["incremental_qaly"] else _money(d["icer"])])
    thresholds = []
    for k in a.thresholds:
        t = a.at(k)
        ev = a.evppi.get(f"{k:.0f}", {})
        thresholds.append([f"£{k:,.0f}", _money(t["inmb_mean"]), f"{t['prob_cost_effective']:.3f}",
                           _money(t["evpi_per_person"]), _money(t.get("evpi_population")),
                           "; ".join(f"{g} {_money(v)}" for g, v in ev.items())])
    evsi = [[str(r["n_per_arm"]), *[_money(r.get(f"{k:.0f}")) for k in a.thresholds],
             *[_money(r.get(f"{k:.0f}_population")) for k in a.thresholds]] for r in a.evsi]
    params = [[p["name"], p.get("group", ""), p["dist"], _describe(p), p.get("source", "")
               + (" (illustrative)" if p.get("illustrative") else "")] for p in a.structure.get("parameters", [])]
    link = a.structure.get("trial_link", {})
    return {
        "title": f"Decision model beyond the trial ({a.model}, population '{a.population}')",
        "direction": f"All differences are {DIRECTION}.",
        "summary": (f"A cohort Markov model of {len(a.structure['states'])} states over {a.structure['cycles']} "
                    f"annual cycles ({a.structure['method'].replace('_', '-')} correction), "
                    f"{a.structure['perspective']} perspective, discounting {a.structure['discount']['costs']:.1%} "
                    f"(costs) and {a.structure['discount']['effects']:.1%} (QALYs); {a.n_samples:,} PSA samples "
                    f"(seed {a.seed})."),
        "link": (f"Linked to the trial: {link.get('parameter', 'rr_disruption')} = risk ratio "
                 f"{link['rr']:.3f} (log SE {link['rr_log_se']:.3f}) of {link.get('outcome', '')}, "
                 f"{int(link['events_intervention'])}/{int(link['n_intervention'])} (intervention) vs "
                 f"{int(link['events_usual_care'])}/{int(link['n_usual_care'])} (usual care); the usual-care arm "
                 "also updates that row of transitions." if link else ""),
        "states": [[s["name"], s["label"]] for s in a.structure["states"]],
        "deterministic": det,
        "thresholds": thresholds,
        "evsi": evsi,
        "evsi_header": ["n per arm", *[f"EVSI/person £{k:,.0f}" for k in a.thresholds],
                        *[f"population EVSI £{k:,.0f}" for k in a.thresholds]],
        "parameters": params,
        "figures": [{"src": file_to_data_uri(p), "alt": k, "caption": captions[k]} for k, p in figs.items()],
        "note": ("Parameters marked illustrative are placeholders, not published estimates: replace them (and "
                 "record their sources) before using the model for a decision."),
    }


def _describe(p: dict[str, Any]) -> str:
    if p["dist"] == "dirichlet":
        return ", ".join(f"{k} {v:g}" for k, v in p["counts"].items())
    if p["dist"] == "fixed":
        return f"{p['value']:g}"
    if p["dist"] == "lognormal":
        return f"mean {p['mean']:.3g}" + (f", 95% CI {p['ci'][0]:g} to {p['ci'][1]:g}" if p.get("ci") else
                                          f", log SE {p['se']:.3g}")
    return f"mean {p['mean']:,.4g}, SE {p['se']:,.3g}"
