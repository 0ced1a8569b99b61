"""CONSORT 2025 flow counts, straight from the store, with reasons at every stage.

Stages: assessed for eligibility (screening log) -> excluded (not eligible, eligible but not
approached, declined; each with reasons) -> randomised (allocations) -> allocated to each arm
(received / did not receive the allocated intervention) -> follow-up at the primary visit (assessed,
missed with reasons, withdrawn from follow-up) -> analysed (primary outcome present) / not analysed.

Every count is taken at an analysis date ``as_of`` (default: today): screening, allocations,
withdrawals and completed visits dated after it are not yet known. At the primary visit each
randomised child is in exactly one follow-up category:

- ``followed_up``: assessed (visit completed or partial, on or before ``as_of``);
- ``withdrawn``: withdrew from follow-up (or from data use) on or before ``as_of``, not assessed;
- ``missed``: the visit is recorded as missed (with its reason);
- ``lost``: the visit window closed before ``as_of`` with no assessment and no record of why;
- ``in_window``: the window is open on ``as_of`` and the visit is not done yet;
- ``not_yet_due``: the window opens after ``as_of``: not attrition, the child is simply early.

so ``allocated = followed_up + withdrawn + missed + lost + in_window + not_yet_due``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
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
    not_yet_due: int = 0
    in_window: int = 0
    missed: int = 0
    missed_reasons: dict[str, int] = field(default_factory=dict)
    not_analysed_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def due(self) -> int:
        """Children whose primary-visit window had opened by the analysis date."""
        return self.allocated - self.not_yet_due


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
    as_of: date | None = None

    def pooled(self) -> dict[str, Any]:
        """The open (pooled) version: every number summed over arms."""
        keys = ("allocated", "received", "not_received", "followed_up", "lost", "withdrawn",
                "discontinued_intervention", "analysed", "not_analysed", "not_yet_due", "in_window", "missed", "due")
        out: dict[str, Any] = {k: sum(getattr(a, k) for a in self.arms) for k in keys}
        for reasons in ("lost_reasons", "missed_reasons", "not_analysed_reasons"):
            total: Counter[str] = Counter()
            for a in self.arms:
                total.update(getattr(a, reasons))
            out[reasons] = dict(total)
        return out


def _criterion(reason: str) -> str:
    """The criterion a screening reason names, without the child's values: "Aged 5 to 17 at randomisation:
    age 4 is under 5" counts under "Aged 5 to 17 at randomisation" (one line per criterion, not per age)."""
    reason = _reason_key(reason)
    missing = reason.startswith("answer missing: ")
    core = reason.removeprefix("answer missing: ")
    crit = core.split(": ", 1)[0] if ": " in core else core
    return f"answer missing: {crit}" if missing else crit


def _reason_key(text: str | None) -> str:
    return (text or "reason not recorded").strip() or "reason not recorded"


