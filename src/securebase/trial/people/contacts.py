"""People and their contact details, versioned and encrypted.

A person is a pseudonymous reference (``CARER-0001``) with a kind and a site. Contact details (name, e-mail,
mobile, address) are a Fernet ciphertext per version: an update adds a version and marks the previous one
superseded, so the history is kept and every version's insertion is in the audit trail (ciphertext redacted).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from securebase.errors import FieldError, NotFound
from securebase.store import UnitOfWork
from securebase.store.crypto import decrypt_identifiers, encrypt_identifiers
from securebase.store.tables import Household, Person, PersonContact
from securebase.store.tables.people import PERSON_KINDS
from securebase.trial import access
from securebase.trial.roles import Actor

CONTACT_FIELDS = ("name", "email", "mobile", "address", "school")
PREFIX = {"carer": "CARER", "teacher": "TEACH", "social_worker": "SW", "young_person": "YP"}


def _check_contact(contact: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(contact) - set(CONTACT_FIELDS))
    if unknown:
        raise FieldError("contact", unknown, "fields among " + ", ".join(CONTACT_FIELDS))
    email = contact.get("email")
    if email and ("@" not in str(email) or " " in str(email).strip()):
        raise FieldError("email", email, "an e-mail address such as name@example.org")
    mobile = contact.get("mobile")
    if mobile and not str(mobile).replace(" ", "").lstrip("+").isdigit():
        raise FieldError("mobile", mobile, "a phone number of digits, optionally starting with +", "e.g. +447700900123")
    return {k: access.clean_text(str(v), k, max_length=300) for k, v in contact.items() if v not in (None, "")}


def get_person(session: Session, actor: Actor, reference: str) -> Person:
    p = session.execute(select(Person).where(Person.trial_id == actor.trial_id,
                                             Person.reference == reference)).scalar_one_or_none()
    if p is None or not actor.can_reach_site(p.site_code):
        raise NotFound(f"person '{reference}' not found in trial '{actor.trial_id}'; check the reference "
                       "(e.g. CARER-0001)")
    return p


def _household(uow: UnitOfWork, actor: Actor, reference: str, site_code: str) -> Household:
    h = uow.session.execute(select(Household).where(Household.trial_id == actor.trial_id,
                                                    Household.reference == reference)).scalar_one_or_none()
    if h is None:
        h = Household(trial_id=actor.trial_id, reference=reference, site_code=site_code)
        uow.session.add(h)
        uow.session.flush()
    return h


def add_person(uow: UnitOfWork, actor: Actor, *, kind: str, site_code: str, contact: dict[str, Any],
               encryption_key: str, household: str | None = None) -> Person:
    """Add a carer, teacher, social worker or young person with the first version of their contact details."""
    access.require(actor, access.RECRUITMENT_ROLES, "adding a person")
    uow.ensure_unlocked(actor.trial_id)
    if kind not in PERSON_KINDS:
        raise FieldError("kind", kind, "one of " + ", ".join(PERSON_KINDS))
    access.check_site_exists(uow.session, actor.trial_id, site_code)
    access.require_site(actor, site_code)
    clean = _check_contact(contact)
    n = uow.session.execute(select(func.count(Person.id)).where(Person.trial_id == actor.trial_id,
                                                                Person.kind == kind)).scalar_one()
    ref = f"{PREFIX[kind]}-{n + 1:04d}"
    h = _household(uow, actor, household, site_code) if household else None
    person = Person(trial_id=actor.trial_id, reference=ref, kind=kind, site_code=site_code,
                    household_pk=h.id if h else None)
    uow.session.add(person)
    uow.session.flush()
    uow.session.add(PersonContact(trial_id=actor.trial_id, person_pk=person.id, version=1,
                                  ciphertext=encrypt_identifiers(encryption_key, clean), recorded_by=actor.username))
    uow.session.flush()
    return person


def update_contact(uow: UnitOfWork, actor: Actor, reference: str, changes: dict[str, Any], *,
                   encryption_key: str) -> int:
    """Record a new version of a person's contact details (fields not given are kept). Returns the version."""
    access.require(actor, access.RECRUITMENT_ROLES, "changing contact details")
    uow.ensure_unlocked(actor.trial_id)
    person = get_person(uow.session, actor, reference)
    latest = _latest(uow.session, person)
    merged = decrypt_identifiers(encryption_key, latest.ciphertext) if latest else {}
    merged.update(changes)
    clean = _check_contact({k: v for k, v in merged.items() if v not in (None, "")})
    with access.workflow_reason(uow, f"contact details of {reference} replaced by a new version"):
        if latest is not None:
            latest.superseded_at = datetime.now(UTC)
        version = (latest.version if latest else 0) + 1
        uow.session.add(PersonContact(trial_id=actor.trial_id, person_pk=person.id, version=version,
                                      ciphertext=encrypt_identifiers(encryption_key, clean), recorded_by=actor.username))
    return version


def _latest(session: Session, person: Person) -> PersonContact | None:
    return session.execute(select(PersonContact).where(PersonContact.person_pk == person.id)
                           .order_by(PersonContact.version.desc()).limit(1)).scalar_one_or_none()


def contact_of(session: Session, person_pk: int, encryption_key: str) -> dict[str, Any]:
    """The current contact details of a person (for sending invitations; no role check, no audit)."""
    row = session.execute(select(PersonContact).where(PersonContact.person_pk == person_pk)
                          .order_by(PersonContact.version.desc()).limit(1)).scalar_one_or_none()
    return decrypt_identifiers(encryption_key, row.ciphertext) if row else {}


def current_contact(uow: UnitOfWork, actor: Actor, reference: str, *, encryption_key: str) -> dict[str, Any]:
    """Decrypt a person's current contact details (site staff and trial managers); the reading is audited."""
    access.require(actor, access.RECRUITMENT_ROLES, "reading contact details")
    person = get_person(uow.session, actor, reference)
    latest = _latest(uow.session, person)
    if latest is None:
        return {}
    uow.log_event("contact_read", table_name="person_contacts", record_id=str(latest.id), trial_id=actor.trial_id,
                  detail={"person": reference, "version": latest.version})
    return {**decrypt_identifiers(encryption_key, latest.ciphertext), "version": latest.version}


def contact_history(session: Session, actor: Actor, reference: str) -> list[dict[str, Any]]:
    """The versions of a person's contact details (when and by whom; not the contents)."""
    access.require(actor, access.RECRUITMENT_ROLES, "reading contact history")
    person = get_person(session, actor, reference)
    rows = session.execute(select(PersonContact).where(PersonContact.person_pk == person.id)
                           .order_by(PersonContact.version)).scalars()
    return [{"version": r.version, "recorded_at": r.recorded_at.isoformat(), "recorded_by": r.recorded_by,
             "superseded_at": r.superseded_at.isoformat() if r.superseded_at else None} for r in rows]
