"""Parameters of the NG26 trial simulator, each documented and defaulted.

Sources: "REF" is /work/shared/reference/README.md (the project's reference facts, with their public
sources): section 5 (simulator parameters: carer SDQ total difficulties 17-20 at baseline with SD about 7
in referred 5-16-year-olds in care; effects d 0 to 0.3; retention about 80% at 12 months; ICC 0.01-0.05
for group-delivered interventions) and section 2 (routine outcomes: post-order adoption disruption 3.2% over
12 years; re-referral within 12 months 22%; persistent absence about 10-11% of looked-after children;
at least one suspension 11.4%). Everything marked "assumption" is an illustrative value chosen for
plausibility, not a published figure: override it with the trial team's own estimates.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class OutcomeModel(BaseModel):
    """A scored outcome: baseline mean/SD, change by 6 and 12 months under usual care, baseline-follow-up
    correlation, the intervention effect in SD units (positive = benefit) and the score's range."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mean: float = Field(description="Baseline mean.")
    sd: float = Field(gt=0, description="SD at every visit.")
    change_6: float = Field(0.0, description="Mean change from baseline to 6 months under usual care.")
    change_12: float = Field(0.0, description="Mean change from baseline to 12 months under usual care.")
    rho: float = Field(0.5, ge=0, lt=1, description="Correlation of baseline with each follow-up (assumption).")
    effect_d: float = Field(0.0, description="Intervention effect at 12 months in SD units, positive = benefit.")
    higher_is_better: bool = Field(False, description="Direction of benefit.")
    lower: float = Field(description="Lowest possible score.")
    upper: float = Field(description="Highest possible score.")
    step: float = Field(1.0, gt=0, description="Scores are multiples of this (1 for a sum score).")
    loading: float = Field(0.5, ge=-0.95, le=0.95,
                           description="Loading on the common child-difficulty factor; sets the correlation "
                                       "between outcomes, loading_i x loading_j (assumption).")

    @property
    def effect_points(self) -> float:
        """Effect at 12 months on the score scale, intervention minus usual care."""
        sign = 1.0 if self.higher_is_better else -1.0
        return sign * self.effect_d * self.sd


def _default_outcomes() -> dict[str, OutcomeModel]:
    return {
        # REF section 5: carer SDQ total difficulties 17-20 (SD about 7) at baseline; d 0 to 0.3.
        "sdq_total": OutcomeModel(mean=18.5, sd=7.0, change_6=-0.5, change_12=-1.0, rho=0.5, effect_d=0.2,
                                  lower=0, upper=40, loading=0.7),
        "sdq_prosocial": OutcomeModel(mean=6.5, sd=2.3, rho=0.5, effect_d=0.1, higher_is_better=True,
                                      lower=0, upper=10, loading=-0.4),  # assumption
        "rpq_total": OutcomeModel(mean=12.0, sd=6.0, change_12=-0.5, rho=0.5, effect_d=0.2, lower=0, upper=30,
                                  loading=0.6),  # RPQ 10 items 0-3 (REF section 2, unconfirmed); assumption
        "kerns_mean": OutcomeModel(mean=2.9, sd=0.5, rho=0.45, effect_d=0.15, higher_is_better=True, lower=1,
                                   upper=4, step=1 / 15, loading=-0.4),  # 15 items, mean 1-4; assumption
        "sensitivity": OutcomeModel(mean=4.0, sd=1.2, rho=0.5, effect_d=0.3, higher_is_better=True, lower=1,
                                    upper=7, step=0.5, loading=-0.3),  # coded 1-7 rating; assumption
        "utility": OutcomeModel(mean=0.80, sd=0.15, rho=0.5, effect_d=0.05, higher_is_better=True, lower=-0.1,
                                upper=1.0, step=0.001, loading=-0.5),  # CHU9D-like; assumption
        "carer_utility": OutcomeModel(mean=0.85, sd=0.15, rho=0.6, effect_d=0.0, higher_is_better=True,
                                      lower=-0.594, upper=1.0, step=0.001, loading=-0.3),
        # EQ-5D-3L range -0.594 to 1 (REF section 2, Dolan 1997); mean and SD assumption
    }


