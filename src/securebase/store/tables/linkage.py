"""Linkage tables (issue 21): routine records from local authorities and schools linked to participants.

- ``linkage_consents``: the consent or documented legal basis that allows a participant's records to be linked;
  every import checks it.
- ``linkage_identifiers``: the local-authority child id and unique pupil number, encrypted (Fernet) with a keyed
  hash (HMAC-SHA256) for deterministic matching without decrypting.
- ``linkage_extracts``: one row per imported file set (SSDA903, CIN census, school records) with its content
  hash (re-importing the same extract changes nothing) and status (a corrected extract supersedes the old one).
- ``linked_records``: the rows of an extract that matched a participant (episodes, referrals, section 47
  enquiries, child protection plans, adoptions, missing episodes, school periods). Unmatched rows are counted,
  never stored.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from securebase.store.tables.base import Base, UTCDateTime, utcnow


class LinkageConsent(Base):
    __tablename__ = "linkage_consents"
    __table_args__ = (UniqueConstraint("trial_id", "participant_pk"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    participant_pk: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    basis: Mapped[str] = mapped_column(String(16))  # consent, legal_basis
    reference: Mapped[str] = mapped_column(Text)  # consent form version, or the documented legal basis
    sources: Mapped[list[str]] = mapped_column(JSON, default=list)  # ssda903, cin, school
    given_on: Mapped[date] = mapped_column(Date)
    withdrawn_on: Mapped[date | None] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LinkageIdentifier(Base):
    __tablename__ = "linkage_identifiers"
    __table_args__ = (UniqueConstraint("trial_id", "kind", "lookup"), UniqueConstraint("participant_pk", "kind"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    participant_pk: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # la_child_id, upn
    site_code: Mapped[str] = mapped_column(String(32))
    token: Mapped[bytes] = mapped_column(LargeBinary)  # encrypted value
    lookup: Mapped[str] = mapped_column(String(64))  # HMAC-SHA256 of site + normalised value


class LinkageExtract(Base):
    __tablename__ = "linkage_extracts"
    __table_args__ = (UniqueConstraint("trial_id", "source", "content_sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    site_code: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16))  # ssda903, cin, school
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    extract_date: Mapped[date] = mapped_column(Date)
    content_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="current")  # current, superseded
    supersedes_pk: Mapped[int | None] = mapped_column(Integer)
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    children_total: Mapped[int] = mapped_column(Integer, default=0)
    children_matched: Mapped[int] = mapped_column(Integer, default=0)
    validation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    imported_by: Mapped[str] = mapped_column(String(120))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LinkedRecord(Base):
    __tablename__ = "linked_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    extract_pk: Mapped[int] = mapped_column(ForeignKey("linkage_extracts.id"), index=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    participant_pk: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    # episode, adoption, missing, prev_perm, cin_referral, section47, child_protection_plan, school_period
    kind: Mapped[str] = mapped_column(String(24))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
