"""Log-in with lock-out, and API tokens. Every log-in, failure, lock-out and token change is audited.

Passwords are argon2 hashes (``trial.setup.hash_password``). After ``max_failures`` failed log-ins in a row an
account is locked for ``LOCKOUT_MINUTES``; a successful log-in resets the count. API tokens are random
(``secrets.token_urlsafe(32)``, 256 bits) and only their SHA-256 is stored, so a stolen database does not give
working tokens.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from securebase.errors import FieldError, NotFound, PermissionDenied
from securebase.store import UnitOfWork
from securebase.store.tables import ApiToken, User, UserRole
from securebase.trial.setup import verify_password

LOCKOUT_MINUTES = 30


class NotAuthenticated(PermissionDenied):
    """No valid credentials (HTTP 401)."""

    http_status = 401


def _now() -> datetime:
    return datetime.now(UTC)


def login(uow: UnitOfWork, username: str, password: str, *, max_failures: int) -> User | NotAuthenticated:
    """Check a password; count failures and lock the account after ``max_failures`` in a row.

    Returns the user, or the error to raise *after* committing (so that the failure count is kept).
    """
    user = uow.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    refused = NotAuthenticated("user name or password not recognised; check both (accounts lock after "
                               f"{max_failures} failed attempts)")
    if user is None or not user.active:
        uow.log_event("login_failed", table_name="users", record_id=username[:120], trial_id=None,
                      detail={"username": username[:120], "why": "unknown or inactive"})
        return _fail(refused)
    if user.locked_until is not None and user.locked_until > _now():
        uow.log_event("login_refused_locked", table_name="users", record_id=str(user.id), trial_id=None,
                      detail={"username": username})
        return _fail(NotAuthenticated(f"account '{username}' is locked after repeated failed log-ins until "
                                      f"{user.locked_until:%H:%M} UTC; an administrator can unlock it "
                                      "(`securebase user unlock`)"))
    uow.reason = "log-in"
    if not verify_password(user.password_hash, password):
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= max_failures:
            user.locked_until = _now() + timedelta(minutes=LOCKOUT_MINUTES)
        uow.session.flush()
        uow.log_event("login_failed", table_name="users", record_id=str(user.id), trial_id=None,
                      detail={"username": username, "failures": user.failed_logins,
                              "locked": user.locked_until is not None})
        return _fail(refused)
    if user.failed_logins or user.locked_until is not None:
        user.failed_logins = 0
        user.locked_until = None
    uow.session.flush()
    uow.log_event("login", table_name="users", record_id=str(user.id), trial_id=None, detail={"username": username})
    return user


def _fail(err: NotAuthenticated) -> NotAuthenticated:
    return err


def unlock(uow: UnitOfWork, username: str) -> User:
    user = uow.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"user '{username}' not found")
    user.failed_logins = 0
    user.locked_until = None
    uow.session.flush()
    return user


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_api_token(uow: UnitOfWork, username: str, *, label: str = "", days: int | None = 365) -> str:
    """Create a token for ``username``; returns the token (shown once, only its hash is kept)."""
    user = uow.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"user '{username}' not found; create it first (`securebase user add`)")
    if days is not None and days < 1:
        raise FieldError("days", days, "at least 1 (or no expiry)")
    token = "sb_" + secrets.token_urlsafe(32)
    uow.session.add(ApiToken(user_id=user.id, token_hash=token_hash(token), label=label[:120],
                             expires_at=_now() + timedelta(days=days) if days else None, revoked=False))
    uow.session.flush()
    return token


def authenticate_token(session: object, token: str) -> str:
    """The username of a valid (unrevoked, unexpired) token of an active, unlocked user."""
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    row = session.execute(select(ApiToken, User).join(User, User.id == ApiToken.user_id).where(
        ApiToken.token_hash == token_hash(token))).first()
    if row is None:
        raise NotAuthenticated("API token not recognised; send 'Authorization: Bearer <token>' with a token from "
                               "`securebase user token`")
    tok, user = row
    if tok.revoked or (tok.expires_at is not None and tok.expires_at < _now()):
        raise NotAuthenticated("API token revoked or expired; ask for a new one (`securebase user token`)")
    if not user.active or (user.locked_until is not None and user.locked_until > _now()):
        raise NotAuthenticated(f"account '{user.username}' is inactive or locked")
    return user.username


def user_trials(session: object, username: str) -> list[tuple[str, str, str | None]]:
    """(trial_id, role, site_code) of every role the user holds."""
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    rows = session.execute(select(UserRole.trial_id, UserRole.role, UserRole.site_code).join(
        User, User.id == UserRole.user_id).where(User.username == username).order_by(UserRole.trial_id)).all()
    return [(t, r, s) for t, r, s in rows]
