"""Cohort Markov model: the Chancellor et al. (1997) HIV model to the cent, half-cycle correction, bad rows."""

from __future__ import annotations

import numpy as np
import pytest

from securebase.analysis.economics.model.cohort import check_transitions, run_cohort
from securebase.analysis.economics.model.examples import (
    HIV_PUBLISHED,
    HIV_STATES,
    chancellor_hiv,
    hiv_matrices,
)
from securebase.errors import DataError


def test_chancellor_hiv_model_reproduces_briggs_exercise_2_5_to_the_cent():
    res = chancellor_hiv()
    m, c = res["mono"].totals, res["comb"].totals
    assert round(float(m["cost"]), 2) == round(HIV_PUBLISHED["cost_mono"], 2) == 44663.45
    assert round(float(c["cost"]), 2) == round(HIV_PUBLISHED["cost_comb"], 2) == 50601.65
    assert float(m["ly"]) == pytest.approx(HIV_PUBLISHED["ly_mono"], abs=5e-8)
    assert float(c["ly"]) == pytest.approx(HIV_PUBLISHED["ly_comb"], abs=5e-8)
    icer = (c["cost"] - m["cost"]) / (c["ly"] - m["ly"])
    assert round(float(icer), 2) == round(HIV_PUBLISHED["icer"], 2) == 6275.96
    # Briggs et al. Table 2.2: the rounded matrices of the book
    mono, comb = hiv_matrices()
    np.testing.assert_allclose(mono[0], [0.721, 0.202, 0.067, 0.010], atol=5e-4)
    np.testing.assert_allclose(comb[0], [0.858, 0.103, 0.034, 0.005], atol=5e-4)


def test_trace_and_methods_on_a_two_state_model():
    # alive -> dead with p = 0.1 a year: occupancy alive after t cycles 0.9^t
    P = np.array([[0.9, 0.1], [0.0, 1.0]])
    kw = dict(states=("alive", "dead"), cycles=3)
    r_end = run_cohort(P, [1, 0], {"ly": np.array([1.0, 0.0])}, method="end", **kw)
    r_beg = run_cohort(P, [1, 0], {"ly": np.array([1.0, 0.0])}, method="beginning", **kw)
    r_hcc = run_cohort(P, [1, 0], {"ly": np.array([1.0, 0.0])}, method="half_cycle", **kw)
    assert r_end.totals["ly"] == pytest.approx(0.9 + 0.81 + 0.729)
    assert r_beg.totals["ly"] == pytest.approx(1 + 0.9 + 0.81)
    assert r_hcc.totals["ly"] == pytest.approx((r_end.totals["ly"] + r_beg.totals["ly"]) / 2)
    r = run_cohort(P, [1, 0], {"q": np.array([1.0, 0.0])}, method="half_cycle", discount={"q": 0.035}, **kw)
    d = 1.035 ** -np.arange(4.0)
    occ = 0.9 ** np.arange(4.0)
    assert r.totals["q"] == pytest.approx(sum(0.5 * (occ[t] * d[t] + occ[t + 1] * d[t + 1]) for t in range(3)))


def test_vectorised_samples_equal_one_at_a_time():
    rng = np.random.default_rng(1)
    p = rng.uniform(0.05, 0.3, 50)
    P = np.zeros((50, 1, 2, 2))
    P[:, 0, 0, 0], P[:, 0, 0, 1], P[:, 0, 1, 1] = 1 - p, p, 1
    cost = np.stack([rng.uniform(100, 200, 50), np.zeros(50)], axis=-1)[:, None, :]
    many = run_cohort(P, [1, 0], {"c": cost}, states=("a", "d"), cycles=5, discount={"c": 0.035})
    for i in (0, 17, 49):
        one = run_cohort(P[i, 0], [1, 0], {"c": cost[i, 0]}, states=("a", "d"), cycles=5, discount={"c": 0.035})
        assert many.totals["c"][i] == pytest.approx(one.totals["c"])


def test_row_not_summing_to_one_names_the_state():
    mono, _ = hiv_matrices()
    bad = mono.copy()
    bad[1, 2] += 0.02
    with pytest.raises(DataError, match=r"from state 'B' sum to 1\.02, not 1.*correct the probabilities out of 'B'"):
        run_cohort(bad, [1, 0, 0, 0], {"c": np.ones(4)}, states=HIV_STATES, cycles=3)
    many = np.broadcast_to(mono, (5, 3, 4, 4)).copy()
    many[3, 1, 2, 3] = 0.5
    with pytest.raises(DataError, match=r"from state 'C' in cycle 2, PSA sample 3 sum to"):
        check_transitions(many, HIV_STATES)
    neg = mono.copy()
    neg[0] = [1.1, -0.1, 0, 0]
    with pytest.raises(DataError, match=r"from state 'A' is outside \[0, 1\]"):
        check_transitions(neg, HIV_STATES)
