"""Trial data tables. Every trial-data row carries ``trial_id`` so that locks, site isolation and
audit scoping need no joins. Participants are known by pseudonymous trial IDs (``CARE-0014``);
direct identifiers live encrypted in :class:`Identifier` and never leave it for analysis."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from securebase.store.tables.base import Base, UTCDateTime, utcnow


class Trial(Base):
    __tablename__ = "trials"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    protocol_version: Mapped[str] = mapped_column(String(32))
    protocol_yaml: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    locked_by: Mapped[str | None] = mapped_column(String(120))
    lock_hash: Mapped[str | None] = mapped_column(String(64))
    randomisation_seed: Mapped[int | None] = mapped_column(Integer)
    allocation_count: Mapped[int] = mapped_column(Integer, default=0)


class Site(Base):
    __tablename__ = "sites"
    __table_args__ = (UniqueConstraint("trial_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(Text)
    target: Mapped[int | None] = mapped_column(Integer)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(120), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class UserRole(Base):
    """A role on a trial; ``site_code`` None means every site of the trial."""

    __tablename__ = "user_roles"
    __table_args__ = (UniqueConstraint("user_id", "trial_id", "role", "site_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    role: Mapped[str] = mapped_column(String(40))
    site_code: Mapped[str | None] = mapped_column(String(32))


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    scope: Mapped[str] = mapped_column(String(16), default="write", server_default="write")  # read | write


class ScreeningRecord(Base):
    """Every child considered: the source of the CONSORT diagram's top boxes."""

    __tablename__ = "screening"
    __table_args__ = (UniqueConstraint("trial_id", "screening_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    site_code: Mapped[str] = mapped_column(String(32), index=True)
    screening_number: Mapped[str] = mapped_column(String(32))
    screened_on: Mapped[date] = mapped_column(Date)
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    eligible: Mapped[bool] = mapped_column(Boolean)
    ineligible_reasons: Mapped[str] = mapped_column(Text, default="")
    approached: Mapped[bool | None] = mapped_column(Boolean)
    not_approached_reason: Mapped[str | None] = mapped_column(Text)
    declined_reason: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(32), default="screened")
    participant_pk: Mapped[int | None] = mapped_column(ForeignKey("participants.id"))
    screened_by: Mapped[str] = mapped_column(String(120), default="")


class Participant(Base):
    __tablename__ = "participants"
    __table_args__ = (UniqueConstraint("trial_id", "participant_id"),
                      Index("ix_participants_trial_site_enrolled", "trial_id", "site_code", "enrolled_on"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    participant_id: Mapped[str] = mapped_column(String(32), index=True)
    site_code: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(24), default="enrolled")
    enrolled_on: Mapped[date] = mapped_column(Date)
    age_years: Mapped[float] = mapped_column(Float)
    age_band: Mapped[str] = mapped_column(String(8))
    sex: Mapped[str | None] = mapped_column(String(16))
    care_status: Mapped[str | None] = mapped_column(String(32))
    maltreatment_status: Mapped[str | None] = mapped_column(String(16))
    maltreatment_type: Mapped[str | None] = mapped_column(String(16))
    strata: Mapped[dict] = mapped_column(JSON, default=dict)


class Identifier(Base):
    """Direct identifiers, encrypted at rest (Fernet); optional, never exported for analysis."""

    __tablename__ = "identifiers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    participant_pk: Mapped[int] = mapped_column(ForeignKey("participants.id"), unique=True)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)


class Consent(Base):
    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    screening_pk: Mapped[int | None] = mapped_column(ForeignKey("screening.id"), index=True)
    participant_pk: Mapped[int | None] = mapped_column(ForeignKey("participants.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # carer_consent, child_assent, la_consent, qualitative
    form_version: Mapped[str] = mapped_column(String(32))
    signatory_role: Mapped[str] = mapped_column(String(40))
    given: Mapped[bool] = mapped_column(Boolean, default=True)
    signed_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(120), default="")


class Withdrawal(Base):
    __tablename__ = "withdrawals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    participant_pk: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    level: Mapped[str] = mapped_column(String(24))  # intervention, follow_up, data_use
    withdrawn_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text, default="")


class RandomisationListEntry(Base):
    """A sealed, pre-generated allocation list entry (permuted blocks)."""

    __tablename__ = "randomisation_list"
    __table_args__ = (UniqueConstraint("trial_id", "stratum", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    stratum: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)
    list_version: Mapped[int] = mapped_column(Integer)
    block_number: Mapped[int] = mapped_column(Integer)
    block_size: Mapped[int] = mapped_column(Integer)
    arm: Mapped[str] = mapped_column(String(40))
    participant_pk: Mapped[int | None] = mapped_column(ForeignKey("participants.id"), unique=True)


class Allocation(Base):
    __tablename__ = "allocations"
    __table_args__ = (UniqueConstraint("trial_id", "sequence_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    participant_pk: Mapped[int] = mapped_column(ForeignKey("participants.id"), unique=True)
    sequence_number: Mapped[int] = mapped_column(Integer)
    arm: Mapped[str] = mapped_column(String(40))
    method: Mapped[str] = mapped_column(String(24))
    stratum: Mapped[str] = mapped_column(String(200), default="")
    list_version: Mapped[int | None] = mapped_column(Integer)
    allocated_on: Mapped[date] = mapped_column(Date)
    allocated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    allocated_by: Mapped[str] = mapped_column(String(120))
    diagnostics: Mapped[dict] = mapped_column(JSON, default=dict)


class UnblindingRequest(Base):
    __tablename__ = "unblinding_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    participant_pk: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    requested_by: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, approved, refused
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Visit(Base):
    __tablename__ = "visits"
    __table_args__ = (UniqueConstraint("participant_pk", "visit_id"),
                      Index("ix_visits_trial_status_window", "trial_id", "status", "window_opens"),
                      Index("ix_visits_trial_visit_status", "trial_id", "visit_id", "status"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    participant_pk: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    visit_id: Mapped[str] = mapped_column(String(32))
    month: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[date] = mapped_column(Date)
    window_opens: Mapped[date] = mapped_column(Date)
    window_closes: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="scheduled")  # completed, partial, missed
    completed_on: Mapped[date | None] = mapped_column(Date)
    missed_reason: Mapped[str | None] = mapped_column(Text)
    assessor: Mapped[str | None] = mapped_column(String(120))


class Response(Base):
    """One item-level answer. ``entry`` is 1, or 2 for the second of a double data entry."""

    __tablename__ = "responses"
    __table_args__ = (UniqueConstraint("visit_pk", "instrument", "respondent", "item", "entry"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    participant_pk: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    visit_pk: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    instrument: Mapped[str] = mapped_column(String(64))
    instrument_version: Mapped[str] = mapped_column(String(32))
    respondent: Mapped[str] = mapped_column(String(32))
    item: Mapped[str] = mapped_column(String(64))
    value: Mapped[str | None] = mapped_column(Text)
    missing_code: Mapped[str | None] = mapped_column(String(24))
    entry: Mapped[int] = mapped_column(Integer, default=1)
    entered_by: Mapped[str] = mapped_column(String(120), default="")


class Score(Base):
    __tablename__ = "scores"
    __table_args__ = (UniqueConstraint("visit_pk", "instrument", "respondent", "scale"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    participant_pk: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    visit_pk: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    instrument: Mapped[str] = mapped_column(String(64))
    respondent: Mapped[str] = mapped_column(String(32))
    scale: Mapped[str] = mapped_column(String(64))
    value: Mapped[float | None] = mapped_column(Float)
    category: Mapped[str | None] = mapped_column(String(64))
    missing_reason: Mapped[str | None] = mapped_column(Text)


class Event(Base):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    participant_pk: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    event_type: Mapped[str] = mapped_column(String(48))
    occurred_on: Mapped[date] = mapped_column(Date)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    seriousness: Mapped[str | None] = mapped_column(String(32))
    relatedness: Mapped[str | None] = mapped_column(String(32))
    expectedness: Mapped[str | None] = mapped_column(String(32))
    recorded_by: Mapped[str] = mapped_column(String(120), default="")


class InterventionSession(Base):
    """The intervention delivery log (intervention arm only: never shown to blinded roles)."""

    __tablename__ = "intervention_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    participant_pk: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    session_number: Mapped[int] = mapped_column(Integer)
    offered_on: Mapped[date] = mapped_column(Date)
    attended: Mapped[bool] = mapped_column(Boolean)
    therapist: Mapped[str] = mapped_column(String(64))
    duration_minutes: Mapped[float] = mapped_column(Float, default=90.0)
    fidelity_rating: Mapped[float | None] = mapped_column(Float)


class ResourceUse(Base):
    __tablename__ = "resource_use"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    participant_pk: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    visit_pk: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))
    item: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[float] = mapped_column(Float)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)


class DataQuery(Base):
    __tablename__ = "data_queries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    participant_pk: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    table_name: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(64))
    question: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, answered, closed
    raised_by: Mapped[str] = mapped_column(String(120))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(120))
    closed_by: Mapped[str | None] = mapped_column(String(120))
