"""Enrolment: an eligible, consented, screened child becomes a participant with a pseudonymous trial ID.

The trial ID is ``<participant_prefix>-NNNN`` (``CARE-0014``), numbered in enrolment order within the trial.
Direct identifiers (name, date of birth, address, local-authority case number) are optional; when given
they are encrypted with the settings' key (Fernet) into the identifiers table and never appear anywhere
else, the audit trail included (it keeps a hash of the ciphertext).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from securebase.errors import ConflictError, FieldError, PermissionDenied
from securebase.store import UnitOfWork
from securebase.store.crypto import decrypt_identifiers, encrypt_identifiers
from securebase.store.tables import Consent, Identifier, Participant
from securebase.trial import access
from securebase.trial.consent import consent_status
from securebase.trial.paging import Paging, paged
from securebase.trial.roles import Actor, Role

SEXES = ("female", "male")
IDENTIFIER_FIELDS = ("name", "date_of_birth", "address", "postcode", "la_case_number", "nhs_number", "carer_name",
                     "carer_phone", "carer_email")


def _age_band(age: float) -> str:
    return "5-10" if int(age) <= 10 else "11-17"


def next_participant_id(session: Session, trial_id: str, prefix: str) -> str:
    ids = session.execute(select(Participant.participant_id).where(Participant.trial_id == trial_id)).scalars().all()
    numbers = [int(i.rsplit("-", 1)[1]) for i in ids if i.startswith(prefix + "-") and i.rsplit("-", 1)[1].isdigit()]
    return f"{prefix}-{max(numbers, default=0) + 1:04d}"


def enrol(uow: UnitOfWork, actor: Actor, screening_number: str, *, sex: str | None = None,
          enrolled_on: date | str | None = None, identifiers: dict[str, Any] | None = None,
          encryption_key: str | None = None) -> Participant:
    """Enrol the child of ``screening_number``: eligible and consented, not already enrolled.

    Strata (site, age band, care status or maltreatment type) are copied from the screening answers.
    ``identifiers`` needs ``encryption_key`` (settings.encryption_key).
    """
    access.require(actor, access.RECRUITMENT_ROLES, "enrolling a participant")
    uow.ensure_unlocked(actor.trial_id)
    rec = access.screening(uow.session, actor, screening_number)
    if rec.outcome == "enrolled" or rec.participant_pk is not None:
        raise ConflictError(f"{screening_number} is already enrolled")
    if not rec.eligible:
        raise ConflictError(f"{screening_number} is not eligible ({rec.ineligible_reasons}); it cannot be enrolled")
    status = consent_status(uow.session, actor, screening_number)
    if not status["complete"]:
        missing = [k for k in status["required"] if k not in status["given"]]
        raise ConflictError(f"{screening_number} cannot be enrolled before consent is complete "
                            f"(missing: {', '.join(missing) or 'none'}; refused: {', '.join(status['refused']) or 'none'}); "
                            "record the missing consent first")
    if sex is not None and sex not in SEXES:
        raise FieldError("sex", sex, "'female' or 'male' (as recorded)", "leave it blank if not recorded")
    on = access.not_future(access.parse_date(enrolled_on, "enrolled_on", access.today()), "enrolled_on")
    if on < rec.screened_on:
        raise FieldError("enrolled_on", on.isoformat(), f"on or after screening ({rec.screened_on.isoformat()})")
    protocol = access.protocol_of(uow.session, actor.trial_id)
    answers = dict(rec.answers or {})
    if answers.get("age_years") is None:
        raise ConflictError(f"{screening_number} has no age recorded; screen the child again with a date of birth")
    age = float(answers["age_years"])
    mtypes = answers.get("maltreatment_types") or answers.get("maltreatment_type")
    if isinstance(mtypes, str):
        mtypes = [t.strip() for t in mtypes.split(",") if t.strip()]
    mtype = mtypes[0] if mtypes else None
    uow.trial(actor.trial_id, for_update=True)
    pid = next_participant_id(uow.session, actor.trial_id, protocol.participant_prefix)
    strata: dict[str, Any] = {"site": rec.site_code, "age_band": _age_band(age)}
    if "care_status" in protocol.factor_names:
        strata["care_status"] = answers.get("care_status")
    if "maltreatment_type" in protocol.factor_names:
        strata["maltreatment_type"] = mtype
    p = Participant(trial_id=actor.trial_id, participant_id=pid, site_code=rec.site_code, status="enrolled",
                    enrolled_on=on, age_years=age, age_band=_age_band(age), sex=sex,
                    care_status=answers.get("care_status"), maltreatment_status=answers.get("maltreatment_status"),
                    maltreatment_type=mtype, strata=strata)
    uow.session.add(p)
    uow.session.flush()
    if identifiers:
        unknown = sorted(set(identifiers) - set(IDENTIFIER_FIELDS))
        if unknown:
            raise FieldError("identifiers", unknown, "fields among " + ", ".join(IDENTIFIER_FIELDS))
        uow.session.add(Identifier(trial_id=actor.trial_id, participant_pk=p.id,
                                   ciphertext=encrypt_identifiers(encryption_key or "", identifiers)))
        uow.session.flush()
    with access.workflow_reason(uow, "screening: enrolled"):
        rec.participant_pk = p.id
        rec.outcome = "enrolled"
        for c in uow.session.execute(select(Consent).where(Consent.screening_pk == rec.id)).scalars():
            c.participant_pk = p.id
    return p


def participant_dict(p: Participant) -> dict[str, Any]:
    return {"participant_id": p.participant_id, "site": p.site_code, "status": p.status,
            "enrolled_on": p.enrolled_on.isoformat(), "age_years": p.age_years, "age_band": p.age_band, "sex": p.sex,
            "care_status": p.care_status, "maltreatment_status": p.maltreatment_status,
            "maltreatment_type": p.maltreatment_type}


def list_participants(session: Session, actor: Actor, *, site_code: str | None = None,
                      page: Paging | None = None) -> list[dict[str, Any]]:
    access.require(actor, access.READ_ROLES, "listing participants")
    stmt = select(Participant).where(Participant.trial_id == actor.trial_id)
    if actor.sites is not None:
        stmt = stmt.where(Participant.site_code.in_(sorted(actor.sites)))
    if site_code:
        stmt = stmt.where(Participant.site_code == site_code)
    return [participant_dict(p) for p in session.execute(paged(session, stmt.order_by(Participant.participant_id), page)).scalars()]


def get_participant(session: Session, actor: Actor, participant_id: str) -> dict[str, Any]:
    access.require(actor, access.READ_ROLES, "reading a participant")
    return participant_dict(access.participant(session, actor, participant_id))


def read_identifiers(uow: UnitOfWork, actor: Actor, participant_id: str, *, encryption_key: str) -> dict[str, Any]:
    """Decrypt a participant's identifiers (site staff and trial managers only); the reading is audited."""
    access.require(actor, access.RECRUITMENT_ROLES, "reading identifiers")
    p = access.participant(uow.session, actor, participant_id)
    ident = uow.session.execute(select(Identifier).where(Identifier.participant_pk == p.id)).scalar_one_or_none()
    if ident is None:
        return {}
    if Role.site_recruiter not in actor.roles and not actor.has(Role.trial_manager, Role.administrator):
        raise PermissionDenied("reading identifiers needs the site recruiter or trial manager role")
    uow.log_event("identifiers_read", table_name="identifiers", record_id=str(ident.id), trial_id=actor.trial_id,
                  participant_id=participant_id, detail={"by": actor.username})
    return decrypt_identifiers(encryption_key, ident.ciphertext)
