"""Web log-in state: server-side sessions, log-in throttling counters and TOTP second factors.

None of these rows is audited row by row (``__audited__ = False``): sessions and counters change on every
log-in, and a TOTP secret must never be copied into the audit trail. The events themselves (log-in, log-out,
failure, throttling, enrolment, revocation) are audited with ``UnitOfWork.log_event``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from securebase.store.tables.base import Base, UTCDateTime, utcnow


class WebSession(Base):
    """One logged-in browser session; the cookie carries a random id, only its SHA-256 is kept here."""

    __tablename__ = "web_sessions"
    __audited__ = False

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sid_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    address: Mapped[str] = mapped_column(String(64), default="")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_why: Mapped[str] = mapped_column(String(40), default="")


class LoginThrottle(Base):
    """Failed log-ins counted for one key (``user:<name>`` or ``addr:<address>``) and the time until which
    further attempts under that key must wait."""

    __tablename__ = "login_throttle"
    __audited__ = False

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    wait_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TotpFactor(Base):
    """A user's TOTP second factor (RFC 6238); ``last_step`` stops a code being used twice."""

    __tablename__ = "totp_factors"
    __audited__ = False

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    secret: Mapped[str] = mapped_column(String(64))
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    last_step: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
