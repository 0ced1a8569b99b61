"""CONSORT counts reconcile with the database; blinding of the open and closed reports."""

from __future__ import annotations

import random
from datetime import date, timedelta

import numpy as np
import pytest
from sqlalchemy import text

from securebase.errors import BlindingError
from securebase.protocol import load_protocol
from securebase.report.builder import ReportData, ReportKind, render_html
from securebase.report.consort import consort_counts
from securebase.store.tables import (
    Allocation,
    InterventionSession,
    Participant,
    Score,
    ScreeningRecord,
    Visit,
    Withdrawal,
)
from securebase.trial.roles import Actor, Role


def _populate(store, seed: int = 3) -> None:  # type: ignore[no-untyped-def]
    """A synthetic screening log and trial written row by row (independent of the services)."""
    rng = random.Random(seed)
    with store.unit_of_work(actor="fixture") as uow:
        s = uow.session
        for i in range(90):
            site = rng.choice(["LA01", "LA02", "LA03"])
            kind = rng.random()
            eligible = kind > 0.25
            rec = ScreeningRecord(trial_id="ng26-care", site_code=site, screening_number=f"SCR-{i:04d}",
                                  screened_on=date(2025, 1, 1) + timedelta(days=i), answers={}, eligible=eligible,
                                  ineligible_reasons="" if eligible else rng.choice(["age under 5", "not in care"]),
                                  approached=None, outcome="eligible" if eligible else "ineligible")
            if eligible and kind < 0.35:
                rec.approached, rec.not_approached_reason, rec.outcome = False, "placement breaking down", "not_approached"
            elif eligible and kind < 0.45:
                rec.approached, rec.declined_reason, rec.outcome = True, rng.choice(["no time", "child unwilling"]), "declined"
            s.add(rec)
            s.flush()
            if rec.outcome != "eligible":
                continue
            p = Participant(trial_id="ng26-care", participant_id=f"CARE-{i:04d}", site_code=site, status="randomised",
                            enrolled_on=rec.screened_on, age_years=8, age_band="5-10", care_status="foster")
            s.add(p)
            s.flush()
            if rng.random() < 0.05:  # enrolled, not yet randomised
                continue
            arm = rng.choice(["intervention", "usual_care"])
            s.add(Allocation(trial_id="ng26-care", participant_pk=p.id, sequence_number=i, arm=arm, method="minimisation",
                             allocated_on=rec.screened_on, allocated_by="fixture"))
            if arm == "intervention" and rng.random() < 0.8:
                s.add(InterventionSession(trial_id="ng26-care", participant_pk=p.id, session_number=1,
                                          offered_on=rec.screened_on, attended=True, therapist="T1"))
            v = Visit(trial_id="ng26-care", participant_pk=p.id, visit_id="m12", month=12, due_on=rec.screened_on,
                      window_opens=rec.screened_on, window_closes=rec.screened_on,
                      status=rng.choice(["completed", "completed", "completed", "missed", "partial"]))
            if v.status == "missed":
                v.missed_reason = rng.choice(["family moved away", "carer did not respond"])
            s.add(v)
            s.flush()
            if rng.random() < 0.05:
                s.add(Withdrawal(trial_id="ng26-care", participant_pk=p.id, level=rng.choice(["follow_up", "intervention"]),
                                 withdrawn_on=rec.screened_on, reason="family request"))
            if v.status in ("completed", "partial"):
                s.add(Score(trial_id="ng26-care", participant_pk=p.id, visit_pk=v.id, instrument="sdq_parent",
                            respondent="carer", scale="total", value=None if v.status == "partial" else 12.0))
        uow.commit()


def _count(store, sql: str) -> int:  # type: ignore[no-untyped-def]
    with store.engine.connect() as c:
        return int(c.execute(text(sql)).scalar_one())


