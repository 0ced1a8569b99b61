"""CONSORT 2025 flow counts, straight from the store, with reasons at every stage.

Stages: assessed for eligibility (screening log) -> excluded (not eligible, eligible but not
approached, declined; each with reasons) -> randomised (allocations) -> allocated to each arm
(received / did not receive the allocated intervention) -> follow-up at the primary visit (assessed,
missed with reasons, withdrawn from follow-up) -> analysed (primary outcome present) / not analysed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from securebase.store.tables import (
    Allocation,
    InterventionSession,
    Participant,
    Score,
    ScreeningRecord,
    Visit,
    Withdrawal,
)


@dataclass(frozen=True)
class ArmFlow:
    arm: str
    allocated: int
    received: int
    not_received: int
    not_received_reasons: dict[str, int]
    followed_up: int
    lost: int
    lost_reasons: dict[str, int]
    withdrawn: int
    discontinued_intervention: int
    analysed: int
    not_analysed: int


@dataclass(frozen=True)
class ConsortCounts:
    assessed: int
    excluded: int
    not_eligible: int
    not_eligible_reasons: dict[str, int]
    not_approached: int
    not_approached_reasons: dict[str, int]
    declined: int
    declined_reasons: dict[str, int]
    enrolled_not_randomised: int
    randomised: int
    arms: tuple[ArmFlow, ...] = field(default=())
    primary_visit: str = "m12"
    primary_outcome: str = ""

    def pooled(self) -> dict[str, Any]:
        """The open (pooled) version: every number summed over arms."""
        keys = ("allocated", "received", "not_received", "followed_up", "lost", "withdrawn",
                "discontinued_intervention", "analysed", "not_analysed")
        out: dict[str, Any] = {k: sum(getattr(a, k) for a in self.arms) for k in keys}
        lost: Counter[str] = Counter()
        for a in self.arms:
            lost.update(a.lost_reasons)
        out["lost_reasons"] = dict(lost)
        return out


def _reason_key(text: str | None) -> str:
    return (text or "reason not recorded").strip() or "reason not recorded"


def consort_counts(session: Session, trial_id: str, *, primary_visit: str = "m12", primary_instrument: str = "sdq_parent",
                   primary_scale: str = "total", arms: tuple[str, ...] = ("intervention", "usual_care")) -> ConsortCounts:
    """Count every CONSORT box for a trial. Reads the screening log, allocations, visits, scores."""
    screens = session.execute(select(ScreeningRecord).where(
        ScreeningRecord.trial_id == trial_id, ScreeningRecord.outcome != "entered_in_error")).scalars().all()
    not_eligible = [s for s in screens if not s.eligible]
    ne_reasons: Counter[str] = Counter()
    for s in not_eligible:
        for r in (s.ineligible_reasons or "reason not recorded").split("; "):
            ne_reasons[_reason_key(r)] += 1
    eligible = [s for s in screens if s.eligible]
    not_approached = [s for s in eligible if s.approached is False]
    declined = [s for s in eligible if s.approached is not False and s.declined_reason]
    allocations = session.execute(select(Allocation).where(Allocation.trial_id == trial_id)).scalars().all()
    alloc_by_pk = {a.participant_pk: a.arm for a in allocations}
    participants = session.execute(select(Participant).where(Participant.trial_id == trial_id)).scalars().all()
    enrolled_not_rand = sum(1 for p in participants if p.id not in alloc_by_pk)
    attended = {pk for (pk,) in session.execute(
        select(InterventionSession.participant_pk).where(InterventionSession.trial_id == trial_id,
                                                         InterventionSession.attended.is_(True)))}
    withdrawals = session.execute(select(Withdrawal).where(Withdrawal.trial_id == trial_id)).scalars().all()
    wd_follow = {w.participant_pk for w in withdrawals if w.level in ("follow_up", "data_use")}
    wd_interv = {w.participant_pk for w in withdrawals if w.level == "intervention"}
    visits = {v.participant_pk: v for v in session.execute(
        select(Visit).where(Visit.trial_id == trial_id, Visit.visit_id == primary_visit)).scalars()}
    scored = {pk for (pk,) in session.execute(
        select(Score.participant_pk).join(Visit, Visit.id == Score.visit_pk).where(
            Score.trial_id == trial_id, Visit.visit_id == primary_visit, Score.instrument == primary_instrument,
            Score.scale == primary_scale, Score.value.is_not(None)))}
    flows = []
    for arm in arms:
        pks = [pk for pk, a in alloc_by_pk.items() if a == arm]
        intervention = arm == "intervention"
        received = [pk for pk in pks if (pk in attended) or not intervention]
        nr_reasons: Counter[str] = Counter()
        for pk in pks:
            if pk not in received:
                nr_reasons["attended no intervention session"] += 1
        followed, lost_reasons = 0, Counter[str]()
        for pk in pks:
            v = visits.get(pk)
            if v is not None and v.status in ("completed", "partial"):
                followed += 1
            elif pk in wd_follow:
                lost_reasons["withdrew from follow-up"] += 1
            else:
                lost_reasons[_reason_key(v.missed_reason if v is not None else "visit not recorded")] += 1
        analysed = sum(1 for pk in pks if pk in scored)
        flows.append(ArmFlow(arm=arm, allocated=len(pks), received=len(received), not_received=len(pks) - len(received),
                             not_received_reasons=dict(nr_reasons), followed_up=followed, lost=len(pks) - followed,
                             lost_reasons=dict(lost_reasons), withdrawn=sum(1 for pk in pks if pk in wd_follow),
                             discontinued_intervention=sum(1 for pk in pks if pk in wd_interv),
                             analysed=analysed, not_analysed=len(pks) - analysed))
    return ConsortCounts(
        assessed=len(screens), excluded=len(not_eligible) + len(not_approached) + len(declined),
        not_eligible=len(not_eligible), not_eligible_reasons=dict(ne_reasons), not_approached=len(not_approached),
        not_approached_reasons=dict(Counter(_reason_key(s.not_approached_reason) for s in not_approached)),
        declined=len(declined), declined_reasons=dict(Counter(_reason_key(s.declined_reason) for s in declined)),
        enrolled_not_randomised=enrolled_not_rand, randomised=len(allocations), arms=tuple(flows),
        primary_visit=primary_visit, primary_outcome=f"{primary_instrument} {primary_scale}")
