"""Perspectives: children's social care inside NHS+PSS, payers declared once, intervention cost charged to its payer."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml
from economics_synth import make_trial

from securebase.analysis.economics.analysis import CostEffectivenessAnalysis
from securebase.analysis.economics.costing import cost_resource_use, totals_with_intervention
from securebase.analysis.economics.plan import BUILTIN_DIR, BUILTIN_PLANS, load_plan, parse_plan
from securebase.errors import ProtocolError
from securebase.instruments.unit_costs import load_unit_costs, parse_unit_costs

TABLE = load_unit_costs(BUILTIN_DIR / "unit_costs_example.yaml")


@pytest.mark.parametrize("name", BUILTIN_PLANS)
def test_primary_total_contains_the_intervention_cost(name):
    plan = load_plan(name)
    assert plan.primary_perspective == "nhs_pss"
    primary = plan.perspective("nhs_pss")
    assert {c.value for c in primary.categories} == {"nhs", "pss", "childrens_social_care"}
    assert "personal social services" in primary.rationale and "children's social care" in primary.rationale
    costs = pd.DataFrame(0.0, index=["A", "B"], columns=[c.value for c in plan.cost_categories])
    tot = totals_with_intervention(costs, pd.Series([1000.0, 0.0], index=["A", "B"]), plan)
    # a 1,000 GBP intervention adds exactly 1,000 to the primary total, whoever the payer in the plan
    assert tot.loc["A", "nhs_pss"] == 1000.0 and tot.loc["B", "nhs_pss"] == 0.0
    assert set(plan.perspectives_with_intervention()) == {"nhs_pss", "public_sector", "societal"}
    assert (tot.loc["A"] == 1000.0).all()


def test_children_social_care_counts_in_primary_and_family_only_in_societal():
    plan = load_plan("ng26-maltreatment")
    ru = pd.DataFrame([("A", "intervention", 1, 0, 180, "foster_care_week", 2.0),
                       ("A", "intervention", 1, 0, 180, "gp_visit", 1.0),
                       ("A", "intervention", 1, 0, 180, "education_psychologist_hour", 1.0),
                       ("A", "intervention", 1, 0, 180, "family_travel_trip", 3.0)],
                      columns=["participant_id", "arm", "treat", "period_start_days", "period_end_days", "item",
                               "quantity"])
    c = cost_resource_use(ru, TABLE, plan)
    py = plan.price_year
    fc, gp = 2 * TABLE.amount("foster_care_week", py), TABLE.amount("gp_visit", py)
    ed, fam = TABLE.amount("education_psychologist_hour", py), 3 * TABLE.amount("family_travel_trip", py)
    tot = totals_with_intervention(c, pd.Series([500.0], index=["A"]), plan)
    assert tot.loc["A", "nhs_pss"] == pytest.approx(fc + gp + 500)
    assert tot.loc["A", "public_sector"] == pytest.approx(fc + gp + ed + 500)
    assert tot.loc["A", "societal"] == pytest.approx(fc + gp + ed + fam + 500)


def test_intervention_paid_by_education_is_not_in_the_primary_total():
    data = yaml.safe_load(load_plan("ng26-care").to_yaml())
    data["intervention_cost"]["category"] = "education"
    plan = parse_plan(data)
    assert plan.perspectives_with_intervention() == ["public_sector", "societal"]
    costs = pd.DataFrame(0.0, index=["A"], columns=[c.value for c in plan.cost_categories])
    tot = totals_with_intervention(costs, [800.0], plan)
    assert (tot.loc["A", "nhs_pss"], tot.loc["A", "public_sector"], tot.loc["A", "societal"]) == (0.0, 800.0, 800.0)


def test_end_to_end_primary_total_includes_intervention_maltreatment_plan():
    p, ru, dl = make_trial(n=40, seed=3, missing=0.0)
    res = CostEffectivenessAnalysis(load_plan("ng26-maltreatment"), n_boot=100, m=2).fit(p, ru, dl)
    cc = res.cost_consequence.set_index("item")
    parts = ["cost_nhs", "cost_pss", "cost_childrens_social_care", "cost_intervention"]
    assert cc.loc["cost_intervention", "intervention_mean"] > 500
    for arm in ("intervention_mean", "usual_care_mean"):
        assert cc.loc["total_nhs_pss", arm] == pytest.approx(cc.loc[parts, arm].sum())
    assert [x.name for x in res.perspectives] == ["nhs_pss", "public_sector", "societal"]


def test_cost_item_without_payer_names_the_field():
    data = yaml.safe_load((BUILTIN_DIR / "unit_costs_example.yaml").read_text())
    del data["items"][3]["category"]
    with pytest.raises(ProtocolError, match=r"field 'items\.3\.category'.*cost item 'camhs_contact' declares no "
                                            r"payer.*nhs, pss, childrens_social_care, education, family"):
        parse_unit_costs(data)


def test_plan_perspective_must_only_sum_costed_payers():
    data = yaml.safe_load(load_plan("ng26-care").to_yaml())
    data["cost_categories"] = ["nhs", "pss", "childrens_social_care", "education"]
    with pytest.raises(ProtocolError, match="perspective 'societal' sums payer.*family"):
        parse_plan(data)
    data = yaml.safe_load(load_plan("ng26-care").to_yaml())
    data["perspectives"] = [data["perspectives"][0]]
    data["intervention_cost"]["category"] = "education"
    with pytest.raises(ProtocolError, match="no perspective includes the intervention's payer 'education'"):
        parse_plan(data)
