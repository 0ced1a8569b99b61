"""Who is a child's carer, teacher or social worker on a date.

A carer link runs from ``starts_on`` to ``ends_on`` (open while the placement lasts). A placement move
(:func:`placement_move`) ends the current carer link the day of the move, starts the new carer's link, opens a
consent task for the new carer and hands the child's outstanding carer questionnaires to the new carer (the
old carer's unused links are revoked; the next invitation goes to the new carer). A teacher is linked per
school year (1 September to 31 August); the young person is linked to themself as respondent.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from securebase.errors import ConflictError, FieldError
from securebase.store import UnitOfWork
from securebase.store.tables import Participant, Person, PersonLink
from securebase.trial import access
from securebase.trial.people.contacts import get_person
from securebase.trial.people.tasks import open_task
from securebase.trial.roles import Actor

CONSENT_DAYS = 28  # a new carer's consent is due within four weeks of the move


def age_on(p: Participant, on: date) -> float:
    """The child's age in years on ``on``, from the age recorded at enrolment."""
    return float(p.age_years) + (on - p.enrolled_on).days / 365.25


def school_year(on: date) -> str:
    """The English school year holding ``on`` (``2026/27`` runs 1 September 2026 to 31 August 2027)."""
    start = on.year if on.month >= 9 else on.year - 1
    return f"{start}/{(start + 1) % 100:02d}"


def _expect_kind(person: Person, kind: str, field: str) -> None:
    if person.kind != kind:
        raise FieldError(field, person.reference, f"a {kind.replace('_', ' ')} (this person is a {person.kind})")


def _current_links(session: Session, participant_pk: int, relation: str, on: date) -> list[PersonLink]:
    stmt = (select(PersonLink).where(PersonLink.participant_pk == participant_pk, PersonLink.relation == relation,
                                     PersonLink.starts_on <= on)
            .where((PersonLink.ends_on.is_(None)) | (PersonLink.ends_on > on)).order_by(PersonLink.starts_on.desc()))
    return list(session.execute(stmt).scalars())


def link_carer(uow: UnitOfWork, actor: Actor, participant_id: str, carer: str, *, starts_on: date | str,
               relation: str = "carer") -> PersonLink:
    """Record the child's first carer (or social worker). A change of carer is a :func:`placement_move`."""
    access.require(actor, access.RECRUITMENT_ROLES, "linking a carer")
    uow.ensure_unlocked(actor.trial_id)
    p = access.participant(uow.session, actor, participant_id)
    person = get_person(uow.session, actor, carer)
    _expect_kind(person, "carer" if relation == "carer" else "social_worker", "carer")
    on = access.parse_date(starts_on, "starts_on")
    if _current_links(uow.session, p.id, relation, on):
        raise ConflictError(f"{participant_id} already has a {relation} on {on}; record a placement move instead")
    link = PersonLink(trial_id=actor.trial_id, participant_pk=p.id, person_pk=person.id, relation=relation, starts_on=on)
    uow.session.add(link)
    uow.session.flush()
    return link


def link_self(uow: UnitOfWork, actor: Actor, participant_id: str, young_person: str, *,
              starts_on: date | str) -> PersonLink:
    """Record the young person as their own respondent (their contact details receive their invitations)."""
    access.require(actor, access.RECRUITMENT_ROLES, "linking a young person")
    p = access.participant(uow.session, actor, participant_id)
    person = get_person(uow.session, actor, young_person)
    _expect_kind(person, "young_person", "young_person")
    link = PersonLink(trial_id=actor.trial_id, participant_pk=p.id, person_pk=person.id, relation="self",
                      starts_on=access.parse_date(starts_on, "starts_on"))
    uow.session.add(link)
    uow.session.flush()
    return link


