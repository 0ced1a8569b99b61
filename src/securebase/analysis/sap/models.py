"""The statistical analysis plan as data: pydantic models of a plan file (YAML).

A plan lists, for each outcome, the estimand in the ICH E9(R1) sense (population, variable, treatment
condition, intercurrent events each with its strategy, and the population-level summary measure),
the analysis set, the model with its covariates, subgroups with interaction tests and sensitivity
analyses; and for the trial the minimisation factors, the multiplicity family and method.
ICH E9(R1) addendum on estimands and sensitivity analysis (EMA/CHMP/ICH/436221/2017), section A.3.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PLAN_SCHEMA_VERSION = 1

Strategy = Literal["treatment_policy", "hypothetical", "composite", "while_on_treatment", "principal_stratum"]
IntercurrentKind = Literal["placement_move", "return_home", "adoption", "stopping_intervention",
                           "entry_to_care", "withdrawal", "other"]
SummaryMeasure = Literal["mean difference", "odds ratio", "risk difference", "hazard ratio", "rate ratio",
                         "complier average causal effect"]
ModelType = Literal["ancova", "mmrm", "logistic", "cox", "negative_binomial", "poisson", "partially_nested", "cace"]

#: which summary measure each model estimates (its primary contrast)
MODEL_MEASURE: dict[str, tuple[str, ...]] = {
    "ancova": ("mean difference",), "mmrm": ("mean difference",), "partially_nested": ("mean difference",),
    "logistic": ("odds ratio", "risk difference"), "cox": ("hazard ratio",),
    "negative_binomial": ("rate ratio",), "poisson": ("rate ratio",), "cace": ("complier average causal effect",),
}
#: models that support treatment-by-subgroup interaction tests
SUBGROUP_MODELS = ("ancova", "logistic", "negative_binomial", "poisson", "cox")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IntercurrentEvent(_Strict):
    """An event after randomisation that changes the interpretation or existence of the outcome."""

    event: IntercurrentKind
    strategy: Strategy
    description: str = ""


class Estimand(_Strict):
    population: str
    variable: str = Field(description="analysis-dataset column, e.g. sdq_total_12 (analysis/schema.py)")
    treatment: str = "attachment-focused intervention versus usual care"
    intercurrent_events: list[IntercurrentEvent] = Field(default_factory=list)
    summary_measure: SummaryMeasure


class AnalysisSet(_Strict):
    """Who is analysed. Per protocol keeps usual care and the intervention participants meeting
    ``restrict_column == restrict_value``; the CACE set is everyone (the model handles compliance)."""

    id: str
    kind: Literal["intention_to_treat", "per_protocol", "complier_average_causal_effect"]
    description: str = ""
    restrict_column: str | None = None
    restrict_value: float | int | str | None = None


class Model(_Strict):
    type: ModelType
    covariates: list[str] = Field(default_factory=list)
    baseline: str | None = Field(None, description="MMRM: baseline value entering with a slope per visit")
    strata: list[str] = Field(default_factory=list, description="Cox: stratification columns")
    visits: list[int] = Field(default_factory=lambda: [6, 12], description="MMRM: follow-up months")
    event: str | None = Field(None, description="Cox: event column (0 censored, 1 event, 2 competing)")
    event_code: int = 1
    horizon: float | None = Field(None, description="Cox: days at which curves are summarised")
    exposure: str | None = Field(None, description="count models: exposure column (log offset)")
    therapist: str = "therapist"
    received: str = "complier"


class Imputation(_Strict):
    impute: list[str]
    predictors: list[str] = Field(default_factory=list)
    m: int = 50
    iterations: int = 10
    method: Literal["norm", "pmm"] = "norm"
    seed: int = 20261126


class Sensitivity(_Strict):
    """A sensitivity analysis: another model, another analysis set, multiple imputation under MAR, or
    a delta-adjusted (MNAR) tipping-point analysis."""

    id: str
    label: str
    kind: Literal["model", "analysis_set", "multiple_imputation", "tipping_point"]
    variable: str | None = Field(None, description="Another column for the same estimand, e.g. the outcome "
                                 "reported by the blinded teacher (sdq_teacher_total_12); default: the estimand's")
    model: Model | None = None
    analysis_set: str | None = None
    imputation: Imputation | None = None
    deltas: list[float] = Field(default_factory=list)
    shift_arm: Literal["intervention", "usual_care"] = "intervention"


class Outcome(_Strict):
    id: str
    label: str
    role: Literal["primary", "secondary"]
    estimand: Estimand
    analysis_set: str = "itt"
    model: Model
    subgroups: list[str] = Field(default_factory=list, description="ids of the plan's subgroups")
    sensitivity: list[Sensitivity] = Field(default_factory=list)


class Subgroup(_Strict):
    id: str
    variable: str
    label: str
    levels: list[str] = Field(default_factory=list)


class SparseData(_Strict):
    """The pre-specified rule for sparse data (declared in the plan before the data are seen).

    A level of a factor covariate (or of a subgroup) is *sparse* for an outcome when, among the
    participants analysed, it has fewer than ``min_events`` events, or fewer than ``min_events``
    participants without the event (binary outcomes), or (subgroups) fewer than ``min_per_arm``
    participants in either arm. Events: a 1 for a binary outcome, a count above 0 for a count
    outcome, the event code for time to event; a continuous outcome has no events, so only the
    subgroup rule applies to it. The engine first merges each sparse level into the level ``merge``
    names for it; if a level is still sparse it applies ``otherwise``:

    - ``drop_covariate``: fit the model without that covariate (a subgroup: the subgroup analysis is
      reported as not estimable); the result records the departure;
    - ``not_analysed``: report the analysis as not analysed, with the rule that excluded it.

    A stratum of a stratified Cox model with no events contributes nothing to the partial likelihood
    and is kept; the result says how many there were.
    """

    min_events: int = Field(1, ge=1)
    min_per_arm: int = Field(1, ge=1, description="subgroups: fewest participants per arm in each level")
    merge: dict[str, dict[str, str]] = Field(default_factory=dict,
                                             description='variable -> {sparse level: the level it joins}; '
                                                         '"*" for any sparse level of that variable; the target "(largest)" is the '
                                                         'largest level that is not sparse')
    otherwise: Literal["drop_covariate", "not_analysed"] = "not_analysed"
    rationale: str = ""


class Multiplicity(_Strict):
    family: list[str] = Field(description="outcome ids tested together (fixed sequence: in testing order)")
    method: Literal["holm", "hochberg", "fixed_sequence", "bonferroni", "none"]
    alpha: float = 0.05
    rationale: str = ""


class Plan(_Strict):
    plan_schema: int = PLAN_SCHEMA_VERSION
    id: str
    trial: Literal["care", "maltreatment"] | str
    title: str
    version: str
    date: str = ""
    minimisation_factors: list[str]
    confidence_level: float = 0.95
    custom_variables: list[str] = Field(default_factory=list, description="extra dataset columns the plan may use")
    analysis_sets: list[AnalysisSet]
    subgroups: list[Subgroup] = Field(default_factory=list)
    outcomes: list[Outcome]
    multiplicity: Multiplicity
    sparse_data: SparseData = Field(default_factory=SparseData)

    def outcome(self, outcome_id: str) -> Outcome:
        for o in self.outcomes:
            if o.id == outcome_id:
                return o
        raise KeyError(outcome_id)

    def analysis_set(self, set_id: str) -> AnalysisSet:
        for s in self.analysis_sets:
            if s.id == set_id:
                return s
        raise KeyError(set_id)

    def summary(self, fmt: str = "text") -> str:
        """The plan as readable text ("text") or Markdown ("markdown")."""
        from securebase.analysis.sap.render import render_plan

        return render_plan(self, fmt)
