"""Log-in with throttling and a second factor, and API tokens. Every log-in, failure and token change is audited.

Passwords are argon2 hashes (``trial.setup.hash_password``). A log-in answers unknown users, inactive users and
wrong passwords with one message after the same work (an argon2 verification against a dummy hash when there
is no user), so neither the text nor the time says whether an account exists. Failures are throttled by user
name and by address with back-off (:mod:`securebase.trial.throttle`); accounts are never locked by failures,
so nobody can lock someone else out or take their API tokens offline. Staff whose roles see identifiers or
allocations also give a TOTP code (:mod:`securebase.trial.totp`).

API tokens are random (``secrets.token_urlsafe(32)``, 256 bits); only their SHA-256 is stored, so a stolen
database does not give working tokens. They expire (default ``settings.token_days``), can be revoked, and are
scoped ``read`` (GET only) or ``write``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from sqlalchemy import select

from securebase.errors import FieldError, NotFound, PermissionDenied
from securebase.store import UnitOfWork
from securebase.store.tables import ApiToken, User, UserRole
from securebase.trial import throttle, totp
from securebase.trial.setup import hash_password, verify_password

TOKEN_SCOPES = ("read", "write")
REFUSED = "user name, password or one-time code not recognised; check them and try again"


class NotAuthenticated(PermissionDenied):
    """No valid credentials (HTTP 401)."""

    http_status = 401


@dataclass(frozen=True)
class LoginPolicy:
    per_user: int = 5
    per_address: int = 20
    max_wait_seconds: int = 900
    totp_required: bool = True

    @classmethod
    def from_settings(cls, settings: object) -> LoginPolicy:
        return cls(per_user=settings.login_max_failures,  # type: ignore[attr-defined]
                   per_address=settings.login_max_failures_per_address,  # type: ignore[attr-defined]
                   max_wait_seconds=settings.login_max_wait_seconds,  # type: ignore[attr-defined]
                   totp_required=settings.totp_required)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class LoginResult:
    """The user on success; otherwise the error to show, and ``needs`` = ``"code"`` (ask for the TOTP code)
    or ``"enrol"`` (the password was right but the user must first enrol a second factor)."""

    user: User | None = None
    error: NotAuthenticated | None = None
    needs: str = ""


def _now() -> datetime:
    return datetime.now(UTC)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(24))


def login(uow: UnitOfWork, username: str, password: str, *, address: str = "", code: str = "",
          policy: LoginPolicy | None = None) -> LoginResult:
    """Check a password (and a TOTP code when the user has or needs one), throttling failures.

    Returns a LoginResult; the caller commits in every case so that failure counts are kept.
    """
    policy = policy or LoginPolicy()
    limits = throttle.Limits(policy.per_user, policy.per_address, policy.max_wait_seconds)
    wait = throttle.wait_seconds(uow.session, username, address)
    if wait:
        uow.log_event("login_throttled", table_name="users", record_id=username[:120], trial_id=None,
                      detail={"username": username[:120], "address": address[:64], "wait_seconds": wait})
        return LoginResult(error=NotAuthenticated(
            f"too many failed log-ins for this user name or from this address; wait {wait} seconds and try again "
            "(an administrator can clear a user name's count with `securebase user unlock`)"))
    user = uow.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    # Always run argon2, so unknown and known names take the same time.
    ok = verify_password(user.password_hash if user is not None else _dummy_hash(), password)
    admin_locked = user is not None and user.locked_until is not None and user.locked_until > _now()
    if user is None or not user.active or admin_locked or not ok:
        throttle.record_failure(uow.session, username, address, limits)
        why = "unknown user" if user is None else ("inactive" if not user.active else
                                                   "locked" if admin_locked else "wrong password")
        uow.log_event("login_failed", table_name="users", record_id=str(user.id) if user else username[:120],
                      trial_id=None, detail={"username": username[:120], "address": address[:64], "why": why})
        return LoginResult(error=NotAuthenticated(REFUSED))
    factor = totp.factor_of(uow.session, user)
    if factor is not None and factor.confirmed:
        if not code.strip():
            return LoginResult(error=NotAuthenticated("enter the 6-digit code from your authenticator app"),
                               needs="code")
        if not totp.verify(uow, factor, code):
            throttle.record_failure(uow.session, username, address, limits)
            uow.log_event("login_failed", table_name="users", record_id=str(user.id), trial_id=None,
                          detail={"username": username, "address": address[:64], "why": "wrong one-time code"})
            return LoginResult(error=NotAuthenticated(REFUSED), needs="code")
    elif policy.totp_required and totp.required_for(uow.session, user):
        return LoginResult(user=user, error=NotAuthenticated(
            "your roles see identifiers or allocations, so your account needs a second factor: add the key below "
            "to an authenticator app and enter its 6-digit code"), needs="enrol")
    throttle.record_success(uow.session, username)
    uow.reason = "log-in"
    uow.log_event("login", table_name="users", record_id=str(user.id), trial_id=None,
                  detail={"username": username, "address": address[:64]})
    return LoginResult(user=user)


def get_user(session: object, username: str) -> User:
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"user '{username}' not found; check the name (`securebase user list NAME`) or create it "
                       f"with `securebase user add {username}`")
    return user


def unlock(uow: UnitOfWork, username: str) -> User:
    """Clear an administrator's lock and the failures counted against the user name."""
    user = get_user(uow.session, username)
    user.failed_logins = 0
    user.locked_until = None
    throttle.clear(uow.session, username)
    uow.session.flush()
    return user


