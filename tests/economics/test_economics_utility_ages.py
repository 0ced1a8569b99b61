"""Utilities valid for the child's age (CHU9D from 7), proxy sensitivity analysis, carers' spill-over QALYs."""

from __future__ import annotations

import numpy as np
import pytest
from economics_synth import make_trial

from securebase.analysis.economics.analysis import CostEffectivenessAnalysis
from securebase.analysis.economics.plan import load_plan
from securebase.errors import DataError


def _trial():
    p, ru, dl = make_trial(n=60, seed=9, missing=0.0)
    p["age_years"] = np.where(np.arange(60) < 6, 5.5, p["age_years"].clip(lower=7.5))  # 6 children under 7
    for m in (0, 6, 12):
        p[f"proxy_utility_{m}"] = 0.7
        p[f"carer_utility_{m}"] = 0.8
    return p, ru, dl


def test_under_7s_are_a_declared_exclusion_and_never_imputed():
    p, ru, dl = _trial()
    plan = load_plan("ng26-care")
    assert (plan.utility.valid_from_age, plan.utility.under_age) == (7, "exclude")
    res = CostEffectivenessAnalysis(plan, n_boot=100, m=2).fit(p, ru, dl)
    assert res.n == 54
    assert any("6 participant(s) under 7 at baseline are excluded" in w and "CHU9D is valid from age 7" in w
               for w in res.warnings)


def test_proxy_sensitivity_uses_the_proxy_for_under_age_visits_only():
    p, ru, dl = _trial()
    cea = CostEffectivenessAnalysis(load_plan("ng26-care"), n_boot=100, m=2, under_age="proxy")
    frame, _, ucols = cea._frame(p, ru, dl)
    assert len(frame) == 60
    young = frame["age_years"] < 7
    # 5.5-year-olds are under 7 at months 0, 6 and 12: every value is the proxy's
    assert (frame.loc[young, ucols] == 0.7).all().all()
    assert not (frame.loc[~young, "utility_0"] == 0.7).all()
    assert any("18 under-7 visit value(s) use the proxy measure 'proxy_utility'" in n for n in cea.notes)
    with pytest.raises(DataError, match="utility.proxy_column: column 'proxy_utility_6' is missing"):
        CostEffectivenessAnalysis(load_plan("ng26-care"), under_age="proxy")._frame(
            p.drop(columns="proxy_utility_6"), ru, dl)


def test_carer_qalys_spillover_sensitivity():
    p, ru, dl = _trial()
    plan = load_plan("ng26-care")
    base = CostEffectivenessAnalysis(plan, n_boot=100, m=2).fit(p, ru, dl)
    spill = CostEffectivenessAnalysis(plan, n_boot=100, m=2, carer_qalys=True).fit(p, ru, dl)
    q0 = base.cost_consequence.set_index("item").loc["qaly", "intervention_mean"]
    q1 = spill.cost_consequence.set_index("item").loc["qaly", "intervention_mean"]
    # carers at 0.8 for the whole year add 0.8 QALYs (days 0 to about 365)
    assert q1 - q0 == pytest.approx(0.8, abs=0.03)
    assert any("spill-over sensitivity" in w for w in spill.warnings)
    p.loc[10, "carer_utility_6"] = -0.4  # a child aged 7+ (under-7s are excluded first)
    with pytest.raises(DataError, match=r"carer EQ-5D-5L 'carer_utility_6' must be between -0.285 and 1 \(got -0.4\)"):
        CostEffectivenessAnalysis(plan, carer_qalys=True)._frame(p, ru, dl)
