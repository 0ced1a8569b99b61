"""Unit costs, inflation, costing by category and perspective, intervention cost, plans, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from economics_synth import make_trial

from securebase.analysis.economics.analysis import CostEffectivenessAnalysis
from securebase.analysis.economics.costing import (
    _discount_share,
    cost_resource_use,
    intervention_costs,
    perspective_totals,
)
from securebase.analysis.economics.plan import BUILTIN_DIR, load_plan, parse_plan
from securebase.errors import DataError, ProtocolError
from securebase.instruments.unit_costs import load_unit_costs, parse_unit_costs

TABLE = load_unit_costs(BUILTIN_DIR / "unit_costs_example.yaml")
SIM_KEYS = {"foster_care_week", "social_worker_hour", "camhs_contact", "gp_visit", "ae_attendance",
            "inpatient_day", "education_psychologist_hour"}


def _ru(rows):
    return pd.DataFrame(rows, columns=["participant_id", "arm", "treat", "period_start_days", "period_end_days",
                                       "item", "quantity"])


def test_example_table_keys_sources_and_illustrative_labels():
    assert SIM_KEYS <= set(TABLE.keys())
    fc, sw = TABLE.get("foster_care_week"), TABLE.get("social_worker_hour")
    assert (fc.amount, fc.price_year, fc.illustrative) == (646, "2016/17", False) and "PSSRU" in fc.source
    assert (sw.amount, sw.price_year, sw.illustrative) == (55, "2013/14", False) and "PSSRU" in sw.source
    assert all(it.illustrative for it in TABLE.items if it.key not in {"foster_care_week", "social_worker_hour"})
    assert TABLE.price_index.illustrative


def test_inflation_uses_the_supplied_index():
    idx = TABLE.price_index.values
    assert TABLE.amount("foster_care_week", "2023/24") == pytest.approx(646 * idx["2023/24"] / idx["2016/17"])
    assert TABLE.amount("social_worker_hour", "2013/14") == 55


def test_price_year_without_index_names_the_item():
    with pytest.raises(DataError, match=r"unit cost 'foster_care_week' \(price year 2016/17\).*2030/31"):
        TABLE.amount("foster_care_week", "2030/31")
    data = yaml.safe_load((BUILTIN_DIR / "unit_costs_example.yaml").read_text())
    del data["price_index"]["values"]["2013/14"]
    t = parse_unit_costs(data)
    with pytest.raises(DataError, match="social_worker_hour.*2013/14"):
        t.amount("social_worker_hour", "2023/24")


def test_bad_unit_cost_file_names_field():
    data = yaml.safe_load((BUILTIN_DIR / "unit_costs_example.yaml").read_text())
    data["items"][0]["amount"] = -5
    with pytest.raises(ProtocolError, match="items.0.amount"):
        parse_unit_costs(data)
    data["items"][0]["amount"] = 5
    data["items"][0]["price_year"] = "2016/18"
    with pytest.raises(ProtocolError, match="price_year"):
        parse_unit_costs(data)


def test_costing_by_category_and_perspective():
    plan = load_plan("ng26-care")
    ru = _ru([("A", "intervention", 1, 0, 180, "gp_visit", 2), ("A", "intervention", 1, 0, 180, "foster_care_week", 10),
              ("B", "usual_care", 0, 0, 180, "education_psychologist_hour", 3)])
    c = cost_resource_use(ru, TABLE, plan, participants=pd.Index(["A", "B", "C"]))
    py = plan.price_year
    assert c.loc["A", "nhs"] == pytest.approx(2 * TABLE.amount("gp_visit", py))
    assert c.loc["A", "childrens_social_care"] == pytest.approx(10 * TABLE.amount("foster_care_week", py))
    assert c.loc["B", "education"] == pytest.approx(3 * TABLE.amount("education_psychologist_hour", py))
    assert c.loc["A", "education"] == 0 and (c.loc["C"] == 0).all()
    tot = perspective_totals(c, plan.perspectives)
    assert tot.loc["A", "nhs_pss"] == pytest.approx(c.loc["A", "nhs"] + c.loc["A", "childrens_social_care"])
    assert tot.loc["A", "public_sector"] == pytest.approx(c.loc["A"].sum())


def test_costs_discounted_beyond_first_year():
    share = _discount_share(np.array([0.0, 400.0, 365.25 - 100]), np.array([300.0, 700.0, 365.25 + 100]),
                            0.035, 365.25)
    np.testing.assert_allclose(share, [1.0, 1 / 1.035, 0.5 + 0.5 / 1.035])


def test_missing_quantity_is_missing_not_zero():
    plan = load_plan("ng26-care")
    ru = _ru([("A", "intervention", 1, 0, 180, "gp_visit", np.nan), ("A", "intervention", 1, 0, 180, "ae_attendance", 1)])
    c = cost_resource_use(ru, TABLE, plan)
    assert np.isnan(c.loc["A", "nhs"]) and c.loc["A", "education"] == 0


def test_intervention_cost_shares_fixed_costs_over_caseload():
    plan = load_plan("ng26-care")
    ic = plan.intervention_cost
    p = pd.DataFrame({"participant_id": ["A", "B", "C", "D"], "treat": [1, 1, 1, 0],
                      "therapist": ["T1", "T1", "T2", None], "sessions_attended": [10, 4, 8, 0]})
    out = intervention_costs(p, TABLE, plan)
    rate = TABLE.amount(ic.therapist_item, plan.price_year)
    fixed = ic.supervision_hours_per_therapist * TABLE.amount(ic.supervisor_item, plan.price_year) \
        + ic.training_hours_per_therapist * rate + ic.training_fee_per_therapist
    m = ic.minutes_per_session / 60
    assert out["A"] == pytest.approx(10 * m * rate + fixed / 2 + ic.materials_per_participant)
    assert out["C"] == pytest.approx(8 * m * rate + fixed + ic.materials_per_participant)
    assert out["D"] == 0
    log = pd.DataFrame({"participant_id": ["A", "A", "B", "C"], "therapist": ["T1", "T1", "T1", "T2"],
                        "attended": [1, 0, 1, 1], "minutes": [60.0, 60.0, 30.0, 120.0]})
    out2 = intervention_costs(p, TABLE, plan, log)
    assert out2["A"] == pytest.approx(1 * rate + fixed / 2 + ic.materials_per_participant)


def test_builtin_plans_and_round_trip():
    for name in ("ng26-care", "ng26-maltreatment"):
        plan = load_plan(name)
        assert plan.wtp.thresholds == (20_000, 30_000) and plan.discounting.costs == 0.035
        assert {p.name for p in plan.perspectives} == {"nhs_pss", "public_sector", "societal"}
        assert parse_plan(yaml.safe_load(plan.to_yaml())) == plan
        assert {20_000, 30_000} <= set(plan.wtp.grid())


def test_bad_plan_names_field(tmp_path: Path):
    data = yaml.safe_load(load_plan("ng26-care").to_yaml())
    data["primary_perspective"] = "household"
    with pytest.raises(ProtocolError, match="primary_perspective"):
        parse_plan(data)
    data = yaml.safe_load(load_plan("ng26-care").to_yaml())
    data["discounting"]["costs"] = 3.5
    with pytest.raises(ProtocolError, match="discounting.costs"):
        parse_plan(data)
    with pytest.raises(ProtocolError, match="built-in plans"):
        load_plan("ng99")


@pytest.mark.parametrize("break_it,message", [
    (lambda p, ru: ru.__setitem__("item", ru["item"].where(ru.index != 5, "speech_therapy_hour")),
     "resource item 'speech_therapy_hour'.*no unit cost"),
    (lambda p, ru: ru.__setitem__("quantity", ru["quantity"].where(ru.index != 7, -2.0)),
     "quantity of resource item '.*' must be >= 0 \\(got -2.0\\) for participant"),
    (lambda p, ru: p.__setitem__("utility_6", p["utility_6"].where(p.index != 3, 1.2)),
     "CHU9D 'utility_6' must be between 0.33 and 1 \\(got 1.2\\) for participant CARE-0003"),
])
def test_bad_input_is_named_and_nothing_is_computed(break_it, message, monkeypatch):
    p, ru, dl = make_trial(n=40, seed=5)
    break_it(p, ru)
    calls = []
    import securebase.analysis.economics.engine as eng
    monkeypatch.setattr(eng.JointCostQaly, "fit", lambda *a, **k: calls.append(1))
    with pytest.raises(DataError, match=message):
        CostEffectivenessAnalysis(load_plan("ng26-care"), n_boot=100, m=2).fit(p, ru, dl)
    assert calls == []