def set_active(uow: UnitOfWork, username: str, active: bool) -> User:
    """Deactivate (ending every open session; tokens stop working) or reactivate an account."""
    from securebase.trial import sessions

    user = get_user(uow.session, username)
    user.active = active
    uow.session.flush()
    if not active:
        sessions.revoke_user(uow, user.id, "account deactivated")
    return user


def revoke_role(uow: UnitOfWork, username: str, trial_id: str, role: str, site_code: str | None) -> int:
    """Remove a role (at one site, or the all-sites grant when ``site_code`` is None); returns rows removed."""
    user = get_user(uow.session, username)
    rows = uow.session.execute(select(UserRole).where(
        UserRole.user_id == user.id, UserRole.trial_id == trial_id, UserRole.role == role,
        UserRole.site_code.is_(None) if site_code is None else UserRole.site_code == site_code)).scalars().all()
    if not rows:
        raise NotFound(f"'{username}' holds no role '{role}' on trial '{trial_id}' at "
                       f"{site_code or 'every site'}; see `securebase user list {username}`")
    for r in rows:
        uow.session.delete(r)
    uow.session.flush()
    return len(rows)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_api_token(uow: UnitOfWork, username: str, *, label: str = "", days: int = 30,
                     scope: str = "write") -> str:
    """Create a token for ``username``; returns the token (shown once, only its hash is kept)."""
    user = get_user(uow.session, username)
    if not 1 <= days <= 366:
        raise FieldError("days", days, "between 1 and 366", "tokens always expire; issue a new one when it does")
    if scope not in TOKEN_SCOPES:
        raise FieldError("scope", scope, "read or write")
    token = "sb_" + secrets.token_urlsafe(32)
    uow.session.add(ApiToken(user_id=user.id, token_hash=token_hash(token), label=label[:120], scope=scope,
                             expires_at=_now() + timedelta(days=days), revoked=False))
    uow.session.flush()
    return token


def list_tokens(session: object, username: str) -> list[dict[str, object]]:
    """A user's tokens (never the token itself): id, label, scope, created, expires, revoked."""
    user = get_user(session, username)
    rows = session.execute(select(ApiToken).where(ApiToken.user_id == user.id)  # type: ignore[attr-defined]
                           .order_by(ApiToken.id)).scalars().all()
    return [{"id": t.id, "label": t.label, "scope": t.scope, "created": t.created_at, "expires": t.expires_at,
             "revoked": t.revoked} for t in rows]


def revoke_tokens(uow: UnitOfWork, username: str, *, token_id: int | None = None, label: str | None = None) -> int:
    """Revoke one token (by id or label) or, with neither, every token of the user; returns how many."""
    user = get_user(uow.session, username)
    stmt = select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked.is_(False))
    if token_id is not None:
        stmt = stmt.where(ApiToken.id == token_id)
    if label is not None:
        stmt = stmt.where(ApiToken.label == label)
    rows = uow.session.execute(stmt).scalars().all()
    if not rows:
        raise NotFound(f"no live token of '{username}' matches (id {token_id}, label {label!r}); see "
                       f"`securebase user tokens {username}`")
    for t in rows:
        t.revoked = True
    uow.session.flush()
    return len(rows)


def authenticate_token(session: object, token: str, *, method: str = "GET") -> str:
    """The username of a valid (unrevoked, unexpired, in-scope) token of an active user.

    Failed password log-ins do not affect tokens; deactivating the user or an administrator's lock does."""
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
    if tok.scope == "read" and method.upper() not in ("GET", "HEAD", "OPTIONS"):
        raise PermissionDenied(f"this API token is read-only (scope 'read') and cannot {method.upper()}; use a "
                               f"token made with `securebase user token {user.username} --scope write`")
    return user.username


def user_trials(session: object, username: str) -> list[tuple[str, str, str | None]]:
    """(trial_id, role, site_code) of every role the user holds."""
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    rows = session.execute(select(UserRole.trial_id, UserRole.role, UserRole.site_code).join(
        User, User.id == UserRole.user_id).where(User.username == username).order_by(UserRole.trial_id)).all()
    return [(t, r, s) for t, r, s in rows]
