"""Visit lists and visit outcomes.

Visit rows (due date and window, from the randomisation date: ``protocol.visit_windows``) are created at
randomisation by :mod:`securebase.trial.randomise`. Here: the lists of upcoming and overdue assessments for
an assessor or a site, and recording a visit's outcome (completed, partly completed, missed with a reason).
A visit is *overdue* when it is still scheduled after its window has closed, *upcoming* when it is scheduled
and its window opens within the horizon. Nothing here mentions allocation.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from securebase.errors import ConflictError, FieldError, NotFound
from securebase.store import UnitOfWork
from securebase.store.tables import Participant, Visit
from securebase.trial import access
from securebase.trial.paging import Paging, paged
from securebase.trial.roles import Actor, Role

OUTCOMES = ("completed", "partial", "missed")
MISSED_REASONS = ("could_not_contact", "declined_visit", "moved_away", "placement_ended", "child_unwell",
                  "assessor_unavailable", "outside_window", "other")


def visit_dict(v: Visit, p: Participant, label: str, on: date | None = None) -> dict[str, Any]:
    on = on or access.today()
    return {"participant_id": p.participant_id, "site": p.site_code, "visit_id": v.visit_id, "label": label,
            "month": v.month, "due_on": v.due_on.isoformat(), "window_opens": v.window_opens.isoformat(),
            "window_closes": v.window_closes.isoformat(), "status": v.status,
            "completed_on": v.completed_on.isoformat() if v.completed_on else None, "missed_reason": v.missed_reason,
            "assessor": v.assessor,
            "overdue": v.status == "scheduled" and v.window_closes < on,
            "days_overdue": (on - v.window_closes).days if v.status == "scheduled" and v.window_closes < on else 0}


def _labels(session: Session, trial_id: str) -> dict[str, str]:
    return {v.id: v.label for v in access.protocol_of(session, trial_id).visits}


def _scheduled(session: Session, actor: Actor, site_code: str | None, assessor: str | None, *window: Any,
               order: tuple[Any, ...] = (Visit.window_opens, Participant.participant_id),
               page: Paging | None = None) -> list[tuple[Visit, Participant]]:
    """Scheduled visits of reachable sites; the window filter and order run in the database (indexed on
    trial, status and window), so a list costs what it returns, not what the trial holds."""
    stmt = (select(Visit, Participant).join(Participant, Participant.id == Visit.participant_pk)
            .where(Visit.trial_id == actor.trial_id, Visit.status == "scheduled", *window,
                   Participant.status.not_in(["withdrawn_follow_up", "withdrawn_data_use"])))
    if actor.sites is not None:
        stmt = stmt.where(Participant.site_code.in_(sorted(actor.sites)))
    if site_code:
        stmt = stmt.where(Participant.site_code == site_code)
    if assessor:
        stmt = stmt.where((Visit.assessor == assessor) | (Visit.assessor.is_(None)))
    return [(v, p) for v, p in session.execute(paged(session, stmt.order_by(*order), page)).all()]


def upcoming_visits(session: Session, actor: Actor, *, on: date | None = None, horizon_days: int = 60,
                    site_code: str | None = None, assessor: str | None = None,
                    page: Paging | None = None) -> list[dict[str, Any]]:
    """Scheduled visits whose window has not closed and opens within ``horizon_days`` of ``on``."""
    access.require(actor, access.VISIT_ROLES, "listing visits")
    on = on or access.today()
    labels = _labels(session, actor.trial_id)
    rows = _scheduled(session, actor, site_code, assessor, Visit.window_closes >= on,
                      Visit.window_opens <= on + timedelta(days=horizon_days), page=page)
    return [visit_dict(v, p, labels.get(v.visit_id, v.visit_id), on) for v, p in rows]


def overdue_visits(session: Session, actor: Actor, *, on: date | None = None, site_code: str | None = None,
                   assessor: str | None = None, page: Paging | None = None) -> list[dict[str, Any]]:
    """Scheduled visits whose window closed before ``on`` (most overdue first: the database orders by the
    date the window closed, so each page continues where the last ended)."""
    access.require(actor, access.VISIT_ROLES, "listing visits")
    on = on or access.today()
    labels = _labels(session, actor.trial_id)
    rows = _scheduled(session, actor, site_code, assessor, Visit.window_closes < on,
                      order=(Visit.window_closes, Visit.window_opens, Participant.participant_id), page=page)
    out = [visit_dict(v, p, labels.get(v.visit_id, v.visit_id), on) for v, p in rows]
    return sorted(out, key=lambda d: -d["days_overdue"])  # stable: keeps the database order within a day


def participant_visits(session: Session, actor: Actor, participant_id: str) -> list[dict[str, Any]]:
    access.require(actor, access.VISIT_ROLES, "reading visits")
    p = access.participant(session, actor, participant_id)
    labels = _labels(session, actor.trial_id)
    rows = session.execute(select(Visit).where(Visit.participant_pk == p.id).order_by(Visit.month)).scalars()
    return [visit_dict(v, p, labels.get(v.visit_id, v.visit_id)) for v in rows]


def get_visit(session: Session, actor: Actor, participant_id: str, visit_id: str) -> tuple[Participant, Visit]:
    p = access.participant(session, actor, participant_id)
    v = session.execute(select(Visit).where(Visit.participant_pk == p.id, Visit.visit_id == visit_id)).scalar_one_or_none()
    if v is None:
        raise NotFound(f"visit '{visit_id}' of {participant_id} not found; visits are scheduled at randomisation "
                       f"(visits: {', '.join(sorted(_labels(session, actor.trial_id)))})")
    return p, v


def record_visit_outcome(uow: UnitOfWork, actor: Actor, participant_id: str, visit_id: str, *, status: str,
                         completed_on: date | str | None = None, missed_reason: str | None = None,
                         assessor: str | None = None) -> Visit:
    """Record that a visit was completed, partly completed (on a date) or missed (with a reason).

    Changing an outcome already recorded is a change to saved data and needs the unit of work's reason.
    """
    access.require(actor, access.VISIT_ROLES - {Role.coder}, "recording a visit outcome")
    uow.ensure_unlocked(actor.trial_id)
    p, v = get_visit(uow.session, actor, participant_id, visit_id)
    if status not in OUTCOMES:
        raise FieldError("status", status, "one of " + ", ".join(OUTCOMES))
    if p.status in ("withdrawn_follow_up", "withdrawn_data_use") or v.status == "withdrawn":
        raise ConflictError(f"{participant_id} has withdrawn from follow-up; no visit outcome can be recorded")
    first = v.status == "scheduled"
    if status == "missed" and missed_reason not in MISSED_REASONS:
        raise FieldError("missed_reason", missed_reason, "one of " + ", ".join(MISSED_REASONS),
                         "say why the visit did not happen")
    if assessor:
        _check_assessor(uow.session, actor, p, assessor)
    d = None
    if status != "missed":
        d = access.not_future(access.parse_date(completed_on, "completed_on", access.today()), "completed_on")
        if d < v.window_opens - timedelta(days=60):
            raise FieldError("completed_on", d.isoformat(), f"a date near the visit window ({v.window_opens} to "
                             f"{v.window_closes})", "check the date")
    if first:
        with access.workflow_reason(uow, f"visit outcome recorded: {status}"):
            _apply(v, actor, status, d, missed_reason, assessor)
    else:
        _apply(v, actor, status, d, missed_reason, assessor)
        uow.session.flush()
    return v


def _apply(v: Visit, actor: Actor, status: str, d: date | None, missed_reason: str | None, assessor: str | None) -> None:
    if status == "missed":
        v.completed_on = None
        v.missed_reason = missed_reason
    else:
        v.completed_on = d
        v.missed_reason = None
    v.status = status
    if assessor is not None:
        v.assessor = assessor or None
    elif v.assessor is None and actor.has(Role.outcome_assessor):
        v.assessor = actor.username


def _check_assessor(session: Any, actor: Actor, p: Participant, assessor: str) -> None:
    """The assessor of a visit must be a blinded outcome assessor or coder of the trial who works at the site."""
    from securebase.trial.audit_view import actor_for

    try:
        who = actor_for(session, assessor, actor.trial_id)
    except access.PermissionDenied:
        raise FieldError("assessor", assessor, f"a user with a role on trial '{actor.trial_id}'") from None
    if not who.has(Role.outcome_assessor, Role.coder) or who.can_see_allocation():
        raise FieldError("assessor", assessor, "a blinded outcome assessor or coder",
                         "outcome assessments are done by someone who does not know the allocation")
    if not who.can_reach_site(p.site_code):
        raise FieldError("assessor", assessor, f"an assessor working at site {p.site_code}")


def assign_assessor(uow: UnitOfWork, actor: Actor, participant_id: str, visit_id: str, assessor: str) -> Visit:
    """Give a visit to a (blinded) assessor. Assigning a scheduled visit is a workflow step; changing the
    assessor of a visit already done is a change to saved data and needs the person's reason."""
    access.require(actor, {Role.trial_manager, Role.administrator, Role.data_manager, Role.site_recruiter},
                   "assigning an assessor")
    uow.ensure_unlocked(actor.trial_id)
    p, v = get_visit(uow.session, actor, participant_id, visit_id)
    _check_assessor(uow.session, actor, p, assessor)
    if v.status == "scheduled":
        with access.workflow_reason(uow, f"visit assigned to {assessor}"):
            v.assessor = assessor
    else:
        v.assessor = assessor
        uow.session.flush()  # the store asks for the reason for change here
    return v
