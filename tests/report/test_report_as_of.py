"""CONSORT counts and the report at an analysis date: not yet due, in window, missed, withdrawn and lost
are distinct, and a child randomised yesterday is not yet due (not lost) at an interim report."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from securebase.protocol import load_protocol
from securebase.protocol.schedule import visit_windows
from securebase.report.consort import consort_counts
from securebase.report.from_store import report_from_store
from securebase.store.tables import Allocation, Participant, Score, ScreeningRecord, Visit, Withdrawal

TODAY = date.today()
# child -> (days since randomisation, primary visit status, missed reason, withdrew)
CHILDREN = {
    "CARE-A": (400, "completed", None, False),   # assessed
    "CARE-B": (1, "scheduled", None, False),     # randomised yesterday: not yet due
    "CARE-C": (370, "scheduled", None, False),   # 12-month window open today
    "CARE-D": (500, "missed", "family moved away", False),
    "CARE-E": (500, "scheduled", None, False),   # window closed, nothing recorded: lost
    "CARE-F": (500, "scheduled", None, True),    # withdrew from follow-up
}


def _populate(store) -> None:  # type: ignore[no-untyped-def]
    proto = load_protocol("ng26-care")
    with store.unit_of_work(actor="fixture") as uow:
        s = uow.session
        for i, (pid, (ago, status, reason, withdrew)) in enumerate(CHILDREN.items()):
            on = TODAY - timedelta(days=ago)
            s.add(ScreeningRecord(trial_id="ng26-care", site_code="LA01", screening_number=f"SCR-{i}", screened_on=on,
                                  answers={}, eligible=True, ineligible_reasons="", approached=True, outcome="eligible"))
            p = Participant(trial_id="ng26-care", participant_id=pid, site_code="LA01", status="randomised",
                            enrolled_on=on, age_years=8, age_band="5-10", care_status="foster")
            s.add(p)
            s.flush()
            s.add(Allocation(trial_id="ng26-care", participant_pk=p.id, sequence_number=i + 1,
                             arm="intervention" if i % 2 else "usual_care", method="minimisation", allocated_on=on,
                             allocated_by="fixture"))
            for w in visit_windows(proto, on):
                v = Visit(trial_id="ng26-care", participant_pk=p.id, visit_id=w.visit_id,
                          month=proto.visit(w.visit_id).month, due_on=w.due, window_opens=w.opens,
                          window_closes=w.closes, status="completed" if w.visit_id == "baseline" else "scheduled")
                if w.visit_id == "m12":
                    v.status, v.missed_reason = status, reason
                    v.completed_on = w.due if status == "completed" else None
                s.add(v)
                s.flush()
                if v.status == "completed":
                    s.add(Score(trial_id="ng26-care", participant_pk=p.id, visit_pk=v.id, instrument="sdq_parent",
                                respondent="carer", scale="total", value=12.0))
            if withdrew:
                s.add(Withdrawal(trial_id="ng26-care", participant_pk=p.id, level="follow_up",
                                 withdrawn_on=on + timedelta(days=100), reason="family request"))
        uow.commit()


def _pooled(store, as_of: date) -> dict:  # type: ignore[no-untyped-def]
    with store.read() as session:
        c = consort_counts(session, "ng26-care", as_of=as_of)
    assert c.as_of == as_of
    return c.pooled() | {"randomised": c.randomised, "assessed": c.assessed}


def test_interim_counts_keep_not_yet_due_apart_from_lost(care_trial) -> None:  # type: ignore[no-untyped-def]
    _populate(care_trial)
    p = _pooled(care_trial, TODAY)
    assert (p["randomised"], p["followed_up"], p["not_yet_due"], p["in_window"], p["missed"], p["lost"],
            p["withdrawn"]) == (6, 1, 1, 1, 1, 1, 1)
    assert p["followed_up"] + p["not_yet_due"] + p["in_window"] + p["missed"] + p["lost"] + p["withdrawn"] == 6
    assert p["missed_reasons"] == {"family moved away": 1}
    assert p["lost_reasons"] == {"window closed, no assessment recorded": 1}
    assert p["analysed"] == 1 and p["due"] == 5
    assert p["not_analysed_reasons"] == {"not yet due": 1, "visit window open": 1, "visit missed": 1,
                                         "lost to follow-up": 1, "withdrew from follow-up": 1}


def test_at_the_end_the_unassessed_are_lost_and_earlier_cuts_forget_later_records(care_trial) -> None:  # type: ignore[no-untyped-def]
    _populate(care_trial)
    end = TODAY + timedelta(days=500)  # every window has closed
    p = _pooled(care_trial, end)
    assert (p["not_yet_due"], p["in_window"], p["lost"], p["missed"], p["withdrawn"]) == (0, 0, 3, 1, 1)
    # 450 days ago: only the three children randomised 500 days ago had been screened and randomised;
    # their 12-month visits were not yet due and the withdrawal (day 100) had not happened
    early = _pooled(care_trial, TODAY - timedelta(days=450))
    assert (early["assessed"], early["randomised"], early["not_yet_due"], early["withdrawn"]) == (3, 3, 3, 0)
    # before the assessment was done, child A is in window, not assessed
    mid = _pooled(care_trial, TODAY - timedelta(days=400) + timedelta(days=366 - 10))
    assert mid["followed_up"] == 0 and mid["in_window"] >= 1 and mid["analysed"] == 0


def test_open_report_at_an_interim_date_says_so(care_trial, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from securebase.trial.roles import Role
    from securebase.trial.setup import create_user, grant_role

    _populate(care_trial)
    with care_trial.unit_of_work(actor="test-setup") as uow:
        grant_role(uow, create_user(uow, "tm", "correct-horse-battery"), "ng26-care", Role.trial_manager)
        uow.commit()
    files = report_from_store(care_trial, "ng26-care", "tm", "open", tmp_path, pdf=False, as_of=TODAY)
    html = files["html"].read_text()
    assert f"Data as of {TODAY.isoformat()}" in html
    assert f"Not yet due on {TODAY.isoformat()} (n = 1)" in html
    assert "Lost to follow-up (n = 1)" in html and "Missed the visit (n = 1)" in html
    end = TODAY + timedelta(days=500)
    html = report_from_store(care_trial, "ng26-care", "tm", "open", tmp_path, pdf=False, as_of=end)["html"].read_text()
    assert f"Data as of {end.isoformat()}" in html and "Not yet due" not in html
    assert "Lost to follow-up (n = 3)" in html


def test_exclusion_reasons_are_grouped_by_criterion() -> None:
    from securebase.report.consort import _criterion

    assert _criterion("Aged 5 to 17 at randomisation: age 4 is under 5") == "Aged 5 to 17 at randomisation"
    assert _criterion("Aged 5 to 17 at randomisation: age 3.5 is under 5") == "Aged 5 to 17 at randomisation"
    assert _criterion("answer missing: Adopted or in care: 'care_status' not answered") == (
        "answer missing: Adopted or in care")
    assert _criterion("No placement ending planned within 3 months (exclusion criterion met)") == (
        "No placement ending planned within 3 months (exclusion criterion met)")
    assert _criterion("") == "reason not recorded"


def test_baseline_levels_are_labelled_and_in_natural_order() -> None:
    import pandas as pd

    from securebase.report.tables import baseline_table

    part = pd.DataFrame({"arm": ["a", "b", "a", "b"], "age_band": ["11-17", "5-10", "5-10", "11-17"],
                         "care_status": ["residential", "adopted", "special_guardianship", "foster"]})
    rows = [r[0].strip() for r in baseline_table(part, by_arm=False, arm_labels={})["rows"]]
    assert rows[rows.index("Age band, n (%)") + 1: rows.index("Age band, n (%)") + 3] == ["5 to 10 years", "11 to 17 years"]
    assert "Special guardianship" in rows and "special_guardianship" not in rows
