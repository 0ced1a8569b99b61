"""Events during follow-up: the protocol's events, placement changes, maltreatment events, serious adverse
events and school records.

Serious adverse events carry seriousness (the ICH E2A criteria: death, life-threatening, hospitalisation,
persistent disability, congenital anomaly, other important medical event), relatedness to the trial
intervention and expectedness. A serious adverse event that is related (possibly or more) and unexpected
must be reported to the research ethics committee within 15 days of the team learning of it (HRA safety
reporting for studies other than CTIMPs); ``record_event`` sets ``details.report_due_by`` for such events,
counted from ``aware_on`` (the day the team became aware; by default the day it is recorded), never from
the day the event happened. The full adverse-event workflow (expected events, assessment by the chief
investigator, versioned follow-up, overdue list) is :mod:`securebase.trial.safety.adverse`.
Placement, maltreatment and school details are validated with their instrument definitions
(placement_record, maltreatment_record, school_record).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from securebase.errors import FieldError
from securebase.instruments import load_instrument, validate_responses
from securebase.store import UnitOfWork
from securebase.store.tables import Event, Participant
from securebase.trial import access
from securebase.trial.bounds import check_json
from securebase.trial.paging import Paging, paged
from securebase.trial.roles import Actor

SERIOUSNESS = ("death", "life_threatening", "hospitalisation", "disability", "congenital_anomaly",
               "other_important_medical_event")
RELATEDNESS = ("unrelated", "unlikely", "possibly", "probably", "definitely")
EXPECTEDNESS = ("expected", "unexpected")
#: Event types recorded with details checked against an instrument definition.
RECORD_TYPES = {"placement_change": "placement_record", "maltreatment": "maltreatment_record",
                "school_record": "school_record"}
SAE = "serious_adverse_event"
REPORT_DAYS = 15
#: Limits on an event's free-form details (issue 15: 900 levels of nesting once poisoned every read).
DETAILS_DEPTH = 4
DETAILS_BYTES = 16_000


def event_types(session: Session, trial_id: str) -> dict[str, str]:
    """Event type id -> label: the protocol's events and the routine-record types."""
    protocol = access.protocol_of(session, trial_id)
    out = {e.id: e.label for e in protocol.events if e.id != "withdrawal"}
    out.update({"placement_change": "Placement change", "maltreatment": "Maltreatment event (record)",
                "school_record": "School record (attendance, suspensions, attainment)"})
    return out


def _jsonable(clean: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in clean.items():
        if hasattr(v, "reason") and not isinstance(v, (str, int, float)):
            continue  # Missing: not stored
        out[k] = v.isoformat() if isinstance(v, date) else v
    return out


def record_event(uow: UnitOfWork, actor: Actor, participant_id: str, *, event_type: str,
                 occurred_on: date | str | None, details: dict[str, Any] | None = None,
                 seriousness: str | None = None, relatedness: str | None = None,
                 expectedness: str | None = None, aware_on: date | str | None = None) -> Event:
    """Record one event for a participant; SAE fields are required for serious adverse events."""
    access.require(actor, access.EVENT_ROLES, "recording an event")
    uow.ensure_unlocked(actor.trial_id)
    p = access.participant(uow.session, actor, participant_id)
    types = event_types(uow.session, actor.trial_id)
    if event_type not in types:
        raise FieldError("event_type", event_type, "one of " + ", ".join(types))
    on = access.not_future(access.parse_date(occurred_on, "occurred_on"), "occurred_on")
    if on < p.enrolled_on - timedelta(days=366):
        raise FieldError("occurred_on", on.isoformat(), "a date during the trial", "check the year")
    details = dict(details or {})
    check_json(details, "details", max_depth=DETAILS_DEPTH, max_items=200, max_string=4000, max_bytes=DETAILS_BYTES)
    if event_type in RECORD_TYPES:
        inst = load_instrument(RECORD_TYPES[event_type])
        details = _jsonable(validate_responses(inst, details, participant=participant_id))
    if event_type == SAE:
        if seriousness not in SERIOUSNESS:
            raise FieldError("seriousness", seriousness, "one of " + ", ".join(SERIOUSNESS))
        if relatedness not in RELATEDNESS:
            raise FieldError("relatedness", relatedness, "one of " + ", ".join(RELATEDNESS))
        if expectedness not in EXPECTEDNESS:
            raise FieldError("expectedness", expectedness, "one of " + ", ".join(EXPECTEDNESS))
        aware = access.not_future(access.parse_date(aware_on, "aware_on", default=access.today()), "aware_on")
        if aware < on:
            raise FieldError("aware_on", aware.isoformat(), f"a date on or after the event ({on.isoformat()})",
                             "the team cannot learn of an event before it happens; check both dates")
        details["aware_on"] = aware.isoformat()
        if relatedness in ("possibly", "probably", "definitely") and expectedness == "unexpected":
            details["report_due_by"] = (aware + timedelta(days=REPORT_DAYS)).isoformat()  # from awareness
    elif seriousness or relatedness or expectedness:
        raise FieldError("seriousness", seriousness, "empty unless the event is a serious adverse event")
    ev = Event(trial_id=actor.trial_id, participant_pk=p.id, event_type=event_type, occurred_on=on, details=details,
               seriousness=seriousness, relatedness=relatedness, expectedness=expectedness, recorded_by=actor.username)
    uow.session.add(ev)
    uow.session.flush()
    return ev


def event_dict(ev: Event, p: Participant) -> dict[str, Any]:
    return {"id": ev.id, "participant_id": p.participant_id, "site": p.site_code, "event_type": ev.event_type,
            "occurred_on": ev.occurred_on.isoformat(), "details": dict(ev.details or {}), "seriousness": ev.seriousness,
            "relatedness": ev.relatedness, "expectedness": ev.expectedness, "recorded_by": ev.recorded_by}


def list_events(session: Session, actor: Actor, *, participant_id: str | None = None,
                event_type: str | None = None, page: Paging | None = None) -> list[dict[str, Any]]:
    access.require(actor, access.READ_ROLES, "reading events")
    stmt = select(Event, Participant).join(Participant, Participant.id == Event.participant_pk).where(
        Event.trial_id == actor.trial_id)
    if participant_id:
        stmt = stmt.where(Event.participant_pk == access.participant(session, actor, participant_id).id)
    if actor.sites is not None:
        stmt = stmt.where(Participant.site_code.in_(sorted(actor.sites)))
    if event_type:
        stmt = stmt.where(Event.event_type == event_type)
    return [event_dict(e, p) for e, p in session.execute(paged(session, stmt.order_by(Event.occurred_on, Event.id), page)).all()]
