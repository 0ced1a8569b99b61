"""Records marked "entered in error": what the record was, why it was withdrawn from the data, by whom."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from securebase.store.tables.base import Base, UTCDateTime, utcnow


class EnteredInError(Base):
    """One record taken out of the data because it was entered in error (the deletion itself, with the
    old values and the reason, is also in the hash-chained audit trail)."""

    __tablename__ = "entered_in_error"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))  # screening, consent, event, form
    reference: Mapped[str] = mapped_column(String(120))
    screening_number: Mapped[str | None] = mapped_column(String(32), index=True)
    participant_pk: Mapped[int | None] = mapped_column(ForeignKey("participants.id"), index=True)
    snapshot: Mapped[dict] = mapped_column(JSON, default=dict)
    reason: Mapped[str] = mapped_column(Text)
    marked_by: Mapped[str] = mapped_column(String(120))
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
