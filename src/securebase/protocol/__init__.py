"""Trial protocols as data (pure domain: no database, web or Dask imports)."""

from securebase.protocol.eligibility import (
    CriterionAnswer,
    EligibilityResult,
    age_in_years,
    answers_from_met,
    check_eligibility,
    met_field,
    summarise,
    unanswered,
)
from securebase.protocol.loader import (
    builtin_names,
    load_protocol,
    load_protocol_file,
    protocol_from_yaml_text,
)
from securebase.protocol.models import (
    CARE_STATUSES,
    MALTREATMENT_TYPES,
    Arm,
    Assessment,
    Criterion,
    EventType,
    Factor,
    Outcome,
    Protocol,
    Respondent,
    Stratification,
    Visit,
)
from securebase.protocol.schedule import schedule_table, visit_windows

__all__ = [
    "CARE_STATUSES", "MALTREATMENT_TYPES", "Arm", "Assessment", "Criterion", "CriterionAnswer", "EligibilityResult", "EventType",
    "Factor", "Outcome", "Protocol", "Respondent", "Stratification", "Visit", "age_in_years", "answers_from_met", "builtin_names",
    "check_eligibility", "load_protocol", "load_protocol_file", "met_field", "protocol_from_yaml_text", "schedule_table",
    "summarise", "unanswered", "visit_windows",
]
