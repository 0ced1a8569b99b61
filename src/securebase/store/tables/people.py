"""People around a child and the questionnaires they answer by link.

Carers, teachers, social workers and young people are :class:`Person` rows known by a pseudonymous reference
(``CARER-0003``); their contact details are versioned (:class:`PersonContact`, one encrypted row per version,
never updated in place). Who a child's carer or teacher is changes over time: :class:`PersonLink` rows carry
``starts_on``/``ends_on`` (a placement move ends one carer link and starts another) or a ``school_year``.
:class:`PeopleTask` holds the follow-up work those changes open (consent of a new carer, re-consent at 16 and 18).
:class:`Invitation` is a single-use link to one questionnaire (only the SHA-256 of its token is stored);
:class:`QuestionnaireRespondent` records who answered each questionnaire; :class:`Voucher` the thank-you;
:class:`LinkThrottle` counts failed token guesses per address and per token prefix.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from securebase.store.tables.base import Base, UTCDateTime, utcnow

PERSON_KINDS = ("carer", "teacher", "social_worker", "young_person")
RELATIONS = ("carer", "teacher", "social_worker", "self")


class Household(Base):
    """A placement household: siblings placed together share one."""

    __tablename__ = "households"
    __table_args__ = (UniqueConstraint("trial_id", "reference"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    reference: Mapped[str] = mapped_column(String(32))
    site_code: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Person(Base):
    __tablename__ = "people"
    __table_args__ = (UniqueConstraint("trial_id", "reference"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    reference: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(24))
    site_code: Mapped[str] = mapped_column(String(32))
    household_pk: Mapped[int | None] = mapped_column(ForeignKey("households.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PersonContact(Base):
    """One version of a person's contact details (name, e-mail, mobile, address), encrypted (Fernet)."""

    __tablename__ = "person_contacts"
    __table_args__ = (UniqueConstraint("person_pk", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    person_pk: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(120), default="")
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PersonLink(Base):
    """A person's relation to a child over a period (carer, social worker), or for a school year (teacher)."""

    __tablename__ = "person_links"
    __table_args__ = (Index("ix_person_links_participant_relation", "participant_pk", "relation"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    participant_pk: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    person_pk: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    relation: Mapped[str] = mapped_column(String(24))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    school_year: Mapped[str | None] = mapped_column(String(9))
    end_reason: Mapped[str | None] = mapped_column(Text)
    event_pk: Mapped[int | None] = mapped_column(ForeignKey("events.id"))


class PeopleTask(Base):
    """Work opened by a change in a child's circumstances: ``carer_consent``, ``reconsent_16``, ``reconsent_18``."""

    __tablename__ = "people_tasks"
    __table_args__ = (UniqueConstraint("participant_pk", "kind", "person_pk"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    participant_pk: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    person_pk: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    kind: Mapped[str] = mapped_column(String(24))
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open, done, cancelled
    why: Mapped[str] = mapped_column(Text, default="")
    closed_on: Mapped[date | None] = mapped_column(Date)
    closed_by: Mapped[str | None] = mapped_column(String(120))


class Invitation(Base):
    """A single-use link to one questionnaire for one respondent; only the token's SHA-256 is kept."""

    __tablename__ = "invitations"
    __table_args__ = (Index("ix_invitations_visit_instrument", "visit_pk", "instrument"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    participant_pk: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    visit_pk: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    instrument: Mapped[str] = mapped_column(String(64))
    respondent_type: Mapped[str] = mapped_column(String(24))
    person_pk: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    channel: Mapped[str] = mapped_column(String(8))  # email, sms
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(12), default="sent")  # sent, started, submitted, revoked
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class QuestionnaireRespondent(Base):
    """Who answered one questionnaire of a visit (the person, their relation, and the link they used)."""

    __tablename__ = "questionnaire_respondents"
    __table_args__ = (UniqueConstraint("visit_pk", "instrument", "respondent_type"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    participant_pk: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    visit_pk: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    instrument: Mapped[str] = mapped_column(String(64))
    respondent_type: Mapped[str] = mapped_column(String(24))
    person_pk: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    invitation_pk: Mapped[int | None] = mapped_column(ForeignKey("invitations.id"))
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Voucher(Base):
    """A thank-you voucher owed to a respondent for a submitted questionnaire."""

    __tablename__ = "vouchers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    person_pk: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    invitation_pk: Mapped[int] = mapped_column(ForeignKey("invitations.id"), unique=True)
    amount_pence: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default="owed")  # owed, sent
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LinkThrottle(Base):
    """Failed token look-ups in the current window, per key (``ip:<address>`` or ``prefix:<4 chars>``)."""

    __tablename__ = "link_throttle"
    __audited__ = False

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    failures: Mapped[int] = mapped_column(Integer, default=0)
