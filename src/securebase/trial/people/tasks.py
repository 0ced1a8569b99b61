"""Consent work opened by changes in a child's life: a new carer's consent after a placement move, and the
young person's own re-consent when they turn 16 (Gillick/Mental Capacity Act age) and 18 (adult)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from securebase.errors import FieldError, NotFound
from securebase.store import UnitOfWork
from securebase.store.tables import Participant, PeopleTask, Person
from securebase.trial import access
from securebase.trial.roles import Actor

TASK_KINDS = ("carer_consent", "reconsent_16", "reconsent_18")
RECONSENT_AGES = {16: "reconsent_16", 18: "reconsent_18"}
WITHDRAWN = ("withdrawn_follow_up", "withdrawn_data_use")


def open_task(uow: UnitOfWork, p: Participant, kind: str, due_on: date, *, person_pk: int | None = None,
              why: str = "") -> PeopleTask:
    """Open a task unless the same one (child, kind, person) exists already; returns the task."""
    found = uow.session.execute(select(PeopleTask).where(PeopleTask.participant_pk == p.id, PeopleTask.kind == kind,
                                                         PeopleTask.person_pk.is_(None) if person_pk is None
                                                         else PeopleTask.person_pk == person_pk)).scalar_one_or_none()
    if found is not None:
        return found
    task = PeopleTask(trial_id=p.trial_id, participant_pk=p.id, person_pk=person_pk, kind=kind, due_on=due_on,
                      status="open", why=why)
    uow.session.add(task)
    uow.session.flush()
    return task


def open_reconsent_tasks(uow: UnitOfWork, actor: Actor, *, on: date | None = None) -> list[dict[str, Any]]:
    """Open a re-consent task for every child in follow-up who has turned 16 or 18 by ``on``.

    The birthday is estimated from the age recorded at enrolment (the store keeps no date of birth outside
    the encrypted identifiers); the task is due on the birthday. Running it again opens nothing twice.
    """
    from securebase.trial.people.links import age_on

    access.require(actor, access.RECRUITMENT_ROLES, "opening re-consent tasks")
    on = on or access.today()
    stmt = select(Participant).where(Participant.trial_id == actor.trial_id, Participant.status.not_in(WITHDRAWN))
    opened = []
    for p in uow.session.execute(stmt).scalars():
        if not actor.can_reach_site(p.site_code):
            continue
        for age, kind in RECONSENT_AGES.items():
            if age_on(p, on) >= age:
                birthday = p.enrolled_on + timedelta(days=round((age - p.age_years) * 365.25))
                before = uow.session.execute(select(PeopleTask.id).where(
                    PeopleTask.participant_pk == p.id, PeopleTask.kind == kind)).first()
                if before is None:
                    t = open_task(uow, p, kind, max(birthday, p.enrolled_on),
                                  why=f"{p.participant_id} turned {age}; their own consent is needed to continue")
                    opened.append(task_dict(t, p, None))
    return opened


def task_dict(t: PeopleTask, p: Participant, person: Person | None) -> dict[str, Any]:
    return {"id": t.id, "participant_id": p.participant_id, "site": p.site_code, "kind": t.kind,
            "person": person.reference if person else None, "due_on": t.due_on.isoformat(), "status": t.status,
            "why": t.why}


def open_tasks(session: Session, actor: Actor, *, participant_id: str | None = None) -> list[dict[str, Any]]:
    access.require(actor, access.RECRUITMENT_ROLES, "listing consent tasks")
    stmt = (select(PeopleTask, Participant).join(Participant, Participant.id == PeopleTask.participant_pk)
            .where(PeopleTask.trial_id == actor.trial_id, PeopleTask.status == "open").order_by(PeopleTask.due_on))
    if participant_id:
        stmt = stmt.where(Participant.participant_id == participant_id)
    out = []
    for t, p in session.execute(stmt).all():
        if actor.can_reach_site(p.site_code):
            out.append(task_dict(t, p, session.get(Person, t.person_pk) if t.person_pk else None))
    return out


def close_task(uow: UnitOfWork, actor: Actor, task_id: int, *, status: str = "done", on: date | None = None) -> PeopleTask:
    """Mark a task done (consent taken) or cancelled."""
    access.require(actor, access.RECRUITMENT_ROLES, "closing a consent task")
    if status not in ("done", "cancelled"):
        raise FieldError("status", status, "done or cancelled")
    t = uow.session.get(PeopleTask, task_id)
    p = uow.session.get(Participant, t.participant_pk) if t else None
    if t is None or p is None or t.trial_id != actor.trial_id or not actor.can_reach_site(p.site_code):
        raise NotFound(f"consent task {task_id} not found in trial '{actor.trial_id}'; list tasks to find its number")
    with access.workflow_reason(uow, f"consent task {t.kind} {status}"):
        t.status, t.closed_on, t.closed_by = status, on or access.today(), actor.username
    return t
