"""The harms section of the report: adverse events by category and seriousness, the serious adverse event
listing, safeguarding concerns (counts only, never details), protocol deviations and the blinding index.

The closed report (data monitoring committee) splits everything by arm and gives Bang's blinding index per
arm; the open report pools the arms and leaves out what could point to an arm (relatedness to the
intervention, the index itself). Built by :func:`harms_from_store` as template-ready tables.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from securebase.analysis.blinding import blinding_indices
from securebase.protocol import Protocol
from securebase.store import Store
from securebase.store.tables import (
    AdverseEvent,
    Allocation,
    BlindingGuess,
    Participant,
    ProtocolDeviation,
    SafeguardingConcern,
)
from securebase.trial.roles import Actor

ALL = "All participants"


def _pct(k: int, n: int) -> str:
    return f"{k} ({100 * k / n:.1f}%)" if n else str(k)


def _cell(events: list[Any]) -> tuple[int, int]:
    return len(events), len({e.participant_pk for e in events})


def harms_tables(protocol: Protocol, aes: list[AdverseEvent], arm_of: dict[int, str] | None, n_by_arm: dict[str, int],
                 concerns: list[SafeguardingConcern], deviations: list[ProtocolDeviation],
                 guesses: list[BlindingGuess]) -> dict[str, Any]:
    """Template-ready harms tables. ``arm_of`` (participant pk -> arm) is given for the closed report only."""
    plan = protocol.safety
    closed = arm_of is not None
    labels = {a.id: a.name if len(a.name) < 40 else ("Intervention" if a.intervention else "Usual care")
              for a in protocol.arms}
    groups: list[tuple[str, str | None]] = [(labels[a.id], a.id) for a in protocol.arms] if closed else []
    groups.append((ALL, None))
    n_total = sum(n_by_arm.values())

    def members(items: list[Any], arm: str | None) -> list[Any]:
        return items if arm is None else [x for x in items if arm_of and arm_of.get(x.participant_pk) == arm]

    def denom(arm: str | None) -> int:
        return n_total if arm is None else n_by_arm.get(arm, 0)

    header = ["", *[f"{g} (n = {denom(a)})" for g, a in groups]]

    def row(label: str, items: list[Any]) -> list[str]:
        out = [label]
        for _, arm in groups:
            ev, people = _cell(members(items, arm))
            out.append(f"{ev} events; {_pct(people, denom(arm))} children")
        return out

    cats = [(e.id, e.label) for e in plan.expected_events] + [("other", "Other (not on the expected list)")]
    by_category = {"header": ["Category", *header[1:]],
                   "rows": [row(label, [a for a in aes if a.category == cid]) for cid, label in cats]
                   + [row("Any adverse event", aes)]}
    serious = [a for a in aes if a.serious]
    by_seriousness = {"header": ["Seriousness", *header[1:]],
                      "rows": [row("Not serious", [a for a in aes if not a.serious]), row("Serious (any criterion)", serious)]
                      + [row(f"  {c.label}", [a for a in serious if c.id in (a.seriousness or [])])
                         for c in plan.seriousness_criteria]}
    reportable = [a for a in serious if a.report_due_on is not None]
    listing_header = ["Event", "Category", "Onset", "Team aware", "Criteria", "Outcome"]
    if closed:
        listing_header = ["Event", "Arm", "Category", "Onset", "Team aware", "Criteria", "Relatedness", "Expectedness",
                          "Outcome", "Report due", "Reported"]
    listing = []
    for a in sorted(serious, key=lambda x: (x.aware_on, x.id)):
        crit = ", ".join(plan.label("seriousness_criteria", c) for c in a.seriousness or [])
        cat = plan.label("expected_events", a.category) if a.category != "other" else "Other"
        if closed:
            listing.append([f"AE-{a.id:04d}", labels.get(arm_of.get(a.participant_pk, ""), "–") if arm_of else "–", cat,
                            a.onset_on.isoformat(), a.aware_on.isoformat(), crit, a.relatedness or "not assessed",
                            a.expectedness or "not assessed", a.outcome,
                            a.report_due_on.isoformat() if a.report_due_on else "–",
                            a.reported_on.isoformat() if a.reported_on else "–"])
        else:
            listing.append([f"AE-{a.id:04d}", cat, a.onset_on.isoformat(), a.aware_on.isoformat(), crit, a.outcome])
    safeguarding = {"header": ["Safeguarding concerns", *header[1:]], "rows": [
        [label, *[str(len([c for c in members(concerns, arm) if keep(c)])) for _, arm in groups]]
        for label, keep in (("Raised", lambda c: True), ("Referred to the local authority", lambda c: bool(c.referral_made)),
                            ("Signed off by the safeguarding lead", lambda c: c.status in ("signed_off", "closed")))]}
    dev_counts = Counter(d.category for d in deviations)
    deviation_rows = [[c.label, str(dev_counts.get(c.id, 0)),
                       str(sum(1 for d in deviations if d.category == c.id and d.serious_breach))]
                      for c in plan.deviation_categories]
    blinding: dict[str, Any] = {"guesses": len(guesses), "dont_know": sum(1 for g in guesses if g.guess == "dont_know"),
                                "visit": plan.blinding_guess_visit, "table": None}
    if closed and len(protocol.arms) == 2:
        pairs = [(arm_of.get(g.participant_pk, ""), g.guess) for g in guesses] if arm_of else []
        idx = blinding_indices(pairs, [a.id for a in protocol.arms])
        blinding["table"] = {"header": ["Arm", "Guesses", "Correct", "Incorrect", "Don't know",
                                        "Bang's index (95% CI)", "Reading"],
                             "rows": [[labels[b.arm], b.n, b.correct, b.incorrect, b.dont_know,
                                       "–" if b.n == 0 else f"{b.index:.2f} ({b.ci_lower:.2f} to {b.ci_upper:.2f})",
                                       b.verdict] for b in idx]}
    return {"closed": closed, "by_category": by_category, "by_seriousness": by_seriousness,
            "listing": {"header": listing_header, "rows": listing},
            "reportable": {"n": len(reportable), "reported": sum(1 for a in reportable if a.reported_on),
                           "late": sum(1 for a in reportable if a.reported_on and a.report_due_on and a.reported_on > a.report_due_on),
                           "days": plan.sae_report_days},
            "safeguarding": safeguarding,
            "deviations": {"header": ["Category", "Deviations", "Serious breaches"], "rows": deviation_rows,
                           "unblinded_assessors": sum(1 for d in deviations if d.unblinded_assessor),
                           "total": len(deviations), "breach_days": plan.serious_breach_days},
            "blinding": blinding}


def harms_from_session(session: Session, protocol: Protocol, actor: Actor, *, closed: bool) -> dict[str, Any]:
    """Read the safety tables and build the section; the allocation is read only for the closed report and only
    for a role that may see it."""
    tid = protocol.id
    aes = list(session.execute(select(AdverseEvent).where(AdverseEvent.trial_id == tid)).scalars())
    concerns = list(session.execute(select(SafeguardingConcern).where(SafeguardingConcern.trial_id == tid)).scalars())
    devs = list(session.execute(select(ProtocolDeviation).where(ProtocolDeviation.trial_id == tid)).scalars())
    guesses = list(session.execute(select(BlindingGuess).where(BlindingGuess.trial_id == tid)).scalars())
    arm_of: dict[int, str] | None = None
    n_by_arm: dict[str, int] = defaultdict(int)
    if closed and actor.can_see_allocation():
        arm_of = dict(session.execute(select(Allocation.participant_pk, Allocation.arm)
                                      .where(Allocation.trial_id == tid)).all())
        for arm in arm_of.values():
            n_by_arm[arm] += 1
    else:
        n = session.execute(select(Participant.id).join(Allocation, Allocation.participant_pk == Participant.id)
                            .where(Participant.trial_id == tid)).all()
        n_by_arm["all"] = len(n)
    return harms_tables(protocol, aes, arm_of, dict(n_by_arm), concerns, devs, guesses)


def harms_from_store(store: Store, protocol: Protocol, actor: Actor, *, closed: bool) -> dict[str, Any]:
    with store.read() as session:
        return harms_from_session(session, protocol, actor, closed=closed)


__all__ = ["harms_from_session", "harms_from_store", "harms_tables"]
