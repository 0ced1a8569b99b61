"""Protocol deviations, serious breaches (7-day clock), assessor unblinding, guesses of allocation and
Bang's blinding index (checked by hand and against an R script in tests/reference)."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pytest
from trial_world import actor

from securebase.analysis.blinding import bang_index, blinding_indices
from securebase.errors import BlindingError, ConflictError, DataError, FieldError, PermissionDenied
from securebase.trial.safety import blinding, deviations

REF = Path(__file__).resolve().parents[1] / "reference" / "bang_blinding_index.txt"


def test_bang_index_hand_worked_example() -> None:
    # Intervention arm: 20 guesses, 10 correct, 4 wrong, 6 don't know.
    # Bang's form: (2 * 10/14 - 1) * 14/20 = (6/14) * (14/20) = 6/20 = 0.30
    # Var = [0.5*0.5 + 0.2*0.8 + 2*0.5*0.2] / 20 = (0.25 + 0.16 + 0.20) / 20 = 0.0305; SE = 0.174642...
    bi = bang_index("intervention", 10, 4, 6)
    assert bi.index == pytest.approx(0.30, abs=1e-12)
    assert bi.se == pytest.approx(math.sqrt(0.0305), abs=1e-12)
    assert (bi.ci_lower, bi.ci_upper) == pytest.approx((0.3 - 1.959964 * 0.1746425, 0.3 + 1.959964 * 0.1746425), abs=1e-6)
    assert bi.verdict == "consistent with blinding"
    # Usual care: 5 correct, 9 wrong, 6 don't know -> (5 - 9) / 20 = -0.20
    assert bang_index("usual_care", 5, 9, 6).index == pytest.approx(-0.20, abs=1e-12)
    assert bang_index("x", 20, 0, 0).index == 1.0 and bang_index("x", 0, 20, 0).index == -1.0
    assert bang_index("x", 0, 0, 20).index == 0.0 and bang_index("x", 0, 0, 20).se == 0.0
    assert bang_index("x", 30, 2, 0).verdict.startswith("guesses better than chance")
    assert math.isnan(bang_index("x", 0, 0, 0).index)
    with pytest.raises(DataError, match="correct must be a count"):
        bang_index("x", -1, 0, 0)


def test_bang_index_matches_the_r_script() -> None:
    """tests/reference/bang_blinding_index.R writes Bang's formula in the paper's form; tolerance 1e-9."""
    for line in REF.read_text().splitlines():
        name, c, w, dk, est, se, lo, hi = line.split()
        got = bang_index(name, int(c), int(w), int(dk))
        assert (got.index, got.se, got.ci_lower, got.ci_upper) == pytest.approx(
            (float(est), float(se), float(lo), float(hi)), abs=1e-9)


def test_indices_from_pairs() -> None:
    pairs = ([("intervention", "intervention")] * 10 + [("intervention", "usual_care")] * 4
             + [("intervention", "dont_know")] * 6 + [("usual_care", "usual_care")] * 5
             + [("usual_care", "intervention")] * 9 + [("usual_care", "dont_know")] * 6)
    a, b = blinding_indices(pairs, ["intervention", "usual_care"])
    assert (a.n, a.correct, a.incorrect, a.dont_know, round(a.index, 12)) == (20, 10, 4, 6, 0.3)
    assert (b.n, b.correct, b.incorrect, b.dont_know, round(b.index, 12)) == (20, 5, 9, 6, -0.2)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def world(request, tmp_path_factory):  # type: ignore[no-untyped-def]
    from safety_world import safety_world

    w = safety_world(request, tmp_path_factory)
    yield w
    w["close"]()


def test_serious_breach_clock_and_unblinding(world) -> None:  # type: ignore[no-untyped-def]
    store = world["store"]
    tm = actor(store, "tm")
    with store.unit_of_work(actor="tm") as uow:
        d = deviations.record_deviation(uow, tm, site_code="LA01", category="consent",
                                        description="assent form of the wrong version used", occurred_on="2028-02-20",
                                        aware_on="2028-02-24", serious_breach=True,
                                        corrective_action="re-assented with v1.0; site retrained",
                                        today=date(2028, 3, 31))
        assert d.report_due_on == date(2028, 3, 2)  # 24 Feb + 7 days in a leap year
        u = deviations.record_assessor_unblinding(uow, tm, world["usual"], assessor="assessor",
                                                  how="carer mentioned the group sessions at the 12-month visit",
                                                  occurred_on="2026-01-10", corrective_action="m12 re-assessed by assessor2",
                                                  today=date(2026, 2, 1))
        assert (u.category, u.unblinded_assessor, u.serious_breach) == ("blinding", "assessor", False)
        with pytest.raises(FieldError, match="unblinded_assessor.*outcome_assessor"):
            deviations.record_assessor_unblinding(uow, tm, world["usual"], assessor="dm", how="x",
                                                  occurred_on="2026-01-10")
        with pytest.raises(FieldError, match="category"):
            deviations.record_deviation(uow, tm, site_code="LA01", category="oops", description="x",
                                        occurred_on="2026-01-01")
        uow.commit()
    with store.read() as s:
        on = date(2028, 3, 3)
        over = deviations.list_deviations(s, actor(store, "dm"), on=on, overdue_only=True)
        assert [x["reference"] for x in over] == [f"DEV-{d.id:04d}"]
        assert deviations.list_deviations(s, actor(store, "dm"), on=date(2028, 3, 2), overdue_only=True) == []
        assert deviations.list_deviations(s, actor(store, "rec2"), on=on) == [] or all(
            x["site"] == "LA02" for x in deviations.list_deviations(s, actor(store, "rec2"), on=on))


def test_guesses_are_recorded_blind_and_indexed_unblinded(world) -> None:  # type: ignore[no-untyped-def]
    store = world["store"]
    a = actor(store, "assessor")
    with store.unit_of_work(actor="assessor") as uow:
        blinding.record_guess(uow, a, world["inter"], "intervention")
        blinding.record_guess(uow, a, world["usual"], "dont_know")
        with pytest.raises(ConflictError, match="already recorded"):
            blinding.record_guess(uow, a, world["usual"], "usual_care")
        with pytest.raises(FieldError, match="guess.*dont_know"):
            blinding.record_guess(uow, a, world["inter"], "placebo")
        uow.commit()
    with store.unit_of_work(actor="tm") as uow, pytest.raises(PermissionDenied):
        blinding.record_guess(uow, actor(store, "tm"), world["inter"], "intervention")
    with store.read() as s:
        with pytest.raises(BlindingError):
            blinding.guesses_by_arm(s, actor(store, "assessor"))
        pairs = blinding.guesses_by_arm(s, actor(store, "ustat"))
        assert sorted(pairs) == [("intervention", "intervention"), ("usual_care", "dont_know")]
        assert blinding.guess_count(s, "ng26-care") == {"guesses": 2, "dont_know": 1}