def link_teacher(uow: UnitOfWork, actor: Actor, participant_id: str, teacher: str, *, year: str) -> PersonLink:
    """Link the child's teacher for a school year (``2026/27``); a new teacher for the same year replaces the old."""
    access.require(actor, access.RECRUITMENT_ROLES, "linking a teacher")
    uow.ensure_unlocked(actor.trial_id)
    p = access.participant(uow.session, actor, participant_id)
    person = get_person(uow.session, actor, teacher)
    _expect_kind(person, "teacher", "teacher")
    try:
        first = int(year[:4])
        ok = len(year) == 7 and year[4] == "/" and int(year[5:]) == (first + 1) % 100
    except ValueError:
        ok = False
    if not ok:
        raise FieldError("year", year, "a school year written like 2026/27")
    starts, ends = date(first, 9, 1), date(first + 1, 9, 1)
    for old in uow.session.execute(select(PersonLink).where(PersonLink.participant_pk == p.id,
                                                            PersonLink.relation == "teacher",
                                                            PersonLink.school_year == year,
                                                            PersonLink.ends_on == ends)).scalars():
        with access.workflow_reason(uow, f"teacher for {year} replaced by {teacher}"):
            old.ends_on = old.starts_on  # an empty period: the replacement holds the whole year
            old.end_reason = f"replaced by {teacher}"
    link = PersonLink(trial_id=actor.trial_id, participant_pk=p.id, person_pk=person.id, relation="teacher",
                      starts_on=starts, ends_on=ends, school_year=year)
    uow.session.add(link)
    uow.session.flush()
    return link


def placement_move(uow: UnitOfWork, actor: Actor, participant_id: str, new_carer: str, *, moved_on: date | str,
                   reason: str = "placement move", event_type: str | None = None,
                   event_details: dict[str, Any] | None = None) -> dict[str, Any]:
    """The child moves to ``new_carer`` on ``moved_on``.

    Ends the current carer link, starts the new one, opens a ``carer_consent`` task for the new carer and
    redirects the child's outstanding carer questionnaires (``invitations.redirect_after_move``). With
    ``event_type`` (for example ``unplanned_placement_ending``) the move is also recorded as that trial event.
    """
    access.require(actor, access.RECRUITMENT_ROLES, "recording a placement move")
    uow.ensure_unlocked(actor.trial_id)
    p = access.participant(uow.session, actor, participant_id)
    person = get_person(uow.session, actor, new_carer)
    _expect_kind(person, "carer", "new_carer")
    on = access.not_future(access.parse_date(moved_on, "moved_on"), "moved_on")
    event_pk = None
    if event_type:
        from securebase.trial.events import record_event

        event_pk = record_event(uow, actor, participant_id, event_type=event_type, occurred_on=on,
                                details=event_details).id
    old_refs = []
    with access.workflow_reason(uow, f"{reason}: carer changed to {new_carer} on {on}"):
        for link in _current_links(uow.session, p.id, "carer", on):
            if link.person_pk == person.id:
                raise ConflictError(f"{new_carer} is already the carer of {participant_id} on {on}")
            link.ends_on = on
            link.end_reason = reason
            old_refs.append(link.person_pk)
    new = PersonLink(trial_id=actor.trial_id, participant_pk=p.id, person_pk=person.id, relation="carer",
                     starts_on=on, event_pk=event_pk)
    uow.session.add(new)
    uow.session.flush()
    task = open_task(uow, p, "carer_consent", on + timedelta(days=CONSENT_DAYS), person_pk=person.id,
                     why=f"{new_carer} became the carer on {on} ({reason}); their consent is needed")
    from securebase.trial.invitations import redirect_after_move

    revoked = redirect_after_move(uow, p, old_refs, on)
    return {"participant_id": participant_id, "new_carer": new_carer, "moved_on": on.isoformat(),
            "ended_links": len(old_refs), "consent_task": task.id, "revoked_invitations": revoked}


def current_carer(session: Session, participant_pk: int, on: date) -> Person | None:
    links = _current_links(session, participant_pk, "carer", on)
    return session.get(Person, links[0].person_pk) if links else None


def teacher_for(session: Session, participant_pk: int, on: date) -> Person | None:
    links = _current_links(session, participant_pk, "teacher", on)
    return session.get(Person, links[0].person_pk) if links else None


def respondent_for(session: Session, participant_pk: int, respondent_type: str, on: date) -> Person | None:
    """Who answers a ``respondent_type`` questionnaire about the child on ``on`` (None: nobody linked)."""
    relation = {"carer": "carer", "teacher": "teacher", "child": "self"}.get(respondent_type)
    if relation is None:
        return None
    links = _current_links(session, participant_pk, relation, on)
    return session.get(Person, links[0].person_pk) if links else None
