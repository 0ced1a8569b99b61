"""Safety tables: safeguarding concerns and their follow-up, adverse events with versioned reports,
protocol deviations (serious breaches, assessor unblinding) and assessors' guesses of allocation.

Safeguarding concerns are confidential: the services show them only to the safeguarding lead, the chief
investigator and the person who raised them, and the audit views drop their rows for everyone else.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from securebase.store.tables.base import Base, UTCDateTime, utcnow


class SafetyContact(Base):
    """Where a user's safety alerts go (e-mail), per trial."""

    __tablename__ = "safety_contacts"
    __table_args__ = (UniqueConstraint("trial_id", "username"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    username: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254))


class SafeguardingConcern(Base):
    __tablename__ = "safeguarding_concerns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    participant_pk: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    source: Mapped[str] = mapped_column(String(32))  # visit, video, questionnaire_item, intervention_session, phone_call
    source_detail: Mapped[str] = mapped_column(Text, default="")
    what_seen_or_said: Mapped[str] = mapped_column(Text)
    immediate_action: Mapped[str] = mapped_column(Text, default="")
    raised_by: Mapped[str] = mapped_column(String(120))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, signed_off, closed
    referral_made: Mapped[bool | None] = mapped_column(Boolean)
    referral_to: Mapped[str | None] = mapped_column(Text)
    referral_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    referral_reference: Mapped[str | None] = mapped_column(String(120))
    signed_off_by: Mapped[str | None] = mapped_column(String(120))
    signed_off_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lead_assessment: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    alert_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    alert_message_id: Mapped[str | None] = mapped_column(String(255))
    alert_error: Mapped[str | None] = mapped_column(Text)


class SafeguardingFollowUp(Base):
    __tablename__ = "safeguarding_follow_ups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    concern_id: Mapped[int] = mapped_column(ForeignKey("safeguarding_concerns.id"), index=True)
    note: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AdverseEvent(Base):
    """The current state of an adverse event; every version is kept in :class:`AdverseEventReport`."""

    __tablename__ = "adverse_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    participant_pk: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    category: Mapped[str] = mapped_column(String(48))  # an expected-event id of the protocol, or "other"
    description: Mapped[str] = mapped_column(Text)
    onset_on: Mapped[date] = mapped_column(Date)
    aware_on: Mapped[date] = mapped_column(Date)
    serious: Mapped[bool] = mapped_column(Boolean, default=False)
    seriousness: Mapped[list] = mapped_column(JSON, default=list)
    relatedness: Mapped[str | None] = mapped_column(String(16))
    expectedness: Mapped[str | None] = mapped_column(String(16))
    assessed_by: Mapped[str | None] = mapped_column(String(120))
    assessed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    report_due_on: Mapped[date | None] = mapped_column(Date)
    reported_on: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(String(24), default="ongoing")
    version: Mapped[int] = mapped_column(Integer, default=1)
    recorded_by: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AdverseEventReport(Base):
    """One version of an adverse event: the initial report (version 1) and each follow-up."""

    __tablename__ = "adverse_event_reports"
    __table_args__ = (UniqueConstraint("adverse_event_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    adverse_event_id: Mapped[int] = mapped_column(ForeignKey("adverse_events.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # initial, follow_up, assessment
    snapshot: Mapped[dict] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ProtocolDeviation(Base):
    __tablename__ = "protocol_deviations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    site_code: Mapped[str] = mapped_column(String(32), index=True)
    participant_pk: Mapped[int | None] = mapped_column(ForeignKey("participants.id"), index=True)
    category: Mapped[str] = mapped_column(String(48))
    description: Mapped[str] = mapped_column(Text)
    occurred_on: Mapped[date] = mapped_column(Date)
    aware_on: Mapped[date] = mapped_column(Date)
    serious_breach: Mapped[bool] = mapped_column(Boolean, default=False)
    report_due_on: Mapped[date | None] = mapped_column(Date)
    reported_on: Mapped[date | None] = mapped_column(Date)
    corrective_action: Mapped[str] = mapped_column(Text, default="")
    unblinded_assessor: Mapped[str | None] = mapped_column(String(120))
    recorded_by: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class BlindingGuess(Base):
    """An assessor's guess of a participant's allocation (intervention, control or don't know)."""

    __tablename__ = "blinding_guesses"
    __table_args__ = (UniqueConstraint("participant_pk", "visit_id", "assessor"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    participant_pk: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    visit_id: Mapped[str] = mapped_column(String(32))
    assessor: Mapped[str] = mapped_column(String(120))
    guess: Mapped[str] = mapped_column(String(40))  # an arm id or "dont_know"
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
