"""TOTP second factor (RFC 6238, 6 digits, 30-second steps, via ``pyotp``) for staff who can see identifiers
or allocations (NHS DSPT: multi-factor authentication for staff with access to sensitive data).

Roles that need it: every role that is not blinded (they see allocations) and every recruitment role (they
see identifiers). A code is accepted for the current step and one step either side (clock drift) and only
once: the step of the last accepted code is stored, and a code of that step or an earlier one is refused.
"""

from __future__ import annotations

import time

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session

from securebase.errors import ConflictError, NotFound
from securebase.store import UnitOfWork
from securebase.store.tables import TotpFactor, User, UserRole
from securebase.trial.access import RECRUITMENT_ROLES
from securebase.trial.roles import UNBLINDED_ROLES

ISSUER = "securebase"
STEP = 30
#: Roles whose holders must use a second factor.
TOTP_ROLES = frozenset(r.value for r in UNBLINDED_ROLES | RECRUITMENT_ROLES)


def required_for(session: Session, user: User) -> bool:
    """Whether ``user`` holds any role that sees identifiers or allocations."""
    roles = session.execute(select(UserRole.role).where(UserRole.user_id == user.id)).scalars().all()
    return any(r in TOTP_ROLES for r in roles)


def factor_of(session: Session, user: User) -> TotpFactor | None:
    return session.execute(select(TotpFactor).where(TotpFactor.user_id == user.id)).scalar_one_or_none()


def provisioning_uri(secret: str, username: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (as a QR code or typed in)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def new_secret() -> str:
    return pyotp.random_base32()


def enrol(uow: UnitOfWork, user: User, *, secret: str | None = None, replace: bool = False) -> str:
    """Give ``user`` a confirmed TOTP secret (an administrator's enrolment from the CLI); returns the secret."""
    existing = factor_of(uow.session, user)
    if existing is not None and existing.confirmed and not replace:
        raise ConflictError(f"user '{user.username}' already has a second factor; give --replace to issue a new "
                            "one (the old authenticator entry stops working)")
    secret = secret or new_secret()
    if existing is None:
        uow.session.add(TotpFactor(user_id=user.id, secret=secret, confirmed=True, last_step=0))
    else:
        existing.secret, existing.confirmed, existing.last_step = secret, True, 0
    uow.session.flush()
    uow.log_event("totp_enrolled", table_name="users", record_id=str(user.id), trial_id=None,
                  detail={"username": user.username, "replaced": existing is not None})
    return secret


def verify(uow: UnitOfWork, factor: TotpFactor, code: str, *, now: float | None = None) -> bool:
    """Accept a 6-digit code once (current step +-1); records the step so the same code cannot be replayed."""
    code = "".join(ch for ch in (code or "") if not ch.isspace())
    if len(code) != 6 or not code.isdigit():
        return False
    now = time.time() if now is None else now
    totp = pyotp.TOTP(factor.secret)
    step_now = int(now // STEP)
    for step in (step_now - 1, step_now, step_now + 1):
        if step > (factor.last_step or 0) and totp.verify(code, for_time=step * STEP):
            factor.last_step = step
            uow.session.flush()
            return True
    return False


def remove(uow: UnitOfWork, user: User) -> None:
    factor = factor_of(uow.session, user)
    if factor is None:
        raise NotFound(f"user '{user.username}' has no second factor to remove")
    uow.session.delete(factor)
    uow.session.flush()
    uow.log_event("totp_removed", table_name="users", record_id=str(user.id), trial_id=None,
                  detail={"username": user.username})
