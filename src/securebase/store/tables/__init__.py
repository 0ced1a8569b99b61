"""SQLAlchemy tables of the store. Every module here shares :data:`Base` (one metadata)."""

from securebase.store.tables.audit import AuditHead, AuditRecord
from securebase.store.tables.base import Base, utcnow
from securebase.store.tables.contacts import UserContact
from securebase.store.tables.core import (
    Allocation,
    ApiToken,
    Consent,
    DataQuery,
    Event,
    Identifier,
    InterventionSession,
    Participant,
    RandomisationListEntry,
    ResourceUse,
    Response,
    Score,
    ScreeningRecord,
    Site,
    Trial,
    UnblindingRequest,
    User,
    UserRole,
    Visit,
    Withdrawal,
)
from securebase.store.tables.corrections import EnteredInError
from securebase.store.tables.linkage import LinkageConsent, LinkageExtract, LinkageIdentifier, LinkedRecord
from securebase.store.tables.people import (
    Household,
    Invitation,
    LinkThrottle,
    PeopleTask,
    Person,
    PersonContact,
    PersonLink,
    QuestionnaireRespondent,
    Voucher,
)
from securebase.store.tables.qualitative import Code, Codebook, CodedSegment, Memo, Transcript
from securebase.store.tables.randomisation_state import RandomisationState
from securebase.store.tables.safety import (
    AdverseEvent,
    AdverseEventReport,
    BlindingGuess,
    ProtocolDeviation,
    SafeguardingConcern,
    SafeguardingFollowUp,
    SafetyContact,
)
from securebase.store.tables.security import LoginThrottle, TotpFactor, WebSession

__all__ = [
    "Allocation", "ApiToken", "AuditHead", "AuditRecord", "Base", "Code", "Codebook", "CodedSegment", "Consent",
    "DataQuery", "Event", "Household", "Identifier", "Invitation", "LinkThrottle", "PeopleTask", "Person",
    "PersonContact", "PersonLink", "QuestionnaireRespondent", "Voucher", "InterventionSession", "Memo", "Participant",
    "RandomisationListEntry", "ResourceUse", "Response", "Score", "ScreeningRecord", "Site", "Transcript", "Trial",
    "UnblindingRequest", "User", "UserRole", "Visit", "Withdrawal", "utcnow",
    "AdverseEvent", "AdverseEventReport", "BlindingGuess", "ProtocolDeviation", "SafeguardingConcern",
    "SafeguardingFollowUp", "SafetyContact", "LoginThrottle", "TotpFactor", "WebSession", "EnteredInError", "UserContact",
    "LinkageConsent", "LinkageExtract", "LinkageIdentifier", "LinkedRecord",
    "RandomisationState",
]
