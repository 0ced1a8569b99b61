"""Server-side web sessions: the cookie holds a random session id; the record decides whether it is valid.

A session is valid while its record exists, is not revoked, has not expired, and its user is active and not
locked by an administrator. Log-out revokes the record, so a copy of the cookie taken before log-out is
refused after it; deactivating or locking a user revokes all of that user's sessions. Only the SHA-256 of the
id is stored, so a read of the database does not give working sessions (OWASP ASVS 4.0 V3.3).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from securebase.store import UnitOfWork
from securebase.store.tables import User, WebSession


class SessionInvalid(Exception):
    """The cookie's session is unknown, expired, revoked, or its user may no longer log in (says why)."""


def _now() -> datetime:
    return datetime.now(UTC)


def sid_hash(sid: str) -> str:
    return hashlib.sha256(sid.encode("utf-8")).hexdigest()


def start(uow: UnitOfWork, user: User, *, hours: int, address: str = "") -> str:
    """Open a session for ``user``; returns the id to put in the cookie (kept nowhere else)."""
    sid = secrets.token_urlsafe(32)
    uow.session.add(WebSession(sid_hash=sid_hash(sid), user_id=user.id, expires_at=_now() + timedelta(hours=hours),
                               address=address[:64], revoked_why=""))
    uow.session.flush()
    return sid


def check(session: Session, sid: str) -> str:
    """The user name of a valid session, or SessionInvalid."""
    row = session.execute(select(WebSession, User).join(User, User.id == WebSession.user_id)
                          .where(WebSession.sid_hash == sid_hash(sid))).first()
    if row is None:
        raise SessionInvalid("unknown session")
    ws, user = row
    now = _now()
    if ws.revoked_at is not None:
        raise SessionInvalid(f"session ended ({ws.revoked_why or 'revoked'})")
    if ws.expires_at <= now:
        raise SessionInvalid("session expired")
    if not user.active:
        raise SessionInvalid("account deactivated")
    if user.locked_until is not None and user.locked_until > now:
        raise SessionInvalid("account locked")
    return user.username


def end(uow: UnitOfWork, sid: str, why: str = "logged out") -> str | None:
    """Revoke one session (log-out); returns its user name, or None if there was no live session."""
    row = uow.session.execute(select(WebSession, User).join(User, User.id == WebSession.user_id)
                              .where(WebSession.sid_hash == sid_hash(sid))).first()
    if row is None or row[0].revoked_at is not None:
        return None
    row[0].revoked_at, row[0].revoked_why = _now(), why[:40]
    uow.session.flush()
    return row[1].username


def revoke_user(uow: UnitOfWork, user_id: int, why: str) -> int:
    """Revoke every live session of a user (deactivation, lock, password change); returns how many."""
    result = uow.session.execute(update(WebSession).where(WebSession.user_id == user_id,
                                                          WebSession.revoked_at.is_(None))
                                 .values(revoked_at=_now(), revoked_why=why[:40]))
    return int(result.rowcount or 0)