def consort_counts(session: Session, trial_id: str, *, primary_visit: str = "m12", primary_instrument: str = "sdq_parent",
                   primary_scale: str = "total", arms: tuple[str, ...] = ("intervention", "usual_care"),
                   as_of: date | None = None) -> ConsortCounts:
    """Count every CONSORT box for a trial at ``as_of`` (default today). Reads the screening log,
    allocations, withdrawals, visits and scores; anything dated after ``as_of`` is left out."""
    as_of = as_of or date.today()
    screens = [s for s in session.execute(select(ScreeningRecord).where(ScreeningRecord.trial_id == trial_id)).scalars()
               if (s.screened_on is None or s.screened_on <= as_of) and s.outcome != "entered_in_error"]
    not_eligible = [s for s in screens if not s.eligible]
    ne_reasons: Counter[str] = Counter()
    for s in not_eligible:
        for crit in dict.fromkeys(_criterion(r) for r in (s.ineligible_reasons or "reason not recorded").split("; ")):
            ne_reasons[crit] += 1
    eligible = [s for s in screens if s.eligible]
    not_approached = [s for s in eligible if s.approached is False]
    declined = [s for s in eligible if s.approached is not False and s.declined_reason]
    allocations = [a for a in session.execute(select(Allocation).where(Allocation.trial_id == trial_id)).scalars()
                   if a.allocated_on <= as_of]
    alloc_by_pk = {a.participant_pk: a.arm for a in allocations}
    participants = session.execute(select(Participant).where(Participant.trial_id == trial_id)).scalars().all()
    enrolled_not_rand = sum(1 for p in participants if p.id not in alloc_by_pk
                            and (p.enrolled_on is None or p.enrolled_on <= as_of))
    attended = {pk for (pk, on) in session.execute(
        select(InterventionSession.participant_pk, InterventionSession.offered_on).where(
            InterventionSession.trial_id == trial_id, InterventionSession.attended.is_(True))) if on is None or on <= as_of}
    withdrawals = [w for w in session.execute(select(Withdrawal).where(Withdrawal.trial_id == trial_id)).scalars()
                   if w.withdrawn_on <= as_of]
    wd_follow = {w.participant_pk for w in withdrawals if w.level in ("follow_up", "data_use")}
    wd_interv = {w.participant_pk for w in withdrawals if w.level == "intervention"}
    visits = {v.participant_pk: v for v in session.execute(
        select(Visit).where(Visit.trial_id == trial_id, Visit.visit_id == primary_visit)).scalars()}
    done = {pk for pk, v in visits.items() if v.status in ("completed", "partial")
            and (v.completed_on is None or v.completed_on <= as_of)}
    scored = {pk for (pk,) in session.execute(
        select(Score.participant_pk).join(Visit, Visit.id == Score.visit_pk).where(
            Score.trial_id == trial_id, Visit.visit_id == primary_visit, Score.instrument == primary_instrument,
            Score.scale == primary_scale, Score.value.is_not(None))) if pk in done}
    flows = []
    for arm in arms:
        pks = [pk for pk, a in alloc_by_pk.items() if a == arm]
        intervention = arm == "intervention"
        received = [pk for pk in pks if (pk in attended) or not intervention]
        nr_reasons: Counter[str] = Counter()
        for pk in pks:
            if pk not in received:
                nr_reasons["attended no intervention session"] += 1
        status: Counter[str] = Counter()
        lost_reasons, missed_reasons, na_reasons = Counter[str](), Counter[str](), Counter[str]()
        for pk in pks:
            what = _follow_up_status(visits.get(pk), pk in done, pk in wd_follow, as_of)
            status[what] += 1
            if what == "missed":
                missed_reasons[_reason_key(visits[pk].missed_reason)] += 1
            elif what == "lost":
                lost_reasons["window closed, no assessment recorded" if pk in visits else "visit not scheduled"] += 1
            if pk not in scored:
                na_reasons[NOT_ANALYSED_REASON[what]] += 1
        analysed = sum(1 for pk in pks if pk in scored)
        flows.append(ArmFlow(arm=arm, allocated=len(pks), received=len(received), not_received=len(pks) - len(received),
                             not_received_reasons=dict(nr_reasons), followed_up=status["followed_up"],
                             lost=status["lost"], lost_reasons=dict(lost_reasons), withdrawn=status["withdrawn"],
                             discontinued_intervention=sum(1 for pk in pks if pk in wd_interv),
                             analysed=analysed, not_analysed=len(pks) - analysed, not_yet_due=status["not_yet_due"],
                             in_window=status["in_window"], missed=status["missed"],
                             missed_reasons=dict(missed_reasons), not_analysed_reasons=dict(na_reasons)))
    return ConsortCounts(
        assessed=len(screens), excluded=len(not_eligible) + len(not_approached) + len(declined),
        not_eligible=len(not_eligible), not_eligible_reasons=dict(ne_reasons), not_approached=len(not_approached),
        not_approached_reasons=dict(Counter(_reason_key(s.not_approached_reason) for s in not_approached)),
        declined=len(declined), declined_reasons=dict(Counter(_reason_key(s.declined_reason) for s in declined)),
        enrolled_not_randomised=enrolled_not_rand, randomised=len(allocations), arms=tuple(flows),
        primary_visit=primary_visit, primary_outcome=f"{primary_instrument} {primary_scale}", as_of=as_of)


#: why a child has no primary outcome, by follow-up category
NOT_ANALYSED_REASON = {"followed_up": "assessed, primary outcome not recorded", "withdrawn": "withdrew from follow-up",
                       "missed": "visit missed", "lost": "lost to follow-up", "in_window": "visit window open",
                       "not_yet_due": "not yet due"}


def _follow_up_status(v: Visit | None, done: bool, withdrawn: bool, as_of: date) -> str:
    """The one follow-up category of a child at the primary visit on ``as_of`` (see the module docstring)."""
    if done:
        return "followed_up"
    if withdrawn:
        return "withdrawn"
    if v is None:
        return "lost"
    if v.window_opens > as_of:  # checked before "missed": a visit cannot be missed before its window opens
        return "not_yet_due"
    if v.status == "missed":
        return "missed"
    if v.window_closes >= as_of:
        return "in_window"
    return "lost"
