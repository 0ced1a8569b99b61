"""Adverse events in a psychosocial trial: categories from the protocol's expected-events list, the
protocol's seriousness criteria, the date the team became aware, relatedness and expectedness assessed by
the chief investigator, versioned follow-up reports and the reporting clock.

Clock (HRA safety reporting for studies other than CTIMPs): a serious adverse event that is related to the
intervention (possibly, probably or definitely) and unexpected is reported to the research ethics committee
within ``safety.sae_report_days`` (15) days of the team becoming aware of it: due on ``aware_on + 15``
whatever day it happened. It is overdue from the day after that until it is marked reported.

Every version of an event is kept: version 1 is the initial report; each assessment and follow-up adds a
version with a snapshot of the whole event, so the history can be read back as it was reported.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from securebase.errors import FieldError
from securebase.store import UnitOfWork
from securebase.store.tables import AdverseEvent, AdverseEventReport, Participant
from securebase.trial import access
from securebase.trial.roles import Actor, Role

RELATEDNESS = ("unrelated", "unlikely", "possibly", "probably", "definitely")
RELATED = frozenset({"possibly", "probably", "definitely"})
EXPECTEDNESS = ("expected", "unexpected")
OUTCOMES = ("ongoing", "resolved", "resolved_with_sequelae", "fatal", "unknown")
#: Who records adverse events and their follow-up.
AE_ROLES = access.EVENT_ROLES | {Role.chief_investigator, Role.safeguarding_lead}
#: Who assesses relatedness and expectedness.
ASSESSORS = frozenset({Role.chief_investigator})
FOLLOW_UP_FIELDS = ("description", "outcome", "serious", "seriousness", "onset_on", "category")


def reference(ae_id: int) -> str:
    return f"AE-{ae_id:04d}"


def report_due(serious: bool, relatedness: str | None, expectedness: str | None, aware_on: date,
               days: int = 15) -> date | None:
    """The day a related, unexpected serious adverse event is due with the ethics committee (else None)."""
    if serious and relatedness in RELATED and expectedness == "unexpected":
        return aware_on + timedelta(days=days)
    return None


def _snapshot(ae: AdverseEvent) -> dict[str, Any]:
    return {"category": ae.category, "description": ae.description, "onset_on": ae.onset_on.isoformat(),
            "aware_on": ae.aware_on.isoformat(), "serious": ae.serious, "seriousness": list(ae.seriousness or []),
            "relatedness": ae.relatedness, "expectedness": ae.expectedness, "outcome": ae.outcome,
            "report_due_on": ae.report_due_on.isoformat() if ae.report_due_on else None,
            "reported_on": ae.reported_on.isoformat() if ae.reported_on else None}


def _version(uow: UnitOfWork, actor: Actor, ae: AdverseEvent, kind: str, note: str = "") -> AdverseEventReport:
    rep = AdverseEventReport(trial_id=ae.trial_id, adverse_event_id=ae.id, version=ae.version, kind=kind,
                             snapshot=_snapshot(ae), note=note, recorded_by=actor.username,
                             recorded_at=datetime.now(UTC))
    uow.session.add(rep)
    uow.session.flush()
    return rep


def _category(session: Session, trial_id: str, category: str) -> str:
    plan = access.protocol_of(session, trial_id).safety
    ids = [e.id for e in plan.expected_events] + ["other"]
    if category not in ids:
        raise FieldError("category", category, "one of the trial's expected events or 'other' (" + ", ".join(ids) + ")",
                         "choose 'other' and describe the event if it is not on the list")
    return category


def _seriousness(session: Session, trial_id: str, serious: bool, criteria: list[str] | tuple[str, ...] | None) -> list[str]:
    plan = access.protocol_of(session, trial_id).safety
    ids = [c.id for c in plan.seriousness_criteria]
    got = list(criteria or [])
    bad = [c for c in got if c not in ids]
    if bad:
        raise FieldError("seriousness", bad[0], "one of the trial's seriousness criteria (" + ", ".join(ids) + ")")
    if serious and not got:
        raise FieldError("seriousness", got, "at least one criterion for a serious event (" + ", ".join(ids) + ")",
                         "say why the event is serious, or record it as not serious")
    if not serious and got:
        raise FieldError("seriousness", got, "empty for an event that is not serious",
                         "tick 'serious' if a criterion applies")
    return got


def record_adverse_event(uow: UnitOfWork, actor: Actor, participant_id: str, *, category: str, description: str,
                         onset_on: date | str, aware_on: date | str | None = None, serious: bool = False,
                         seriousness: list[str] | tuple[str, ...] | None = None, outcome: str = "ongoing",
                         today: date | None = None) -> AdverseEvent:
    """The initial report (version 1). ``aware_on`` defaults to the day it is recorded."""
    access.require(actor, AE_ROLES, "recording an adverse event")
    uow.ensure_unlocked(actor.trial_id)
    p = access.participant(uow.session, actor, participant_id)
    now = today or access.today()
    onset = access.parse_date(onset_on, "onset_on")
    aware = access.parse_date(aware_on, "aware_on", default=now)
    for name, d in (("onset_on", onset), ("aware_on", aware)):
        if d > now:
            raise FieldError(name, d.isoformat(), f"a date not after today ({now.isoformat()})", "record what has happened")
    if aware < onset:
        raise FieldError("aware_on", aware.isoformat(), f"a date on or after the onset ({onset.isoformat()})",
                         "the team cannot learn of an event before it starts; check both dates")
    text = access.clean_text(description, "description", max_length=5000).strip()
    if not text:
        raise FieldError("description", description, "a description of what happened")
    if outcome not in OUTCOMES:
        raise FieldError("outcome", outcome, "one of " + ", ".join(OUTCOMES))
    ae = AdverseEvent(trial_id=actor.trial_id, participant_pk=p.id, category=_category(uow.session, actor.trial_id, category),
                      description=text, onset_on=onset, aware_on=aware, serious=bool(serious),
                      seriousness=_seriousness(uow.session, actor.trial_id, bool(serious), seriousness),
                      outcome=outcome, version=1, recorded_by=actor.username, recorded_at=datetime.now(UTC))
    uow.session.add(ae)
    uow.session.flush()
    _version(uow, actor, ae, "initial")
    return ae


def _find(session: Session, actor: Actor, ae_id: int | str, field: str = "adverse_event_id") -> tuple[AdverseEvent, Participant]:
    try:
        key = int(str(ae_id).removeprefix("AE-"))
    except ValueError:
        key = -1
    row = session.execute(select(AdverseEvent, Participant).join(Participant, Participant.id == AdverseEvent.participant_pk)
                          .where(AdverseEvent.id == key, AdverseEvent.trial_id == actor.trial_id)).first()
    if row is None or not actor.can_reach_site(row[1].site_code):
        raise FieldError(field, ae_id, f"the number of an adverse event recorded in trial '{actor.trial_id}' "
                         "(e.g. AE-0001)", "check the number on the initial report; record the event first if it is new")
    return row[0], row[1]


def assess(uow: UnitOfWork, actor: Actor, ae_id: int | str, *, relatedness: str, expectedness: str,
           note: str = "") -> AdverseEvent:
    """The chief investigator's assessment; sets the reporting clock for related, unexpected serious events."""
    uow.ensure_unlocked(actor.trial_id)
    ae, _ = _find(uow.session, actor, ae_id)
    if not actor.roles & ASSESSORS:
        have = ", ".join(sorted(r.value for r in actor.roles)) or "none"
        raise FieldError("assessed_by", actor.username, "the chief investigator (role chief_investigator; "
                         f"user has: {have})", "ask the chief investigator to assess relatedness and expectedness")
    if relatedness not in RELATEDNESS:
        raise FieldError("relatedness", relatedness, "one of " + ", ".join(RELATEDNESS))
    if expectedness not in EXPECTEDNESS:
        raise FieldError("expectedness", expectedness, "one of " + ", ".join(EXPECTEDNESS))
    days = access.protocol_of(uow.session, actor.trial_id).safety.sae_report_days
    with access.workflow_reason(uow, "adverse event assessed by the chief investigator"):
        ae.relatedness, ae.expectedness = relatedness, expectedness
        ae.assessed_by, ae.assessed_at = actor.username, datetime.now(UTC)
        ae.report_due_on = report_due(ae.serious, relatedness, expectedness, ae.aware_on, days)
        ae.version += 1
    _version(uow, actor, ae, "assessment", access.clean_text(note, "note", max_length=5000))
    return ae


