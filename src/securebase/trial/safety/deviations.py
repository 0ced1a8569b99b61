"""Protocol deviations and serious breaches, with categories from the protocol, the site and the corrective
action; the accidental unblinding of an outcome assessor is a deviation of category ``blinding`` that names
the assessor. A serious breach (UK Policy Framework for Health and Social Care Research; HRA) is reported
within ``safety.serious_breach_days`` (7) days of the team becoming aware: due on ``aware_on + 7``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from securebase.errors import FieldError
from securebase.store import UnitOfWork
from securebase.store.tables import Participant, ProtocolDeviation, User, UserRole
from securebase.trial import access
from securebase.trial.roles import Actor, Role

#: Who records deviations.
DEVIATION_ROLES = frozenset({Role.trial_manager, Role.administrator, Role.data_manager, Role.chief_investigator,
                             Role.site_recruiter, Role.outcome_assessor})


def reference(dev_id: int) -> str:
    return f"DEV-{dev_id:04d}"


def record_deviation(uow: UnitOfWork, actor: Actor, *, site_code: str, category: str, description: str,
                     occurred_on: date | str, aware_on: date | str | None = None, serious_breach: bool = False,
                     corrective_action: str = "", participant_id: str | None = None,
                     unblinded_assessor: str | None = None, today: date | None = None) -> ProtocolDeviation:
    access.require(actor, DEVIATION_ROLES, "recording a protocol deviation")
    uow.ensure_unlocked(actor.trial_id)
    plan = access.protocol_of(uow.session, actor.trial_id).safety
    access.check_site_exists(uow.session, actor.trial_id, site_code)
    access.require_site(actor, site_code)
    cats = [c.id for c in plan.deviation_categories]
    if category not in cats:
        raise FieldError("category", category, "one of " + ", ".join(cats))
    now = today or access.today()
    occurred = access.parse_date(occurred_on, "occurred_on")
    aware = access.parse_date(aware_on, "aware_on", default=now)
    for name, d in (("occurred_on", occurred), ("aware_on", aware)):
        if d > now:
            raise FieldError(name, d.isoformat(), f"a date not after today ({now.isoformat()})")
    if aware < occurred:
        raise FieldError("aware_on", aware.isoformat(), f"a date on or after the deviation ({occurred.isoformat()})")
    text = access.clean_text(description, "description", max_length=5000).strip()
    if not text:
        raise FieldError("description", description, "what happened")
    p_pk = None
    if participant_id:
        p = access.participant(uow.session, actor, participant_id)
        if p.site_code != site_code:
            raise FieldError("site_code", site_code, f"the participant's site ({p.site_code})")
        p_pk = p.id
    if category == "blinding":
        if not unblinded_assessor:
            raise FieldError("unblinded_assessor", unblinded_assessor, "the user name of the assessor who was unblinded")
        ok = uow.session.execute(select(UserRole.id).join(User, User.id == UserRole.user_id).where(
            User.username == unblinded_assessor, UserRole.trial_id == actor.trial_id,
            UserRole.role == Role.outcome_assessor.value)).first()
        if ok is None:
            raise FieldError("unblinded_assessor", unblinded_assessor,
                             f"a user with the role outcome_assessor on trial '{actor.trial_id}'")
    elif unblinded_assessor:
        raise FieldError("unblinded_assessor", unblinded_assessor, "empty unless the category is 'blinding'")
    dev = ProtocolDeviation(
        trial_id=actor.trial_id, site_code=site_code, participant_pk=p_pk, category=category, description=text,
        occurred_on=occurred, aware_on=aware, serious_breach=bool(serious_breach),
        report_due_on=aware + timedelta(days=plan.serious_breach_days) if serious_breach else None,
        corrective_action=access.clean_text(corrective_action, "corrective_action", max_length=5000).strip(),
        unblinded_assessor=unblinded_assessor, recorded_by=actor.username, recorded_at=datetime.now(UTC))
    uow.session.add(dev)
    uow.session.flush()
    return dev


def record_assessor_unblinding(uow: UnitOfWork, actor: Actor, participant_id: str, *, assessor: str, how: str,
                               occurred_on: date | str, corrective_action: str = "", today: date | None = None
                               ) -> ProtocolDeviation:
    """An outcome assessor learned a participant's allocation by accident (e.g. the carer mentioned the group)."""
    p = access.participant(uow.session, actor, participant_id)
    return record_deviation(uow, actor, site_code=p.site_code, category="blinding", description=how,
                            occurred_on=occurred_on, corrective_action=corrective_action,
                            participant_id=participant_id, unblinded_assessor=assessor, today=today)


def mark_reported(uow: UnitOfWork, actor: Actor, dev_id: int, reported_on: date | str, *,
                  today: date | None = None) -> ProtocolDeviation:
    access.require(actor, frozenset({Role.trial_manager, Role.chief_investigator}), "marking a breach reported")
    dev = uow.session.get(ProtocolDeviation, dev_id)
    if dev is None or dev.trial_id != actor.trial_id or not actor.can_reach_site(dev.site_code):
        raise FieldError("deviation_id", dev_id, f"the number of a deviation recorded in trial '{actor.trial_id}'")
    on = access.parse_date(reported_on, "reported_on")
    if on > (today or access.today()) or on < dev.aware_on:
        raise FieldError("reported_on", on.isoformat(), f"a date from {dev.aware_on} to today")
    with access.workflow_reason(uow, "serious breach reported"):
        dev.reported_on = on
    return dev


def as_dict(d: ProtocolDeviation, pid: str | None, on: date) -> dict[str, Any]:
    return {"id": d.id, "reference": reference(d.id), "site": d.site_code, "participant_id": pid,
            "category": d.category, "description": d.description, "occurred_on": d.occurred_on.isoformat(),
            "aware_on": d.aware_on.isoformat(), "serious_breach": d.serious_breach,
            "report_due_on": d.report_due_on.isoformat() if d.report_due_on else None,
            "reported_on": d.reported_on.isoformat() if d.reported_on else None,
            "overdue": bool(d.report_due_on and not d.reported_on and on > d.report_due_on),
            "corrective_action": d.corrective_action, "unblinded_assessor": d.unblinded_assessor,
            "recorded_by": d.recorded_by}


def list_deviations(session: Session, actor: Actor, *, on: date | None = None,
                    overdue_only: bool = False) -> list[dict[str, Any]]:
    access.require(actor, access.READ_ROLES, "reading protocol deviations")
    day = on or access.today()
    rows = session.execute(select(ProtocolDeviation, Participant.participant_id)
                           .outerjoin(Participant, Participant.id == ProtocolDeviation.participant_pk)
                           .where(ProtocolDeviation.trial_id == actor.trial_id)
                           .order_by(ProtocolDeviation.aware_on, ProtocolDeviation.id)).all()
    out = [as_dict(d, pid, day) for d, pid in rows if actor.can_reach_site(d.site_code)]
    return [d for d in out if d["overdue"]] if overdue_only else out


__all__ = ["list_deviations", "mark_reported", "record_assessor_unblinding", "record_deviation"]
