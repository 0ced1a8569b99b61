"""Consent, assent and withdrawal.

Consent is taken before enrolment, against a screening record: the carer's consent, the child's or young
person's assent on the form for their age, and the local authority's consent where it holds parental
responsibility. A looked-after child on a care order has a local authority sharing parental responsibility
(Children Act 1989 s.33(3)(a)); the screening answer ``la_parental_responsibility`` says so explicitly, and
otherwise foster, kinship and residential placements are taken to need it. Each consent form is versioned
(the version approved by the ethics committee); several people may sign (both adoptive parents, a carer
and a social worker). Age-appropriate forms: a pictorial assent form at 5-10, a written assent form at
11-15 and the young person's own consent at 16-17 (young people of 16 and 17 are presumed able to
consent, HRA "Consent and participant information guidance", research involving children).

Withdrawal has three levels; each stops something different (``WITHDRAWAL_LEVELS``) and keeps the data
already collected unless the level is ``data_use``.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from securebase.errors import ConflictError, FieldError
from securebase.store import UnitOfWork
from securebase.store.tables import Consent, Participant, ScreeningRecord, Visit, Withdrawal
from securebase.trial import access
from securebase.trial.roles import Actor

KINDS = ("carer_consent", "child_assent", "la_consent", "qualitative")
SIGNATORY_ROLES = ("adoptive_parent", "foster_carer", "kinship_carer", "special_guardian", "birth_parent",
                   "residential_key_worker", "social_worker", "local_authority_delegate", "child", "young_person")
LA_PR_PLACEMENTS = frozenset({"foster", "kinship", "residential"})
VERSION_RE = re.compile(r"^\d+(\.\d+){0,2}$")

#: What each withdrawal level stops (shown to staff when recording it).
WITHDRAWAL_LEVELS: dict[str, str] = {
    "intervention": "stops further intervention sessions; follow-up visits and data use continue",
    "follow_up": "stops further follow-up visits and data collection; data already collected are kept and analysed",
    "data_use": "stops follow-up and any further use of the participant's data: they are left out of analysis "
                "datasets from the withdrawal date on (data collected before it are kept, as consented)",
}


def assent_form(age_years: float) -> str:
    """The child's form for an age in completed years."""
    if age_years < 11:
        return "assent_5_10"
    if age_years < 16:
        return "assent_11_15"
    return "consent_16_17"


def needs_la_consent(answers: dict[str, Any]) -> bool:
    explicit = answers.get("la_parental_responsibility")
    if explicit is not None:
        return explicit is True or str(explicit).lower() in ("1", "true", "yes", "y")
    return str(answers.get("care_status", "")) in LA_PR_PLACEMENTS


def required_kinds(rec: ScreeningRecord) -> list[str]:
    kinds = ["carer_consent", "child_assent"]
    if needs_la_consent(rec.answers or {}):
        kinds.append("la_consent")
    return kinds


KIND_LABELS = {"carer_consent": "Carer's consent", "child_assent": "Child's assent", "la_consent": "Local authority consent",
               "qualitative": "Consent to a qualitative interview"}
FORM_LABELS = {"carer_consent": "carer consent form", "la_consent": "local authority consent form",
               "qualitative": "qualitative interview consent form", "assent_5_10": "pictorial assent form (5-10)",
               "assent_11_15": "written assent form (11-15)", "consent_16_17": "young person's consent form (16-17)"}
_VERSION_PREFIX = re.compile(r"^(version|ver\.?|v\.?)\s*", re.IGNORECASE)


def normalise_version(version: str | None) -> str:
    """"v1.0", "V 1.0", "version 1.0" and "1.0" are the same form version: "1.0"."""
    return _VERSION_PREFIX.sub("", str(version or "").strip()).strip()


def form_label(stored: str) -> str:
    """A stored form version ("carer_consent v1.0") as people read it ("carer consent form, version 1.0")."""
    form, _, version = stored.rpartition(" v")
    if not form:
        return stored
    return f"{FORM_LABELS.get(form, form.replace('_', ' '))}, version {version}"


def _form_version(kind: str, version: str, age: float | None) -> str:
    clean = normalise_version(version)
    if not VERSION_RE.match(clean):
        raise FieldError("form_version", version, "the approved form version number, like 2.1 (a leading 'v' is fine)",
                         "copy it from the footer of the signed form")
    form = assent_form(age) if kind == "child_assent" and age is not None else kind
    return f"{form} v{clean}"