def follow_up(uow: UnitOfWork, actor: Actor, ae_id: int | str, *, note: str, **changes: Any) -> AdverseEvent:
    """A follow-up report: a new version with the changed fields (``FOLLOW_UP_FIELDS``) and a note."""
    access.require(actor, AE_ROLES, "a follow-up report of an adverse event")
    uow.ensure_unlocked(actor.trial_id)
    ae, _ = _find(uow.session, actor, ae_id)
    unknown = sorted(set(changes) - set(FOLLOW_UP_FIELDS))
    if unknown:
        raise FieldError(unknown[0], changes[unknown[0]], "one of the fields a follow-up may change: "
                         + ", ".join(FOLLOW_UP_FIELDS))
    text = access.clean_text(note, "note", max_length=5000).strip()
    if not text:
        raise FieldError("note", note, "what the follow-up adds", "e.g. 'discharged home after 3 days'")
    serious = bool(changes.get("serious", ae.serious))
    seriousness = _seriousness(uow.session, actor.trial_id, serious, changes.get("seriousness", ae.seriousness))
    if "outcome" in changes and changes["outcome"] not in OUTCOMES:
        raise FieldError("outcome", changes["outcome"], "one of " + ", ".join(OUTCOMES))
    days = access.protocol_of(uow.session, actor.trial_id).safety.sae_report_days
    with access.workflow_reason(uow, "adverse event follow-up report"):
        if "category" in changes:
            ae.category = _category(uow.session, actor.trial_id, changes["category"])
        if "description" in changes:
            ae.description = access.clean_text(changes["description"], "description", max_length=5000)
        if "onset_on" in changes:
            onset = access.parse_date(changes["onset_on"], "onset_on")
            if onset > ae.aware_on:
                raise FieldError("onset_on", onset.isoformat(), f"a date on or before awareness ({ae.aware_on})")
            ae.onset_on = onset
        if "outcome" in changes:
            ae.outcome = changes["outcome"]
        ae.serious, ae.seriousness = serious, seriousness
        ae.report_due_on = report_due(serious, ae.relatedness, ae.expectedness, ae.aware_on, days)
        ae.version += 1
    _version(uow, actor, ae, "follow_up", text)
    return ae


