"""Link the decision model to the trial: the trial's outcomes update the model's parameters.

For the ``care`` population (children in care or adopted):

* the usual-care arm's one-year unplanned placement endings (``placement_end_12``: event by day 365.25)
  are added to the Dirichlet counts of the stable-placement row (endings -> ``placement_moves``, the rest ->
  ``stable_placement``): a conjugate update of the published/illustrative prior with the trial's data;
* the placement-disruption relative risk ``rr_disruption`` becomes the trial's risk ratio of
  ``placement_end_12`` (intervention / usual care), lognormal with the log-scale SE
  sqrt(1/a - 1/n1 + 1/c - 1/n0) (0.5 added to every cell when one is zero);
* the intervention cost ``c_intervention`` becomes the trial's mean intervention cost per treated
  participant (gamma, SE = SD / sqrt(n)) when given.

For the ``maltreatment`` population: the trial's 12-month ongoing maltreatment (``maltreatment_12``) gives
the recurrence relative risk ``rr_recurrence`` and the usual-care arm updates the at-home row
(recurrence vs none) in the same way.

Everything is by arm: run it only for unblinded roles (the closed report).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from securebase.analysis.economics.model.analysis import ModelAnalysis, analyse_model
from securebase.analysis.economics.model.markov import MarkovModel, load_model
from securebase.analysis.economics.model.parameters import Parameter
from securebase.errors import DataError

DAYS = 365.25


def trial_outcomes(participants: pd.DataFrame) -> dict[str, float]:
    """Counts of one-year unplanned placement endings by arm (complete cases)."""
    p = participants
    if "placement_end_12" in p.columns:
        y = p["placement_end_12"].astype(float)
    elif {"placement_end_time", "placement_end_event"} <= set(p.columns):
        t, e = p["placement_end_time"].astype(float), p["placement_end_event"]
        y = pd.Series(0.0, index=p.index)
        y[(e == 1) & (t <= DAYS)] = 1.0
        y[(e == 0) & (t < DAYS)] = np.nan
    else:
        raise DataError("linking the model to the trial needs 'placement_end_12' or 'placement_end_time' and "
                        "'placement_end_event' in the participant data")
    ok = y.notna() & p["treat"].notna()
    y, arm = y[ok], p.loc[ok, "treat"].astype(int)
    return {"events_usual_care": float(y[arm == 0].sum()), "n_usual_care": float((arm == 0).sum()),
            "events_intervention": float(y[arm == 1].sum()), "n_intervention": float((arm == 1).sum())}


def _binary_by_arm(participants: pd.DataFrame, column: str) -> dict[str, float]:
    if column not in participants.columns:
        raise DataError(f"linking the model to the trial needs '{column}' in the participant data")
    y, arm = participants[column].astype(float), participants["treat"]
    ok = y.notna() & arm.notna()
    y, arm = y[ok], arm[ok].astype(int)
    return {"events_usual_care": float(y[arm == 0].sum()), "n_usual_care": float((arm == 0).sum()),
            "events_intervention": float(y[arm == 1].sum()), "n_intervention": float((arm == 1).sum())}


def link_trial(model: MarkovModel, participants: pd.DataFrame,
               intervention_cost: tuple[float, float] | None = None,
               population: str = "care") -> tuple[MarkovModel, dict[str, Any]]:
    """A copy of ``model`` with parameters updated from the trial, and a record of what changed."""
    if population == "maltreatment":
        o = _binary_by_arm(participants, "maltreatment_12")
        rr_name, row_name, event_state, stay_state = "rr_recurrence", "p_from_at_home", "recurrence", "at_home"
        what = "ongoing maltreatment at 12 months"
    else:
        o = trial_outcomes(participants)
        rr_name, row_name, event_state, stay_state = "rr_disruption", "p_from_stable", "placement_moves", \
            "stable_placement"
        what = "an unplanned placement ending within a year"
    a, n1, c, n0 = o["events_intervention"], o["n_intervention"], o["events_usual_care"], o["n_usual_care"]
    if min(n0, n1) < 1:
        raise DataError("both arms need participants with a known one-year placement outcome to link the model")
    if 0 in (a, c, n1 - a, n0 - c):
        a, c, n1, n0 = a + 0.5, c + 0.5, n1 + 1, n0 + 1
    rr = (a / n1) / (c / n0)
    se = float(np.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n0))
    changes: dict[str, Parameter] = {}
    old = model.params[rr_name]
    changes[rr_name] = old.model_copy(update={"mean": float(rr), "se": se, "ci": None, "illustrative": False,
                                              "source": f"The trial: risk ratio of {what}, "
                                              f"{int(o['events_intervention'])}/{int(o['n_intervention'])} vs "
                                              f"{int(o['events_usual_care'])}/{int(o['n_usual_care'])}"})
    row = model.params[row_name]
    counts = dict(row.counts or {})
    counts[event_state] = counts.get(event_state, 0) + o["events_usual_care"]
    counts[stay_state] = counts.get(stay_state, 0) + o["n_usual_care"] - o["events_usual_care"]
    changes[row_name] = row.model_copy(update={"counts": counts, "source": row.source + f"; plus the trial's "
                                               f"usual-care arm ({what})"})
    if intervention_cost is not None:
        m, s = intervention_cost
        ic = model.params["c_intervention"]
        changes["c_intervention"] = ic.model_copy(update={"mean": float(m), "se": float(max(s, 1e-6 * m)),
                                                          "illustrative": False,
                                                          "source": "The trial: mean intervention cost per treated "
                                                          "participant (micro-costing)"})
    linked = MarkovModel(model.spec, model.params.replace(**changes))
    return linked, {**o, "outcome": what, "parameter": rr_name, "rr": rr, "rr_disruption": rr, "rr_log_se": se,
                    "intervention_cost": intervention_cost[0] if intervention_cost else None}


def run_trial_model(participants: pd.DataFrame, out: Path | None = None, *, model: str = "ng26-placement",
                    population: str = "care", n_samples: int = 2000, seed: int = 1,
                    intervention_cost: tuple[float, float] | None = None, annual_population: float | None = 5000,
                    years: int = 10, evsi_sizes: tuple[int, ...] = (100, 300)) -> ModelAnalysis:
    """Link, analyse and (with ``out``) write ``model.json``, ``model_tornado.csv``, ``model_curves.csv``, PNGs."""
    import json

    linked, link = link_trial(load_model(model), participants, intervention_cost, population)
    a = analyse_model(linked, population, n_samples=n_samples, seed=seed, annual_population=annual_population,
                      years=years, evsi_sizes=evsi_sizes)
    object.__setattr__(a, "structure", {**a.structure, "trial_link": link,
                                        "parameters": linked.params.to_list()})
    if out is not None:
        from securebase.analysis.economics.model.plots import plot_model_all

        out.mkdir(parents=True, exist_ok=True)
        (out / "model.json").write_text(json.dumps(a.to_dict(), indent=1, default=float), encoding="utf-8")
        pd.DataFrame(a.tornado).to_csv(out / "model_tornado.csv", index=False)
        pd.DataFrame({"wtp": a.wtp, "ceac": a.ceac, "ceaf": a.ceaf, "evpi": a.evpi}).to_csv(
            out / "model_curves.csv", index=False)
        plot_model_all(a, out)
    return a