def record_consent(uow: UnitOfWork, actor: Actor, screening_number: str, *, kind: str, form_version: str,
                   signatory_role: str, signed_on: date | str | None = None, given: bool = True) -> Consent:
    """Record one signature (or a refusal) on a versioned form; the screening record moves to 'consented'
    once every required kind has been given, or to 'declined' on a refusal."""
    access.require(actor, access.RECRUITMENT_ROLES, "recording consent")
    rec = access.screening(uow.session, actor, screening_number)
    if kind not in KINDS:
        raise FieldError("kind", kind, "one of " + ", ".join(KINDS))
    if signatory_role not in SIGNATORY_ROLES:
        raise FieldError("signatory_role", signatory_role, "one of " + ", ".join(SIGNATORY_ROLES))
    if not rec.eligible:
        raise ConflictError(f"{screening_number} is not eligible ({rec.ineligible_reasons}); consent is not taken")
    if rec.outcome in ("declined", "not_approached") and kind != "qualitative":
        raise ConflictError(f"{screening_number} is '{rec.outcome}'; screen the child again if the family changes its mind")
    if kind == "child_assent" and signatory_role not in ("child", "young_person"):
        raise FieldError("signatory_role", signatory_role, "'child' or 'young_person' for the child's assent")
    if kind == "la_consent" and signatory_role not in ("social_worker", "local_authority_delegate"):
        raise FieldError("signatory_role", signatory_role, "'social_worker' or 'local_authority_delegate' for "
                         "local authority consent")
    on = access.not_future(access.parse_date(signed_on, "signed_on", access.today()), "signed_on")
    if on < rec.screened_on:
        raise FieldError("signed_on", on.isoformat(), f"on or after the screening date {rec.screened_on.isoformat()}")
    age = (rec.answers or {}).get("age_years")
    c = Consent(trial_id=actor.trial_id, screening_pk=rec.id, participant_pk=rec.participant_pk, kind=kind,
                form_version=_form_version(kind, form_version, float(age) if age is not None else None),
                signatory_role=signatory_role, given=bool(given), signed_on=on, recorded_by=actor.username)
    uow.session.add(c)
    uow.session.flush()
    if rec.outcome in ("eligible", "approached") or (not given and rec.outcome == "consented"):
        status = consent_status(uow.session, actor, screening_number)
        new = "declined" if not given and kind != "qualitative" else ("consented" if status["complete"] else None)
        if new:
            with access.workflow_reason(uow, f"screening: {new} ({kind})"):
                rec.approached = True
                rec.outcome = new
                if new == "declined":
                    rec.declined_reason = f"{kind.replace('_', ' ')} refused"
    return c


def consent_status(session: Session, actor: Actor, screening_number: str) -> dict[str, Any]:
    """Which kinds are required, given, refused; and whether consent is complete."""
    rec = access.screening(session, actor, screening_number)
    rows = session.execute(select(Consent).where(Consent.screening_pk == rec.id).order_by(Consent.id)).scalars().all()
    required = required_kinds(rec)
    given = sorted({c.kind for c in rows if c.given})
    refused = sorted({c.kind for c in rows if not c.given})
    age = (rec.answers or {}).get("age_years")
    return {"screening_number": rec.screening_number, "required": required, "given": given, "refused": refused,
            "complete": all(k in given for k in required) and not (set(refused) & set(required)),
            "child_form": assent_form(float(age)) if age is not None else None,
            "signatures": [{"id": c.id, "kind": c.kind, "kind_label": KIND_LABELS.get(c.kind, c.kind),
                            "form_label": form_label(c.form_version), "form_version": c.form_version, "signatory_role": c.signatory_role,
                            "given": c.given, "signed_on": c.signed_on.isoformat(), "recorded_by": c.recorded_by}
                           for c in rows]}


def withdraw(uow: UnitOfWork, actor: Actor, participant_id: str, *, level: str, reason: str,
             withdrawn_on: date | str | None = None) -> Withdrawal:
    """Record a withdrawal at ``level`` (see WITHDRAWAL_LEVELS) and apply what it stops.

    follow_up and data_use cancel the visits not yet done (status 'withdrawn') and set the participant's
    status; an intervention withdrawal reveals allocation, so only roles that may see allocation record it.
    """
    access.require(actor, access.RECRUITMENT_ROLES | {access.Role.data_manager}, "recording a withdrawal")
    if level not in WITHDRAWAL_LEVELS:
        raise FieldError("level", level, "one of " + ", ".join(WITHDRAWAL_LEVELS))
    if level == "intervention":
        access.require_unblinded(actor, "recording this kind of withdrawal")
    p = access.participant(uow.session, actor, participant_id)
    if not (reason or "").strip():
        raise FieldError("reason", reason, "the reason given (or 'not given')", "participants need not give a reason")
    on = access.not_future(access.parse_date(withdrawn_on, "withdrawn_on", access.today()), "withdrawn_on")
    if on < p.enrolled_on:
        raise FieldError("withdrawn_on", on.isoformat(), f"on or after enrolment ({p.enrolled_on.isoformat()})")
    done = {w.level for w in uow.session.execute(select(Withdrawal).where(Withdrawal.participant_pk == p.id)).scalars()}
    if level in done:
        raise ConflictError(f"{participant_id} has already withdrawn from {level.replace('_', ' ')}")
    w = Withdrawal(trial_id=actor.trial_id, participant_pk=p.id, level=level, withdrawn_on=on, reason=reason.strip())
    uow.session.add(w)
    uow.session.flush()
    if level in ("follow_up", "data_use"):
        with access.workflow_reason(uow, f"withdrawal from {level.replace('_', ' ')}"):
            p.status = "withdrawn_data_use" if level == "data_use" or p.status == "withdrawn_data_use" else "withdrawn_follow_up"
            for v in uow.session.execute(select(Visit).where(Visit.participant_pk == p.id,
                                                             Visit.status == "scheduled")).scalars():
                v.status = "withdrawn"
    return w


def withdrawals(session: Session, actor: Actor, participant_id: str) -> list[dict[str, Any]]:
    """A participant's withdrawals; withdrawals from the intervention are hidden from blinded roles."""
    access.require(actor, access.READ_ROLES, "reading withdrawals")
    p = access.participant(session, actor, participant_id)
    rows = session.execute(select(Withdrawal).where(Withdrawal.participant_pk == p.id).order_by(Withdrawal.id)).scalars()
    return [{"level": w.level, "withdrawn_on": w.withdrawn_on.isoformat(), "reason": w.reason,
             "stops": WITHDRAWAL_LEVELS[w.level]} for w in rows
            if actor.can_see_allocation() or w.level != "intervention"]


def withdrawn_levels(session: Session, participant: Participant) -> dict[str, date]:
    rows = session.execute(select(Withdrawal).where(Withdrawal.participant_pk == participant.id)).scalars()
    return {w.level: w.withdrawn_on for w in rows}
