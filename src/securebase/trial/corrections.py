"""Corrections and "entered in error": screening records, consent signatures, events and instrument forms
can be corrected or taken out of the data, each with a reason, audited, and reflected in the CONSORT counts.

A screening record entered in error keeps its number (numbers are never reused) with outcome
``entered_in_error`` and leaves the CONSORT "assessed for eligibility" count; a signature, an event or a
form entered in error is deleted (the audit trail keeps the old values with the reason) and listed in the
``entered_in_error`` register with a snapshot, so the page still shows what was withdrawn and why.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from securebase.errors import ConflictError, FieldError, NotFound
from securebase.protocol import check_eligibility
from securebase.store import UnitOfWork
from securebase.store.tables import Consent, EnteredInError, Event, Response, Score, ScreeningRecord
from securebase.trial import access, consent
from securebase.trial.roles import Actor, Role

#: Who may correct or withdraw records (site staff for their sites, the data manager and trial team).
CORRECTORS = access.RECRUITMENT_ROLES | {Role.data_manager}
LOCKED_OUTCOMES = ("enrolled",)


def _reason(uow: UnitOfWork, reason: str | None) -> str:
    text = (reason or "").strip()
    if len(text) < 5:
        raise FieldError("reason", reason, "a reason for the correction (at least a few words)",
                         "for example 'date of birth mistyped; checked against the referral form'")
    uow.reason = text
    return text


def _register(uow: UnitOfWork, actor: Actor, kind: str, reference: str, snapshot: dict[str, Any], reason: str, *,
              screening_number: str | None = None, participant_pk: int | None = None) -> EnteredInError:
    row = EnteredInError(trial_id=actor.trial_id, kind=kind, reference=reference, snapshot=access_json(snapshot),
                         reason=reason, marked_by=actor.username, screening_number=screening_number,
                         participant_pk=participant_pk)
    uow.session.add(row)
    uow.session.flush()
    return row


def access_json(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in d.items()}


def correct_screening(uow: UnitOfWork, actor: Actor, screening_number: str, *, answers: dict[str, Any],
                      reason: str) -> ScreeningRecord:
    """Replace a screening record's answers (eligibility re-evaluated). A child already consented or enrolled
    cannot be made ineligible here: that is a protocol deviation for the trial manager."""
    access.require(actor, CORRECTORS, "correcting a screening record")
    rec = access.screening(uow.session, actor, screening_number)
    text = _reason(uow, reason)
    if rec.outcome == "entered_in_error":
        raise ConflictError(f"{screening_number} was marked entered in error; screen the child again instead")
    from securebase.trial.screening import _clean_answers

    clean = _clean_answers(dict(answers), rec.screened_on)
    result = check_eligibility(access.protocol_of(uow.session, actor.trial_id), clean)
    if result.missing:
        raise FieldError("answers", ", ".join(result.missing), "every eligibility question answered")
    if not result.eligible and rec.outcome in ("consented", "enrolled"):
        raise ConflictError(f"{screening_number} is '{rec.outcome}'; the correction would make the child ineligible "
                            f"({'; '.join(result.reasons)}). Report it to the trial manager as a protocol deviation")
    rec.answers = clean
    rec.eligible = result.eligible
    rec.ineligible_reasons = "; ".join(result.reasons)
    if not result.eligible:
        rec.outcome = "ineligible"
    elif rec.outcome == "ineligible":
        rec.outcome = "eligible"
    uow.log_event("correct", table_name="screening", record_id=str(rec.id), trial_id=actor.trial_id,
                  detail={"screening_number": screening_number, "reason": text, "eligible": result.eligible})
    return rec


def screening_in_error(uow: UnitOfWork, actor: Actor, screening_number: str, *, reason: str) -> ScreeningRecord:
    """Take a screening record out of the log's counts (a duplicate, the wrong child, a test entry)."""
    access.require(actor, CORRECTORS, "marking a screening record entered in error")
    rec = access.screening(uow.session, actor, screening_number)
    text = _reason(uow, reason)
    if rec.outcome in LOCKED_OUTCOMES or rec.participant_pk is not None:
        raise ConflictError(f"{screening_number} is enrolled; an enrolled child is withdrawn, not marked entered in "
                            "error. Ask the trial manager")
    if rec.outcome == "entered_in_error":
        raise ConflictError(f"{screening_number} is already marked entered in error")
    _register(uow, actor, "screening", screening_number, {"outcome": rec.outcome, "eligible": rec.eligible,
                                                          "answers": dict(rec.answers or {})}, text,
              screening_number=screening_number)
    rec.outcome = "entered_in_error"
    return rec


