"""A trial's safety plan as data: expected adverse events, seriousness criteria, reporting clocks,
deviation categories and the questionnaire answers that trigger a safeguarding concern.

Defaults suit a psychosocial trial with children in care or maltreated children; a protocol's top-level
``safety:`` block overrides them. Seriousness follows the HRA definition for studies other than CTIMPs
(death, life-threatening, hospitalisation, persistent disability) with criteria that matter for these
children (a suicide attempt, a missing episode over 24 hours, an emergency placement move, police
custody) added as "other important events".
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Labelled(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    label: str


class Trigger(_Strict):
    """A questionnaire answer that prompts the person entering it to raise a safeguarding concern."""

    instrument: str
    item: str
    values: tuple[str, ...] = Field(description="Answers (as stored, e.g. '2') that are a trigger")
    label: str = ""


DEFAULT_EXPECTED = (
    Labelled(id="placement_breakdown", label="Placement breakdown (unplanned ending)"),
    Labelled(id="self_harm", label="Self-harm"),
    Labelled(id="missing_episode", label="Missing from placement or home"),
    Labelled(id="police_contact", label="Police contact (arrest, caution or custody)"),
    Labelled(id="hospital_admission", label="Hospital admission (physical or mental health)"),
    Labelled(id="school_exclusion", label="Permanent exclusion from school"),
    Labelled(id="allegation_against_carer", label="Allegation of harm against a carer"),
)
DEFAULT_SERIOUSNESS = (
    Labelled(id="death", label="Death"),
    Labelled(id="life_threatening", label="Life-threatening (including a suicide attempt)"),
    Labelled(id="hospitalisation", label="Admission to hospital or an inpatient mental-health unit"),
    Labelled(id="disability", label="Persistent or significant disability or incapacity"),
    Labelled(id="missing_over_24h", label="Missing for more than 24 hours"),
    Labelled(id="emergency_placement_move", label="Emergency move of placement or removal into care"),
    Labelled(id="police_custody", label="Arrest or police custody"),
    Labelled(id="other_important", label="Other important event in the chief investigator's judgement"),
)
DEFAULT_DEVIATION_CATEGORIES = (
    Labelled(id="eligibility", label="Participant not eligible"),
    Labelled(id="consent", label="Consent or assent"),
    Labelled(id="randomisation", label="Randomisation"),
    Labelled(id="intervention_delivery", label="Delivery of the trial sessions"),
    Labelled(id="visit_window", label="Assessment outside its window"),
    Labelled(id="blinding", label="Blinding (an assessor unblinded)"),
    Labelled(id="data_protection", label="Confidentiality or data protection"),
    Labelled(id="safeguarding_procedure", label="Safeguarding procedure not followed"),
    Labelled(id="other", label="Other"),
)


class SafetyPlan(_Strict):
    expected_events: tuple[Labelled, ...] = DEFAULT_EXPECTED
    seriousness_criteria: tuple[Labelled, ...] = DEFAULT_SERIOUSNESS
    deviation_categories: tuple[Labelled, ...] = DEFAULT_DEVIATION_CATEGORIES
    sae_report_days: Annotated[int, Field(ge=1, description="Days from awareness to report a related, unexpected "
                                                            "serious adverse event to the ethics committee")] = 15
    serious_breach_days: Annotated[int, Field(ge=1, description="Days from awareness to report a serious breach")] = 7
    safeguarding_sign_off_hours: Annotated[int, Field(ge=1, description="Hours from raising by which the "
                                                                        "safeguarding lead signs a concern off")] = 24
    blinding_guess_visit: str = Field("m12", description="Visit at which assessors guess the allocation")
    triggers: tuple[Trigger, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> SafetyPlan:
        for name in ("expected_events", "seriousness_criteria", "deviation_categories"):
            ids = [x.id for x in getattr(self, name)]
            if len(set(ids)) != len(ids):
                raise ValueError(f"safety.{name} ids must be unique (got {ids})")
        return self

    def label(self, name: str, id_: str) -> str:
        return next((x.label for x in getattr(self, name) if x.id == id_), id_)


__all__ = ["Labelled", "SafetyPlan", "Trigger"]
