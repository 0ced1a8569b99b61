"""Qualitative data: transcripts, versioned codebooks, coded segments and memos."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from securebase.store.tables.base import Base, UTCDateTime, utcnow


class Transcript(Base):
    __tablename__ = "transcripts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    participant_pk: Mapped[int | None] = mapped_column(ForeignKey("participants.id"), index=True)
    visit_pk: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))
    guid: Mapped[str] = mapped_column(String(36), unique=True)
    speaker_role: Mapped[str] = mapped_column(String(32))  # carer, child, practitioner
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    source_format: Mapped[str] = mapped_column(String(16))
    pseudonymised: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Codebook(Base):
    __tablename__ = "codebooks"
    __table_args__ = (UniqueConstraint("trial_id", "name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    version: Mapped[int] = mapped_column(Integer)
    frozen: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Code(Base):
    __tablename__ = "codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    codebook_id: Mapped[int] = mapped_column(ForeignKey("codebooks.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("codes.id"))
    guid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    definition: Mapped[str] = mapped_column(Text, default="")
    inclusion: Mapped[str] = mapped_column(Text, default="")
    exclusion: Mapped[str] = mapped_column(Text, default="")
    colour: Mapped[str | None] = mapped_column(String(7))


class CodedSegment(Base):
    __tablename__ = "coded_segments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    transcript_id: Mapped[int] = mapped_column(ForeignKey("transcripts.id"), index=True)
    code_id: Mapped[int] = mapped_column(ForeignKey("codes.id"), index=True)
    guid: Mapped[str] = mapped_column(String(36), unique=True)
    coder: Mapped[str] = mapped_column(String(120))
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Memo(Base):
    __tablename__ = "memos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    transcript_id: Mapped[int | None] = mapped_column(ForeignKey("transcripts.id"))
    code_id: Mapped[int | None] = mapped_column(ForeignKey("codes.id"))
    guid: Mapped[str] = mapped_column(String(36), unique=True)
    author: Mapped[str] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