def mark_reported(uow: UnitOfWork, actor: Actor, ae_id: int | str, reported_on: date | str, *,
                  today: date | None = None) -> AdverseEvent:
    """The day the report went to the research ethics committee (chief investigator or trial manager)."""
    access.require(actor, frozenset({Role.chief_investigator, Role.trial_manager}), "marking an event reported")
    ae, _ = _find(uow.session, actor, ae_id)
    on = access.parse_date(reported_on, "reported_on")
    if on > (today or access.today()):
        raise FieldError("reported_on", on.isoformat(), "a date not after today", "record what has happened")
    if on < ae.aware_on:
        raise FieldError("reported_on", on.isoformat(), f"a date on or after awareness ({ae.aware_on})")
    with access.workflow_reason(uow, "adverse event reported to the research ethics committee"):
        ae.reported_on = on
        ae.version += 1
    _version(uow, actor, ae, "reported")
    return ae


#: Fields withheld from blinded roles: a judgement of relatedness to the intervention, and the reporting clock
#: that follows from it, could point to the arm.
BLINDED_WITHHELD = ("relatedness", "expectedness", "report_due_on", "reported_on")


def as_dict(ae: AdverseEvent, p: Participant, on: date | None = None, actor: Actor | None = None) -> dict[str, Any]:
    out = {"id": ae.id, "reference": reference(ae.id), "participant_id": p.participant_id, "site": p.site_code,
           "version": ae.version, "recorded_by": ae.recorded_by, **_snapshot(ae)}
    out["overdue"] = is_overdue(ae, on or access.today())
    if actor is not None and not actor.can_see_allocation():
        out.update({k: "withheld" for k in BLINDED_WITHHELD}, overdue=None)
    return out


def is_overdue(ae: AdverseEvent, on: date) -> bool:
    """Overdue on ``on``: due before that day and not reported yet (due on D+15 means reportable through D+15)."""
    return ae.report_due_on is not None and ae.reported_on is None and on > ae.report_due_on


def list_adverse_events(session: Session, actor: Actor, *, participant_id: str | None = None,
                        on: date | None = None) -> list[dict[str, Any]]:
    access.require(actor, access.READ_ROLES, "reading adverse events")
    stmt = select(AdverseEvent, Participant).join(Participant, Participant.id == AdverseEvent.participant_pk).where(
        AdverseEvent.trial_id == actor.trial_id)
    if participant_id:
        stmt = stmt.where(AdverseEvent.participant_pk == access.participant(session, actor, participant_id).id)
    rows = session.execute(stmt.order_by(AdverseEvent.aware_on, AdverseEvent.id)).all()
    return [as_dict(ae, p, on, actor) for ae, p in rows if actor.can_reach_site(p.site_code)]


def overdue(session: Session, actor: Actor, on: date | None = None) -> list[dict[str, Any]]:
    """Related, unexpected serious adverse events past their due day and not yet reported, most overdue first."""
    day = on or access.today()
    access.require(actor, access.READ_ROLES, "the overdue safety reports")
    access.require_unblinded(actor, "the overdue list of related, unexpected serious adverse events")
    rows = session.execute(select(AdverseEvent, Participant).join(Participant, Participant.id == AdverseEvent.participant_pk)
                           .where(AdverseEvent.trial_id == actor.trial_id, AdverseEvent.reported_on.is_(None),
                                  AdverseEvent.report_due_on < day)
                           .order_by(AdverseEvent.report_due_on, AdverseEvent.id)).all()
    return [dict(as_dict(ae, p, day), days_overdue=(day - ae.report_due_on).days if ae.report_due_on else 0)
            for ae, p in rows
            if actor.can_reach_site(p.site_code)]


def versions(session: Session, actor: Actor, ae_id: int | str) -> list[dict[str, Any]]:
    """Every version of an event, oldest first."""
    access.require(actor, access.READ_ROLES, "reading adverse event reports")
    ae, _ = _find(session, actor, ae_id)
    reps = session.execute(select(AdverseEventReport).where(AdverseEventReport.adverse_event_id == ae.id)
                           .order_by(AdverseEventReport.version)).scalars().all()
    out = [{"version": r.version, "kind": r.kind, "note": r.note, "recorded_by": r.recorded_by,
            "recorded_at": r.recorded_at.strftime("%Y-%m-%d %H:%M"), **r.snapshot} for r in reps]
    if not actor.can_see_allocation():
        for v in out:
            v.update({k: "withheld" for k in BLINDED_WITHHELD})
    return out


__all__ = ["assess", "follow_up", "list_adverse_events", "mark_reported", "overdue", "record_adverse_event",
           "report_due", "versions"]