class ResourceItem(BaseModel):
    """Resource use per 6-month period: negative-binomial quantity (mean, dispersion k: var = mu + k mu^2)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mean: float = Field(ge=0, description="Mean quantity per participant per 6-month period, usual care.")
    dispersion: float = Field(1.0, ge=0, description="Negative-binomial dispersion k (skewness).")
    rate_ratio: float = Field(1.0, gt=0, description="Intervention / usual care ratio of means.")


def _default_resources() -> dict[str, ResourceItem]:
    # all assumption: plausible magnitudes for children in care / on the edge of care
    return {
        "social_worker_hour": ResourceItem(mean=15.0, dispersion=1.0),
        "camhs_contact": ResourceItem(mean=2.5, dispersion=1.5, rate_ratio=0.9),
        "gp_visit": ResourceItem(mean=1.2, dispersion=0.8),
        "ae_attendance": ResourceItem(mean=0.25, dispersion=2.0),
        "inpatient_day": ResourceItem(mean=0.15, dispersion=8.0),
        "education_psychologist_hour": ResourceItem(mean=0.8, dispersion=2.0),
    }


class SimulationParameters(BaseModel):
    """Every parameter of :func:`securebase.analysis.design.simulate.simulate`; all overridable."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    protocol: Literal["ng26-care", "ng26-maltreatment"] = Field(
        "ng26-care", description="Which NG26 trial: children adopted or in care, or maltreated / at risk.")
    n_participants: int = Field(300, ge=4, description="Participants randomised.")
    allocation_ratio: float = Field(1.0, gt=0, description="Intervention : usual care (n_int / n_ctl).")
    n_sites: int = Field(8, ge=1, description="Sites (local authorities / CAMHS teams); equal recruitment.")
    recruitment_days: int = Field(540, ge=1, description="Recruitment period in days (assumption: 18 months).")
    start_date: dt.date = Field(dt.date(2027, 1, 4), description="First possible randomisation date.")
    age_min: float = Field(5.0, description="Youngest age at randomisation (NG26: over 5).")
    age_max: float = Field(17.0, description="Oldest completed year of age (NG26: young people to 17).")
    prob_female: float = Field(0.5, ge=0, le=1, description="Proportion female (assumption).")
    care_status_probs: dict[str, float] = Field(
        default_factory=lambda: {"foster": 0.45, "adopted": 0.30, "special_guardianship": 0.10, "kinship": 0.10,
                                 "residential": 0.05},
        description="Care trial: care status mix (assumption).")
    maltreatment_type_probs: dict[str, float] = Field(
        default_factory=lambda: {"neglect": 0.50, "emotional": 0.30, "physical": 0.12, "sexual": 0.08},
        description="Maltreatment trial: main maltreatment type mix (assumption).")
    outcomes: dict[str, OutcomeModel] = Field(default_factory=_default_outcomes,
                                              description="Scored outcomes (see OutcomeModel).")
    sdq_subscale_sd: float = Field(1.5, ge=0, description="SD of each difficulty subscale around a quarter "
                                   "of the total (assumption); the four sum to the total.")
    effect_fraction_6: float = Field(0.5, description="Share of the 12-month effect already present at 6 months.")
    rho_6_12: float = Field(0.5, ge=0, lt=1, description="Correlation of the 6- and 12-month innovations.")
    dose_response: bool = Field(False, description="Effect proportional to the share of sessions attended "
                                "(scaled so the intention-to-treat effect is unchanged).")
    site_icc: float = Field(0.02, ge=0, lt=1, description="Share of follow-up residual variance between sites "
                            "(assumption).")
    therapist_icc: float = Field(0.03, ge=0, lt=1, description="Share of follow-up residual variance between "
                                 "therapists, intervention arm only (REF section 5: 0.01-0.05).")
    therapists_per_site: int = Field(2, ge=1, description="Therapists (groups) per site.")
    round_scores: bool = Field(True, description="Round to the instrument's step and clip to its range; "
                               "False gives unrounded normal scores (for checks against closed forms).")
    sessions_offered: int = Field(12, ge=1, description="Care trial: sessions offered (assumption).")
    sessions_by_type: dict[str, int] = Field(
        default_factory=lambda: {"sexual": 16, "physical": 12, "emotional": 12, "neglect": 10},
        description="Maltreatment trial: sessions offered per maltreatment type; the intervention's "
                    "components differ by type (ARCHITECTURE.md; numbers assumption).")
    attendance_mean: float = Field(0.7, gt=0, lt=1, description="Mean share of sessions attended (assumption).")
    attendance_concentration: float = Field(4.0, gt=0, description="Beta concentration of attendance share.")
    compliance_fraction: float = Field(2 / 3, gt=0, le=1, description="Complier: attended >= ceil(fraction x "
                                       "offered) sessions (assumption for the protocol's threshold).")
    follow_up_days: float = Field(365.0, gt=0, description="Administrative censoring of time-to-event outcomes.")
    placement_hazard: dict[str, float] = Field(
        default_factory=lambda: {"foster": 0.25, "kinship": 0.15, "residential": 0.35, "special_guardianship": 0.05,
                                 "adopted": 0.003, "neglect": 0.10, "emotional": 0.08, "physical": 0.10,
                                 "sexual": 0.10},
        description="Yearly hazard of an unplanned placement ending (maltreatment trial: entry to care or an "
                    "unplanned move) by care status / maltreatment type. Adopted 0.003 from post-order "
                    "disruption 3.2% over 12 years (REF section 2); others assumption.")
    competing_hazard: dict[str, float] = Field(
        default_factory=lambda: {"foster": 0.15, "kinship": 0.10, "residential": 0.20, "special_guardianship": 0.02,
                                 "adopted": 0.01, "neglect": 0.05, "emotional": 0.05, "physical": 0.05,
                                 "sexual": 0.05},
        description="Yearly hazard of the competing event (adoption, return home, planned move; assumption).")
    placement_hr: float = Field(0.8, gt=0, description="Intervention hazard ratio for unplanned endings.")
    placement_sdq_log_hr: float = Field(0.2, description="Log hazard ratio per SD of baseline SDQ (assumption).")
    maltreatment_prob: float = Field(0.22, gt=0, lt=1, description="Maltreatment trial: ongoing maltreatment "
                                     "within 12 months under usual care (REF section 2: 22% re-referral).")
    maltreatment_or: float = Field(0.8, gt=0, description="Intervention odds ratio for ongoing maltreatment.")
    exclusions_mean: float = Field(0.137, ge=0, description="Mean suspensions/exclusions in 12 months; with "
                                   "dispersion 2, P(at least one) = 11.4% (REF section 2).")
    exclusions_dispersion: float = Field(2.0, ge=0, description="Negative-binomial dispersion of exclusions.")
    exclusions_rate_ratio: float = Field(0.85, gt=0, description="Intervention rate ratio for exclusions.")
    attendance_school_mean: float = Field(0.93, gt=0, lt=1, description="Mean share of school sessions attended.")
    attendance_school_concentration: float = Field(121.0, gt=0, description="Beta concentration; with mean "
                                                   "0.93 gives 10.5% persistent absence (REF section 2).")
    attendance_logit_effect: float = Field(0.1, description="Intervention effect on the logit of mean attendance.")
    retention_6: float = Field(0.88, gt=0, le=1, description="Share with the 6-month assessment (assumption).")
    retention_12: float = Field(0.80, gt=0, le=1, description="Share with the 12-month assessment (REF "
                                "section 5: about 80%).")
    missing_mechanism: Literal["none", "MCAR", "MAR", "MNAR"] = Field(
        "MAR", description="Dropout: none; MCAR; MAR (depends on baseline SDQ and arm); MNAR (depends on the "
                           "unobserved 12-month SDQ).")
    missing_or_per_sd: float = Field(1.5, gt=0, description="Odds ratio of dropout per SD of baseline SDQ "
                                     "(MAR) or 12-month SDQ (MNAR).")
    missing_or_intervention: float = Field(0.9, gt=0, description="Odds ratio of dropout, intervention vs "
                                           "usual care (MAR and MNAR).")
    routine_missing_prob: float = Field(0.05, ge=0, lt=1, description="Share with no education or children's "
                                        "social care record (exclusions, attendance, maltreatment).")
    sdq_item_missing_prob: float = Field(0.02, ge=0, lt=1, description="Item non-response on the SDQ when "
                                         "item-level responses are simulated; subscales prorated.")
    utility_min_age: float = Field(7.0, description="Child utility missing below this age (CHU9D is for 7-17, "
                                   "REF section 2).")
    resources: dict[str, ResourceItem] = Field(default_factory=_default_resources,
                                               description="Resource-use items (unit-cost keys) per 6-month period.")
    frailty_sd: float = Field(0.5, ge=0, description="SD of a log-normal participant frailty shared by all "
                              "resource items (makes costs skewed and correlated).")
    intervention_resource_item: str = Field("intervention_session", description="Resource-use key under which "
                                            "attended sessions are recorded ('' to leave them out).")

    @model_validator(mode="after")
    def _check(self) -> SimulationParameters:
        if "sdq_total" not in self.outcomes:
            raise ValueError("outcomes must include sdq_total")
        for name, probs in (("care_status_probs", self.care_status_probs),
                            ("maltreatment_type_probs", self.maltreatment_type_probs)):
            if abs(sum(probs.values()) - 1) > 1e-9 or min(probs.values()) < 0:
                raise ValueError(f"{name} must be non-negative and sum to 1 (got {probs})")
        if self.retention_12 > self.retention_6:
            raise ValueError(f"retention_12 ({self.retention_12}) cannot exceed retention_6 ({self.retention_6})")
        if self.age_max < self.age_min:
            raise ValueError("age_max must be at least age_min")
        return self

    @property
    def categories(self) -> dict[str, float]:
        return self.care_status_probs if self.protocol == "ng26-care" else self.maltreatment_type_probs

    @property
    def id_prefix(self) -> str:
        return "CARE" if self.protocol == "ng26-care" else "MALT"
