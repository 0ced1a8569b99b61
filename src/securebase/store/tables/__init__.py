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
from securebase.store.tables.qualitative import Code, Codebook, CodedSegment, Memo, Transcript

__all__ = [
    "Allocation", "ApiToken", "AuditHead", "AuditRecord", "Base", "Code", "Codebook", "CodedSegment", "Consent", "EnteredInError",
    "DataQuery", "Event", "Identifier", "InterventionSession", "Memo", "Participant", "RandomisationListEntry",
    "ResourceUse", "Response", "Score", "ScreeningRecord", "Site", "Transcript", "Trial", "UnblindingRequest",
    "User", "UserContact", "UserRole", "Visit", "Withdrawal", "utcnow",
]