def consent_in_error(uow: UnitOfWork, actor: Actor, screening_number: str, consent_id: int, *,
                     reason: str) -> EnteredInError:
    """Remove one signature recorded in error; the screening record's outcome follows what remains."""
    access.require(actor, CORRECTORS, "marking a signature entered in error")
    rec = access.screening(uow.session, actor, screening_number)
    text = _reason(uow, reason)
    c = uow.session.execute(select(Consent).where(Consent.id == consent_id, Consent.screening_pk == rec.id)).scalar_one_or_none()
    if c is None:
        raise NotFound(f"signature {consent_id} is not on {screening_number}; choose one from the list on the page")
    if rec.outcome == "enrolled":
        raise ConflictError(f"{screening_number} is enrolled; a signature of an enrolled child cannot be withdrawn here. "
                            "Ask the trial manager")
    row = _register(uow, actor, "consent", f"{consent.KIND_LABELS.get(c.kind, c.kind)}, {consent.form_label(c.form_version)}",
                    {"kind": c.kind, "form_version": c.form_version, "signatory_role": c.signatory_role,
                     "given": c.given, "signed_on": c.signed_on, "recorded_by": c.recorded_by}, text,
                    screening_number=screening_number)
    uow.session.delete(c)
    uow.session.flush()
    st = consent.consent_status(uow.session, actor, screening_number)
    if rec.outcome == "consented" and not st["complete"]:
        rec.outcome = "approached"
    elif rec.outcome == "declined" and rec.declined_reason and "refused" in rec.declined_reason and not st["refused"]:
        rec.outcome, rec.declined_reason = "approached", None
    return row


def event_in_error(uow: UnitOfWork, actor: Actor, participant_id: str, event_id: int, *, reason: str) -> EnteredInError:
    access.require(actor, access.EVENT_ROLES, "marking an event entered in error")
    p = access.participant(uow.session, actor, participant_id)
    text = _reason(uow, reason)
    ev = uow.session.execute(select(Event).where(Event.id == event_id, Event.participant_pk == p.id)).scalar_one_or_none()
    if ev is None:
        raise NotFound(f"event {event_id} is not recorded for {participant_id}; choose one from the list on the page")
    row = _register(uow, actor, "event", f"{ev.event_type.replace('_', ' ')} on {ev.occurred_on.isoformat()}",
                    {"event_type": ev.event_type, "occurred_on": ev.occurred_on, "details": dict(ev.details or {}),
                     "recorded_by": ev.recorded_by}, text, participant_pk=p.id)
    uow.session.delete(ev)
    return row


def form_in_error(uow: UnitOfWork, actor: Actor, participant_id: str, visit_id: str, instrument: str, *,
                  entry: int = 1, reason: str) -> EnteredInError:
    """Remove a form's answers (and, for the first entry, its scores): the wrong child, visit or form."""
    from securebase.trial.data_entry import _check_role, get_visit

    p, v = get_visit(uow.session, actor, participant_id, visit_id)
    rows = uow.session.execute(select(Response).where(Response.visit_pk == v.id, Response.instrument == instrument,
                                                      Response.entry == entry)).scalars().all()
    if not rows:
        raise NotFound(f"no answers of {instrument} (entry {entry}) are saved at {visit_id} for {participant_id}")
    _check_role(actor, rows[0].respondent)
    text = _reason(uow, reason)
    row = _register(uow, actor, "form", f"{instrument} at {visit_id} (entry {entry})",
                    {"instrument": instrument, "visit": visit_id, "entry": entry, "items": len(rows),
                     "entered_by": sorted({r.entered_by for r in rows})}, text, participant_pk=p.id)
    for r in rows:  # one by one, so that each deletion is audited with its old value
        uow.session.delete(r)
    if entry == 1:
        for s in uow.session.execute(select(Score).where(Score.visit_pk == v.id, Score.instrument == instrument)).scalars():
            uow.session.delete(s)
    return row


def register(session: Session, actor: Actor, *, screening_number: str | None = None,
             participant_id: str | None = None) -> list[dict[str, Any]]:
    """The records marked entered in error for one screening record or participant."""
    access.require(actor, access.READ_ROLES, "reading corrections")
    stmt = select(EnteredInError).where(EnteredInError.trial_id == actor.trial_id)
    if screening_number:
        access.screening(session, actor, screening_number)
        stmt = stmt.where(EnteredInError.screening_number == screening_number)
    if participant_id:
        stmt = stmt.where(EnteredInError.participant_pk == access.participant(session, actor, participant_id).id)
    return [{"kind": r.kind, "what": r.reference, "reason": r.reason, "by": r.marked_by,
             "at": r.marked_at.strftime("%Y-%m-%d %H:%M")} for r in session.execute(stmt.order_by(EnteredInError.id)).scalars()]


__all__ = ["ScreeningRecord", "consent_in_error", "correct_screening", "event_in_error", "form_in_error", "register",
           "screening_in_error"]
