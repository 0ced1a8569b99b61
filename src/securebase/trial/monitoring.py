"""What the data monitoring committee and the trial team read in the app: the open (pooled) summary for
everyone who reads reports, and the closed (by-arm) summary for unblinded roles only (the DMC)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from securebase.report.consort import consort_counts
from securebase.store.tables import Allocation, Event, Participant, Score, Visit
from securebase.trial import access
from securebase.trial.roles import Actor, Role

REPORT_ROLES = frozenset({Role.dmc_member, Role.trial_manager, Role.administrator, Role.unblinded_statistician,
                          Role.blinded_statistician, Role.data_manager})
CLOSED_ROLES = frozenset({Role.dmc_member, Role.unblinded_statistician, Role.administrator, Role.trial_manager})


def open_summary(session: Session, actor: Actor) -> dict[str, Any]:
    """The CONSORT flow pooled over arms (no allocation in it)."""
    access.require(actor, REPORT_ROLES, "reading the trial reports")
    c = consort_counts(session, actor.trial_id)
    pooled = c.pooled()
    return {"assessed": c.assessed, "not_eligible": c.not_eligible, "not_approached": c.not_approached,
            "declined": c.declined, "randomised": c.randomised, "enrolled_not_randomised": c.enrolled_not_randomised,
            "followed_up": pooled["followed_up"], "withdrawn": pooled["withdrawn"], "lost": pooled["lost"],
            "analysed": pooled["analysed"], "primary_visit": c.primary_visit, "primary_outcome": c.primary_outcome,
            "not_eligible_reasons": c.not_eligible_reasons}


def closed_summary(session: Session, actor: Actor) -> dict[str, Any]:
    """By arm: the CONSORT flow, baseline characteristics, the primary outcome at its visit and events."""
    access.require(actor, CLOSED_ROLES, "reading the closed (by-arm) report")
    access.require_unblinded(actor, "the closed (by-arm) report")
    protocol = access.protocol_of(session, actor.trial_id)
    names = {a.id: a.name for a in protocol.arms}
    c = consort_counts(session, actor.trial_id, arms=tuple(a.id for a in protocol.arms))
    arm_of = {pk: arm for pk, arm in session.execute(select(Allocation.participant_pk, Allocation.arm).where(
        Allocation.trial_id == actor.trial_id))}
    base: dict[str, dict[str, Any]] = defaultdict(lambda: {"n": 0, "age": [], "female": 0})
    for p in session.execute(select(Participant).where(Participant.trial_id == actor.trial_id)).scalars():
        if p.id in arm_of:
            b = base[arm_of[p.id]]
            b["n"] += 1
            b["age"].append(p.age_years)
            b["female"] += p.sex == "female"
    primary: dict[str, list[float]] = defaultdict(list)
    for pk, value in session.execute(select(Score.participant_pk, Score.value).join(Visit, Visit.id == Score.visit_pk)
                                     .where(Score.trial_id == actor.trial_id, Visit.visit_id == c.primary_visit,
                                            Score.instrument == "sdq_parent", Score.scale == "total")):
        if pk in arm_of and value is not None:
            primary[arm_of[pk]].append(value)
    events: dict[str, int] = defaultdict(int)
    saes: dict[str, int] = defaultdict(int)
    for pk, seriousness in session.execute(select(Event.participant_pk, Event.seriousness).where(
            Event.trial_id == actor.trial_id)):
        if pk in arm_of:
            events[arm_of[pk]] += 1
            saes[arm_of[pk]] += seriousness is not None
    rows = []
    for flow in c.arms:
        b = base[flow.arm]
        ys = primary[flow.arm]
        rows.append({"arm": names.get(flow.arm, flow.arm), "allocated": flow.allocated, "followed_up": flow.followed_up,
                     "withdrawn": flow.withdrawn, "lost": flow.lost, "analysed": flow.analysed,
                     "mean_age": round(sum(b["age"]) / len(b["age"]), 1) if b["age"] else None,
                     "female_percent": round(100 * b["female"] / b["n"]) if b["n"] else None,
                     "primary_n": len(ys), "primary_mean": round(sum(ys) / len(ys), 1) if ys else None,
                     "events": events[flow.arm], "serious_adverse_events": saes[flow.arm]})
    return {"arms": rows, "primary_visit": c.primary_visit, "primary_outcome": c.primary_outcome}
