"""Trial protocols as data: pydantic models for a whole trial definition.

A protocol is written in YAML (see ``builtin/``) and validated by these models. Anything the
analysis issues fill (statistical and health-economics plans) is referenced by name from the
``analysis_plans`` slot, so a protocol stays readable on its own.
"""

from __future__ import annotations

import re
from datetime import date
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from securebase.protocol.derivations import Derivations
from securebase.protocol.safety import SafetyPlan


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Respondent(str, Enum):
    carer = "carer"
    child = "child"
    teacher = "teacher"
    blinded_coder = "blinded_coder"
    administrative_record = "administrative_record"
    practitioner = "practitioner"


CARE_STATUSES = ("adopted", "special_guardianship", "foster", "kinship", "residential")
MALTREATMENT_TYPES = ("sexual", "physical", "emotional", "neglect")
MALTREATMENT_STATUSES = ("maltreated", "at_risk")


class Registration(Strict):
    registry: str = Field("ISRCTN", description="Registry name")
    number: str | None = Field(None, description="Registration number once assigned")
    nice_recommendation: str = "NG26/2"
    sponsor: str | None = None


class Component(Strict):
    """An intervention component delivered for one maltreatment type to a target."""

    maltreatment_type: Literal["sexual", "physical", "emotional", "neglect", "any"]
    target: Literal["child", "parent", "both"]
    description: str


class Arm(Strict):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    name: str
    ratio: Annotated[int, Field(ge=1, le=10)] = 1
    intervention: bool = False
    description: str = ""
    target: Literal["carer", "carer_and_child", "child", "parent", "both"] | None = None
    components: tuple[Component, ...] = ()
    compliance_threshold_sessions: int | None = Field(
        None, ge=0, description="Sessions attended for a participant to count as a complier (CACE)")


class Criterion(Strict):
    """One eligibility criterion evaluated against the screening answers.

    ``question`` is how the criterion is asked on a screening form: a yes/no question phrased so that
    "yes" always means the criterion is met (the child may take part as far as this criterion goes), never
    a double negative. A boolean criterion with ``expected: false`` (an exclusion such as "placement ending
    planned") is asked the positive way round and the answer is mapped back to the stored field by
    :func:`securebase.protocol.eligibility.answers_from_met`.
    """

    id: str
    label: str
    question: str | None = Field(None, description="Yes/no question whose 'yes' means the criterion is met")
    kind: Literal["age_range", "in_set", "any_in_set", "boolean"]
    field: str
    min_years: float | None = None
    max_years_exclusive: float | None = None
    allowed: tuple[str, ...] = ()
    expected: bool | None = None
    exclusion: bool = False

    @model_validator(mode="after")
    def _check_kind(self) -> Criterion:
        if self.kind == "age_range" and self.min_years is None and self.max_years_exclusive is None:
            raise ValueError("an age_range criterion needs min_years and/or max_years_exclusive")
        if self.kind in ("in_set", "any_in_set") and not self.allowed:
            raise ValueError(f"a {self.kind} criterion needs a non-empty 'allowed' list")
        if self.kind == "boolean" and self.expected is None:
            raise ValueError("a boolean criterion needs 'expected: true' or 'expected: false'")
        if self.question is not None:
            q = self.question.strip()
            if not q.endswith("?"):
                raise ValueError(f"criterion '{self.id}': question must be a yes/no question ending in '?' (got {q!r})")
            if re.search(r"\b(no|not|never|none)\b", q, re.IGNORECASE):
                raise ValueError(f"criterion '{self.id}': question must be phrased positively so that 'yes' means "
                                 f"eligible, without 'no', 'not', 'never' or 'none' (got {q!r})")
        return self

    @property
    def asked(self) -> str:
        """The question shown to the person screening (the label turned into a question when none is set)."""
        return self.question or f"Is this met: {self.label}?"


class Factor(Strict):
    name: str
    label: str = ""
    levels: tuple[str, ...] = Field(default=(), description="Empty for site: levels are the trial's sites")
    weight: Annotated[float, Field(gt=0)] = 1.0


class Stratification(Strict):
    method: Literal["minimisation", "permuted_blocks", "simple"]
    factors: tuple[Factor, ...] = ()
    probability: Annotated[float, Field(ge=0.5, le=1.0)] = 0.8
    imbalance: Literal["range", "variance", "marginal"] = "range"
    initial_random: Annotated[int, Field(ge=0)] = 0
    block_sizes: tuple[int, ...] = ()
    rationale: str = ""


class Visit(Strict):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    label: str
    month: Annotated[int, Field(ge=0, le=120)]
    window_before_days: Annotated[int, Field(ge=0)] = 28
    window_after_days: Annotated[int, Field(ge=0)] = 28


class Assessment(Strict):
    visit: str
    instrument: str
    respondent: Respondent
    optional: bool = False
    note: str = ""


class EventType(Strict):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    label: str
    category: Literal["outcome", "safety", "status"]
    competing: tuple[str, ...] = Field(default=(), description="Event ids that compete with this one")


