"""Demo step: safety in the synthetic trial. Adds a safeguarding lead and a chief investigator; the outcome
assessor raises a safeguarding concern (the alert goes to the outbox folder ``<out>/outbox/mail``); the lead
records the referral and signs off; adverse events are recorded against the expected-events list and the
serious ones assessed by the chief investigator, with a follow-up; a serious breach and an assessor's
accidental unblinding are recorded; the assessor guesses allocation at 12 months. Synthetic data only."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from securebase.notify import FileMailer
from securebase.protocol import Protocol
from securebase.store import Store
from securebase.store.tables import Allocation, Participant, User, Visit
from securebase.trial.audit_view import actor_for
from securebase.trial.roles import Role
from securebase.trial.safety import adverse, blinding, concerns, deviations

#: P(guess) for an assessor at 12 months: mostly "don't know", a little better than chance otherwise.
GUESS_P = {"correct": 0.28, "incorrect": 0.17, "dont_know": 0.55}


def _participants(store: Store, trial_id: str) -> list[tuple[str, str, date, str]]:
    with store.read() as s:
        return [tuple(r) for r in s.execute(  # type: ignore[misc]
            select(Participant.participant_id, Participant.site_code, Allocation.allocated_on, Allocation.arm)
            .join(Allocation, Allocation.participant_pk == Participant.id)
            .where(Participant.trial_id == trial_id).order_by(Participant.participant_id)).all()]


def run_safety(store: Store, protocol: Protocol, out: Path, *, seed: int, password: str) -> dict[str, Any]:
    """Record the demo's safety data; returns counts and the outbox used."""
    from securebase.trial.setup import create_user, grant_role

    rng = np.random.default_rng(seed + 19)
    tid = protocol.id
    with store.unit_of_work(actor="securebase-demo") as uow:
        for name, role in (("dsl", Role.safeguarding_lead), ("ci", Role.chief_investigator)):
            if uow.session.execute(select(User).where(User.username == name)).scalar_one_or_none() is None:
                grant_role(uow, create_user(uow, name, password, display_name=name), tid, role)
        uow.commit()

    def act(name: str):  # type: ignore[no-untyped-def]
        with store.read() as s:
            return actor_for(s, name, tid)

    dsl, ci, assessor, tm = act("dsl"), act("ci"), act("assessor"), act("tm")
    with store.unit_of_work(actor="dsl") as uow:
        concerns.set_contact(uow, dsl, "dsl", "dsl@trial.example.org")
        uow.commit()
    mailer = FileMailer(out / "outbox" / "mail", "securebase-demo@trial.example.org")
    for old in list(mailer.folder.glob("*.eml")) + list(mailer.folder.glob("*.json")):
        old.unlink()  # the outbox of an earlier demo run
    people = _participants(store, tid)
    today = date.today()
    counts = {"safeguarding concerns": 0, "adverse events": 0, "serious adverse events": 0, "deviations": 0,
              "blinding guesses": 0}

    # a disclosure at a visit, raised by the blinded assessor; the lead refers and signs off
    pid = people[int(rng.integers(len(people)))][0]
    with store.unit_of_work(actor="assessor") as uow:
        c = concerns.raise_concern(uow, assessor, pid, source="visit", source_detail="12-month visit, after the SDQ",
                                   what_seen_or_said="(synthetic) child said an older cousin hurts her at weekends",
                                   immediate_action="listened; explained the information must be passed on",
                                   mailer=mailer, base_url="http://127.0.0.1:8000")
        cid = c.id
        uow.commit()
    counts["safeguarding concerns"] += 1
    with store.unit_of_work(actor="dsl") as uow:
        concerns.record_referral(uow, dsl, cid, made=True, to="Local authority MASH", reference_number="MASH-DEMO-001",
                                 at=datetime.now(UTC))
        concerns.sign_off(uow, dsl, cid, assessment="(synthetic) referral appropriate; strategy discussion held")
        uow.commit()

    # adverse events: about one child in five, categories from the protocol's expected list
    cats = [e.id for e in protocol.safety.expected_events]
    crit_for = {"self_harm": "hospitalisation", "missing_episode": "missing_over_24h", "police_contact": "police_custody",
                "hospital_admission": "hospitalisation", "placement_breakdown": "emergency_placement_move"}
    for pid, _site, randomised, _arm in people:
        if rng.random() > 0.2 or (today - randomised).days < 12:
            continue
        span = max((today - randomised).days - 10, 1)
        onset = randomised + timedelta(days=int(rng.integers(1, span + 1)))
        aware = min(onset + timedelta(days=int(rng.integers(0, 10))), today)
        cat = cats[int(rng.integers(len(cats)))]
        serious = cat in crit_for and rng.random() < 0.35
        with store.unit_of_work(actor="tm") as uow:
            ae = adverse.record_adverse_event(uow, tm, pid, category=cat, description=f"(synthetic) {cat.replace('_', ' ')}",
                                              onset_on=onset, aware_on=aware, serious=serious,
                                              seriousness=[crit_for[cat]] if serious else [])
            if serious:
                related = "possibly" if rng.random() < 0.3 else "unlikely"
                adverse.assess(uow, ci, ae.id, relatedness=related,
                               expectedness="unexpected" if rng.random() < 0.5 else "expected")
                adverse.follow_up(uow, tm, ae.id, note="(synthetic) follow-up: resolved", outcome="resolved")
                if ae.report_due_on is not None and ae.report_due_on <= today:
                    adverse.mark_reported(uow, ci, ae.id, min(ae.aware_on + timedelta(days=10), today))
                counts["serious adverse events"] += 1
            counts["adverse events"] += 1
            uow.commit()

    # a serious breach and an assessor's accidental unblinding
    site0 = protocol.sites[0].code
    with store.unit_of_work(actor="tm") as uow:
        deviations.record_deviation(uow, tm, site_code=site0, category="consent",
                                    description="(synthetic) out-of-date assent form used for two children",
                                    occurred_on=today - timedelta(days=40), aware_on=today - timedelta(days=35),
                                    serious_breach=True, corrective_action="re-assented; site retrained")
        unb = people[int(rng.integers(len(people)))][0]
        deviations.record_assessor_unblinding(uow, tm, unb, assessor="assessor",
                                              how="(synthetic) carer mentioned the group sessions",
                                              occurred_on=today - timedelta(days=20),
                                              corrective_action="later visits by another assessor")
        uow.commit()
    counts["deviations"] += 2

    # guesses at the 12-month visit, for children whose visit was completed
    visit = protocol.safety.blinding_guess_visit
    with store.read() as s:
        done = set(s.execute(select(Participant.participant_id).join(Visit, Visit.participant_pk == Participant.id)
                             .where(Participant.trial_id == tid, Visit.visit_id == visit,
                                    Visit.status.in_(("completed", "partial")))).scalars())
    arms = [a.id for a in protocol.arms]
    with store.unit_of_work(actor="assessor") as uow:
        for pid, _site, _r, arm in people:
            if pid not in done:
                continue
            kind = rng.choice(list(GUESS_P), p=list(GUESS_P.values()))
            guess = arm if kind == "correct" else blinding.DONT_KNOW if kind == "dont_know" else next(
                a for a in arms if a != arm)
            blinding.record_guess(uow, assessor, pid, guess)
            counts["blinding guesses"] += 1
        uow.commit()
    return {"counts": counts, "outbox": mailer.folder, "emails": len(mailer.messages())}


__all__ = ["run_safety"]
