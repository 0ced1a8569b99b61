"""Creating a trial in a store from its protocol, and the users who run it."""

from __future__ import annotations

import secrets

import yaml
from argon2 import PasswordHasher
from sqlalchemy import select

from securebase.errors import ConflictError, FieldError
from securebase.protocol import Protocol
from securebase.store import UnitOfWork
from securebase.store.tables import Site, Trial, User, UserRole
from securebase.trial.roles import Role

_hasher = PasswordHasher()
MIN_PASSWORD = 10


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise FieldError("password", "*" * len(password), f"at least {MIN_PASSWORD} characters",
                         "choose a longer pass phrase")
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except Exception:
        return False


def create_trial(uow: UnitOfWork, protocol: Protocol, *, protocol_yaml: str | None = None,
                 seed: int | None = None) -> Trial:
    """Insert the trial and its sites. Refuses a trial id that already exists."""
    if uow.session.get(Trial, protocol.id) is not None:
        raise ConflictError(f"trial '{protocol.id}' already exists in this store; use another store or trial id")
    text = protocol_yaml or yaml.safe_dump(protocol.to_dict(), sort_keys=False, allow_unicode=True)
    trial = Trial(id=protocol.id, title=protocol.title, protocol_version=protocol.version, protocol_yaml=text,
                  randomisation_seed=seed if seed is not None else secrets.randbits(31), allocation_count=0,
                  locked=False)
    uow.session.add(trial)
    uow.session.flush()
    for s in protocol.sites:
        uow.session.add(Site(trial_id=protocol.id, code=s.code, name=s.name))
    uow.session.flush()
    return trial


def create_user(uow: UnitOfWork, username: str, password: str, *, display_name: str = "",
                password_hash: str | None = None) -> User:
    """Create an active user. ``password_hash`` (an argon2 hash of ``password`` made once) saves re-hashing."""
    if not username or not username.replace(".", "").replace("_", "").replace("-", "").isalnum():
        raise FieldError("username", username, "letters, digits, '.', '_' or '-'", "choose another user name")
    if uow.session.execute(select(User).where(User.username == username)).scalar_one_or_none():
        raise ConflictError(f"user '{username}' already exists; choose another user name")
    if password_hash is not None and not verify_password(password_hash, password):
        raise FieldError("password_hash", "<hash>", "the argon2 hash of the given password")
    user = User(username=username, display_name=display_name or username,
                password_hash=password_hash or hash_password(password),
                active=True, failed_logins=0)
    uow.session.add(user)
    uow.session.flush()
    return user


def grant_role(uow: UnitOfWork, user: User, trial_id: str, role: Role | str, site_code: str | None = None) -> UserRole:
    try:
        role = Role(role)
    except ValueError:
        raise FieldError("role", role, "one of " + ", ".join(r.value for r in Role)) from None
    if site_code is not None:
        site = uow.session.execute(select(Site).where(Site.trial_id == trial_id, Site.code == site_code)).scalar_one_or_none()
        if site is None:
            raise FieldError("site", site_code, f"a site of trial '{trial_id}'", "check the site code")
    ur = UserRole(user_id=user.id, trial_id=trial_id, role=role.value, site_code=site_code)
    uow.session.add(ur)
    uow.session.flush()
    return ur