class Outcome(Strict):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    domain: Literal[
        "attachment", "parental_sensitivity", "placement_disruption", "educational_performance",
        "behavioural_problems", "ongoing_maltreatment", "quality_of_life", "resource_use", "qualitative",
    ]
    label: str
    measure: str = Field(description="Instrument or routine record name (see the instruments registry)")
    scale: str | None = None
    respondent: Respondent
    timepoint: str = Field(description="Visit id, or 'follow_up' for time-to-event over the whole follow-up")
    variable: str = Field(description="Column in the analysis dataset")
    summary_measure: str = ""


class Outcomes(Strict):
    primary: tuple[Outcome, ...]
    secondary: tuple[Outcome, ...] = ()

    @property
    def all(self) -> tuple[Outcome, ...]:
        return self.primary + self.secondary


class Site(Strict):
    code: Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9_-]*$")]
    name: str
    kind: str = "local_authority"


class AnalysisPlans(Strict):
    statistical: str | None = Field(None, description="Name or file of the statistical analysis plan")
    health_economics: str | None = Field(None, description="Name or file of the health-economics plan")


class Protocol(Strict):
    """A whole trial protocol."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]
    title: str
    short_title: str = ""
    version: str
    version_date: date | None = None
    participant_prefix: Annotated[str, Field(pattern=r"^[A-Z]{2,6}$")]
    registration: Registration = Registration()
    population: str
    target_sample_size: Annotated[int, Field(ge=2)]
    recruitment_months: Annotated[int, Field(ge=1)] = 18
    arms: tuple[Arm, ...]
    eligibility: tuple[Criterion, ...]
    stratification: Stratification
    sites: tuple[Site, ...] = ()
    visits: tuple[Visit, ...]
    assessments: tuple[Assessment, ...]
    events: tuple[EventType, ...]
    outcomes: Outcomes
    qualitative_interview: bool = False
    analysis_plans: AnalysisPlans = AnalysisPlans()
    safety: SafetyPlan = SafetyPlan()
    derivations: Derivations | None = None

    @field_validator("arms")
    @classmethod
    def _two_arms(cls, arms: tuple[Arm, ...]) -> tuple[Arm, ...]:
        ids = [a.id for a in arms]
        if len(arms) < 2:
            raise ValueError(f"a trial needs at least two arms (got {len(arms)})")
        if len(set(ids)) != len(ids):
            raise ValueError(f"arm ids must be unique (got {ids})")
        return arms

    @model_validator(mode="after")
    def _cross_references(self) -> Protocol:
        visit_ids = {v.id for v in self.visits}
        if len(visit_ids) != len(self.visits):
            raise ValueError("visit ids must be unique")
        months = {v.month for v in self.visits}
        for needed in (0, 6, 12):
            if needed not in months:
                raise ValueError(f"the visit schedule needs a visit at month {needed} (has months {sorted(months)})")
        for i, a in enumerate(self.assessments):
            if a.visit not in visit_ids:
                raise ValueError(f"assessments[{i}] names visit '{a.visit}', which is not in visits {sorted(visit_ids)}")
        event_ids = {e.id for e in self.events}
        for e in self.events:
            for c in e.competing:
                if c not in event_ids:
                    raise ValueError(f"event '{e.id}' lists competing event '{c}', which is not defined")
        outcome_ids = [o.id for o in self.outcomes.all]
        if len(set(outcome_ids)) != len(outcome_ids):
            raise ValueError("outcome ids must be unique across primary and secondary")
        for o in self.outcomes.all:
            if o.timepoint != "follow_up" and o.timepoint not in visit_ids:
                raise ValueError(f"outcome '{o.id}' has timepoint '{o.timepoint}', not a visit id or 'follow_up'")
        if self.derivations is not None and self.derivations.ongoing_maltreatment is not None:
            om = self.derivations.ongoing_maltreatment
            unknown = [e for e in (*om.events, *om.composite_intercurrent) if e not in event_ids]
            if unknown:
                raise ValueError(f"derivations.ongoing_maltreatment names events {unknown}, which are not in events")
        if self.derivations is not None and self.derivations.placement_disruption is not None:
            unknown = [e for e in self.derivations.placement_disruption.competing_rec.values() if e not in event_ids]
            if unknown:
                raise ValueError(f"derivations.placement_disruption.competing_rec names events {unknown}, not in events")
        if sum(a.intervention for a in self.arms) < 1:
            raise ValueError("one arm must be marked 'intervention: true'")
        if self.stratification.method == "permuted_blocks":
            total = sum(a.ratio for a in self.arms)
            bad = [b for b in self.stratification.block_sizes if b % total]
            if not self.stratification.block_sizes or bad:
                raise ValueError(
                    f"block_sizes must be multiples of the allocation-ratio sum {total} (got {list(self.stratification.block_sizes)})")
        return self

    # convenience -------------------------------------------------------------------------
    def arm(self, arm_id: str) -> Arm:
        for a in self.arms:
            if a.id == arm_id:
                return a
        raise KeyError(arm_id)

    def visit(self, visit_id: str) -> Visit:
        for v in self.visits:
            if v.id == visit_id:
                return v
        raise KeyError(visit_id)

    @property
    def intervention_arm(self) -> Arm:
        return next(a for a in self.arms if a.intervention)

    @property
    def factor_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.stratification.factors)

    def assessments_at(self, visit_id: str) -> tuple[Assessment, ...]:
        return tuple(a for a in self.assessments if a.visit == visit_id)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_defaults=False)
