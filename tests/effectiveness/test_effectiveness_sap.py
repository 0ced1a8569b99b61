"""The statistical analysis plan as data: built-in plans load, render and round-trip; the validator
refuses plans that omit the baseline or a minimisation factor, naming file, line and field."""

from __future__ import annotations

import pytest
import yaml

from securebase.analysis.sap import BUILTIN, load_plan, plan_from_text
from securebase.analysis.sap.models import Plan
from securebase.errors import ProtocolError

MINIMAL = """\
plan_schema: 1
id: test-plan
trial: care
title: Test plan
version: "0.1"
minimisation_factors: [site, age_band, care_status]
analysis_sets:
  - {id: itt, kind: intention_to_treat}
outcomes:
  - id: behaviour
    label: SDQ at 12 months
    role: primary
    estimand:
      population: children in care
      variable: sdq_total_12
      summary_measure: mean difference
    model:
      type: ancova
      covariates: [sdq_total_0, site, age_band, care_status]
multiplicity: {family: [behaviour], method: holm}
"""


@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_plans_load_render_and_round_trip(name):
    plan = load_plan(name)
    assert plan.id == name
    text = plan.summary("markdown")
    assert "Summary measure" in text and "Multiplicity" in text and plan.minimisation_factors[0] in text
    again = plan_from_text(yaml.safe_dump(plan.model_dump(mode="json")), "roundtrip")
    assert again == plan


def test_builtin_plans_carry_estimands_and_required_factors():
    care, malt = load_plan("ng26-care"), load_plan("ng26-maltreatment")
    assert care.minimisation_factors == ["site", "age_band", "care_status"]
    assert malt.minimisation_factors == ["site", "age_band", "maltreatment_type"]
    strategies = {ie.strategy for o in care.outcomes for ie in o.estimand.intercurrent_events}
    assert {"treatment_policy", "hypothetical", "while_on_treatment"} <= strategies
    assert care.multiplicity.method == "holm" and malt.multiplicity.method == "fixed_sequence"
    kinds = {s.kind for s in care.outcome("behaviour").sensitivity}
    assert kinds == {"model", "analysis_set", "multiple_imputation", "tipping_point"}


def test_minimal_plan_is_valid():
    assert isinstance(plan_from_text(MINIMAL, "minimal.yaml"), Plan)


def test_plan_missing_minimisation_factor_is_refused_with_file_line_field():
    text = MINIMAL.replace("covariates: [sdq_total_0, site, age_band, care_status]", "covariates: [sdq_total_0, site]")
    with pytest.raises(ProtocolError) as exc:
        plan_from_text(text, "plan.yaml")
    err = exc.value
    assert err.file == "plan.yaml" and err.field == "outcomes[0].model.covariates" and err.line == 19
    assert "age_band" in err.message and "care_status" in err.message and "minimisation" in err.message


def test_plan_missing_baseline_is_refused():
    text = MINIMAL.replace("covariates: [sdq_total_0, site, age_band, care_status]",
                           "covariates: [site, age_band, care_status]")
    with pytest.raises(ProtocolError, match="baseline value 'sdq_total_0'") as exc:
        plan_from_text(text, "plan.yaml")
    assert exc.value.line == 19


def test_cox_strata_count_as_adjustment_and_sensitivity_models_are_checked():
    text = MINIMAL.replace("multiplicity:", """\
  - id: placement
    label: placement
    role: secondary
    estimand: {population: p, variable: placement_end_time, summary_measure: hazard ratio}
    model: {type: cox, event: placement_end_event, covariates: [age_band], strata: [site, care_status]}
    sensitivity:
      - id: s1
        label: unadjusted
        kind: model
        model: {type: cox, event: placement_end_event, covariates: [age_band]}
multiplicity:""")
    with pytest.raises(ProtocolError) as exc:
        plan_from_text(text, "plan.yaml")
    assert exc.value.field == "outcomes[1].sensitivity[0].model.covariates"


@pytest.mark.parametrize("old,new,expect", [
    ("variable: sdq_total_12", "variable: sdq_totl_12", "did you mean 'sdq_total_12'"),
    ("summary_measure: mean difference", "summary_measure: hazard ratio", "estimates mean difference"),
    ("family: [behaviour]", "family: [behavior]", "does not define"),
    ("type: ancova", "type: anova", "ancova"),
    ("      population: children in care\n", "      population: children in care\n      colour: red\n", "unknown field"),
])
def test_plan_errors_name_the_problem(old, new, expect):
    with pytest.raises(ProtocolError, match=expect) as exc:
        plan_from_text(MINIMAL.replace(old, new), "plan.yaml")
    assert exc.value.line is not None and exc.value.file == "plan.yaml"


def test_unknown_plan_name_is_a_clear_error():
    with pytest.raises(ProtocolError, match="built-in plans"):
        load_plan("ng26-nonexistent")
