"""The analysis-dataset contract shared by the store extraction, external imports and the simulator.

Every analysis in securebase reads one of three tidy pandas frames. The store's extraction
(``analysis.datasets``), a mapped CSV/Parquet/REDCap export and the trial simulator
(``analysis.design.simulate``) all produce exactly these columns, so one analysis engine serves
all three. Values are synthetic in every committed file.

participants (one row per randomised participant)
    participant_id   str    pseudonymous trial ID, e.g. "CARE-0014"
    site             str    site code
    arm              str    arm id from the protocol ("intervention" / "usual_care")
    treat            int    1 = intervention, 0 = usual care (direction: intervention minus usual care)
    age_years        float  age at randomisation, years
    age_band         str    "5-10" or "11-17"
    sex              str    "female" / "male"
    care_status      str    care trial: adopted, special_guardianship, foster, kinship, residential (else NA)
    maltreatment_type str   maltreatment trial: sexual, physical, emotional, neglect (else NA)
    randomised_on    date   date of randomisation
    therapist        str    intervention arm only: therapist/group id; NA in usual care
    sessions_offered int    intervention sessions offered (0 in usual care)
    sessions_attended int   intervention sessions attended (0 in usual care)
    complier         int    1 when sessions_attended >= the protocol's compliance threshold (0 in usual care)
    <outcome>_<m>    float  a scored outcome at visit month m (0, 6, 12): e.g. sdq_total_0, sdq_total_12,
                            rpq_total_6, kerns_mean_12, sensitivity_12, utility_12 (child HRQoL),
                            carer_utility_12; NaN when missing
    days_<m>         float  days from randomisation to the visit-m assessment (NaN when missed); days_0 = 0
    placement_end_time  float  days to the first unplanned placement ending, or to the competing event,
                            or to censoring
    placement_end_event int    0 censored, 1 unplanned placement ending, 2 competing event
                            (adoption, return home, planned move to independence)
    maltreatment_12  float  maltreatment trial: 1 if ongoing maltreatment (re-referral, child protection
                            plan, substantiated maltreatment) within 12 months, 0 if not, NaN if unknown
    exclusions_12    float  suspensions/exclusions in the 12 months (count)
    attendance_12    float  proportion of school sessions attended over the 12 months
    persistent_absence_12 float  1 when attendance_12 < 0.9

visits (one row per participant and scheduled visit; long form of the outcome columns)
    participant_id, site, arm, treat, visit_month (0, 6, 12), days (from randomisation),
    one column per scored outcome (sdq_total, rpq_total, kerns_mean, sensitivity, utility, carer_utility, ...)

resource_use (one row per participant, period and item)
    participant_id, arm, treat, period_start_days, period_end_days, item (unit-cost table key),
    quantity (float, >= 0)
"""

from __future__ import annotations

PARTICIPANT_COLUMNS: tuple[str, ...] = (
    "participant_id", "site", "arm", "treat", "age_years", "age_band", "sex", "care_status",
    "maltreatment_type", "randomised_on", "therapist", "sessions_offered", "sessions_attended", "complier",
)
VISIT_MONTHS: tuple[int, ...] = (0, 6, 12)
SCORED_OUTCOMES: tuple[str, ...] = (
    "sdq_total", "sdq_emotional", "sdq_conduct", "sdq_hyperactivity", "sdq_peer", "sdq_prosocial",
    "rpq_total", "kerns_mean", "sensitivity", "utility", "carer_utility",
    # the SDQ from the other informants: the (blinded) teacher, and the young person from 11
    "sdq_teacher_total", "sdq_teacher_emotional", "sdq_teacher_conduct", "sdq_teacher_hyperactivity",
    "sdq_teacher_peer", "sdq_teacher_prosocial",
    "sdq_self_total", "sdq_self_emotional", "sdq_self_conduct", "sdq_self_hyperactivity", "sdq_self_peer",
    "sdq_self_prosocial",
)
#: Who reported each informant's SDQ at each visit (``<family>_respondent_<month>``): carer (the carer at
#: randomisation), new_carer (a carer after a placement move), teacher, or child; empty when not reported.
RESPONDENT_FAMILIES: dict[str, str] = {"sdq": "sdq_parent", "sdq_teacher": "sdq_teacher", "sdq_self": "sdq_self"}
EVENT_COLUMNS: tuple[str, ...] = (
    "placement_end_time", "placement_end_event", "maltreatment_12", "exclusions_12", "attendance_12",
    "persistent_absence_12", "permanent_exclusion_12", "ks2_mean_12", "attainment8_12",
    "adoption_disruption",
)
RESPONDENT_COLUMNS: tuple[str, ...] = tuple(f"{f}_respondent_{m}" for f in RESPONDENT_FAMILIES for m in (0, 6, 12))
VISIT_COLUMNS: tuple[str, ...] = ("participant_id", "site", "arm", "treat", "visit_month", "days")
RESOURCE_USE_COLUMNS: tuple[str, ...] = (
    "participant_id", "arm", "treat", "period_start_days", "period_end_days", "item", "quantity",
)
ARM_INTERVENTION = "intervention"
ARM_CONTROL = "usual_care"
AGE_BANDS: tuple[str, ...] = ("5-10", "11-17")


def outcome_column(outcome: str, month: int) -> str:
    """Wide column name of a scored outcome at a visit month, e.g. ``sdq_total_12``."""
    return f"{outcome}_{month}"


def age_band(age_years: float) -> str:
    """Minimisation/subgroup age band: 5-10 or 11-17 (age in completed years)."""
    return "5-10" if int(age_years) <= 10 else "11-17"