def test_every_consort_number_reconciles_with_the_database(care_trial) -> None:  # type: ignore[no-untyped-def]
    store = care_trial
    _populate(store)
    with store.read() as session:
        c = consort_counts(session, "ng26-care")
    assert c.assessed == _count(store, "SELECT count(*) FROM screening")
    assert c.not_eligible == _count(store, "SELECT count(*) FROM screening WHERE NOT eligible")
    assert c.not_approached == _count(store, "SELECT count(*) FROM screening WHERE eligible AND approached = false")
    assert c.declined == _count(store, "SELECT count(*) FROM screening WHERE eligible AND declined_reason IS NOT NULL")
    assert c.excluded == c.not_eligible + c.not_approached + c.declined
    assert sum(c.not_eligible_reasons.values()) == c.not_eligible
    assert c.not_eligible_reasons.get("age under 5", 0) == _count(
        store, "SELECT count(*) FROM screening WHERE ineligible_reasons = 'age under 5'")
    assert c.randomised == _count(store, "SELECT count(*) FROM allocations")
    assert c.enrolled_not_randomised == _count(
        store, "SELECT count(*) FROM participants WHERE id NOT IN (SELECT participant_pk FROM allocations)")
    for arm in c.arms:
        q = f"SELECT participant_pk FROM allocations WHERE arm = '{arm.arm}'"
        assert arm.allocated == _count(store, f"SELECT count(*) FROM allocations WHERE arm = '{arm.arm}'")
        if arm.arm == "intervention":
            assert arm.received == _count(store, f"SELECT count(DISTINCT participant_pk) FROM intervention_sessions "
                                                 f"WHERE attended AND participant_pk IN ({q})")
        else:
            assert arm.received == arm.allocated
        assert arm.followed_up == _count(store, f"SELECT count(*) FROM visits WHERE visit_id = 'm12' AND "
                                                f"status IN ('completed', 'partial') AND participant_pk IN ({q})")
        done = "SELECT participant_pk FROM visits WHERE visit_id = 'm12' AND status IN ('completed', 'partial')"
        wd = "SELECT participant_pk FROM withdrawals WHERE level = 'follow_up'"
        assert (arm.followed_up + arm.withdrawn + arm.missed + arm.lost + arm.in_window + arm.not_yet_due
                == arm.allocated)
        assert arm.missed == _count(store, f"SELECT count(*) FROM visits WHERE visit_id = 'm12' AND status = 'missed' "
                                           f"AND participant_pk IN ({q}) AND participant_pk NOT IN ({wd})")
        assert sum(arm.missed_reasons.values()) == arm.missed
        assert (arm.lost, arm.in_window, arm.not_yet_due) == (0, 0, 0)  # every window closed in 2025
        assert sum(arm.not_analysed_reasons.values()) == arm.not_analysed
        assert arm.analysed == _count(store, f"SELECT count(*) FROM scores WHERE value IS NOT NULL AND scale = 'total' "
                                             f"AND participant_pk IN ({q})")
        assert arm.withdrawn == _count(store, f"SELECT count(*) FROM withdrawals WHERE level = 'follow_up' "
                                              f"AND participant_pk IN ({q}) AND participant_pk NOT IN ({done})")
    assert c.pooled()["allocated"] == c.randomised


def _frames(n: int = 60):  # type: ignore[no-untyped-def]
    from securebase.analysis.design.simulate import make_parameters, simulate

    sim = simulate(make_parameters(protocol="ng26-care", n_participants=n), np.random.default_rng(4))
    return sim.participants, sim.visits


@pytest.mark.parametrize("role", ["outcome_assessor", "coder", "blinded_statistician", "qualitative_researcher",
                                  "data_manager"])
def test_blinded_roles_cannot_produce_the_closed_report(role: str) -> None:
    from securebase.report.consort import ConsortCounts

    part, visits = _frames()
    data = ReportData(load_protocol("ng26-care"), part, visits, ConsortCounts(0, 0, 0, {}, 0, {}, 0, {}, 0, 0, ()))
    actor = Actor("u", "ng26-care", frozenset({Role(role)}))
    with pytest.raises(BlindingError) as info:
        render_html(data, ReportKind.closed, actor)
    assert "open report" in str(info.value)
    html = render_html(data, ReportKind.open, actor)
    proto = load_protocol("ng26-care")
    for arm in proto.arms:
        assert arm.name not in html
    for word in ("Allocated to", "usual_care", "Usual care", "therapist", "by arm."):
        assert word not in html, word
    assert "OPEN REPORT" in html


def test_closed_report_shows_arms_for_the_dmc() -> None:
    from securebase.report.consort import ArmFlow, ConsortCounts

    part, visits = _frames()
    arms = tuple(ArmFlow(a, 30, 28, 2, {}, 25, 5, {"moved": 5}, 1, 1, 24, 6) for a in ("intervention", "usual_care"))
    data = ReportData(load_protocol("ng26-care"), part, visits, ConsortCounts(80, 20, 10, {"x": 10}, 5, {"y": 5}, 5,
                                                                               {"z": 5}, 0, 60, arms))
    html = render_html(data, ReportKind.closed, Actor("dmc", "ng26-care", frozenset({Role.dmc_member})))
    assert "Allocated to Usual care (n = 30)" in html and "CLOSED REPORT" in html
    assert 'data-box="randomised"' in html and "Randomised (n = 60)" in html
