"""Property-based tests of the allocation methods (pure domain code).

Monte Carlo tolerances: shares are compared with their target within 4.5 binomial standard errors
(two-sided false-alarm probability about 7e-6 per comparison), with fixed seeds.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from securebase.randomisation import (
    Minimisation,
    PermutedBlocks,
    allocation_rng,
    block_end_balanced,
    han_probabilities,
    list_rng,
    stratum_key,
)
from securebase.randomisation.core import draw_arm

MC_Z = 4.5

ratio_lists = st.lists(st.integers(1, 3), min_size=2, max_size=4)


@st.composite
def block_designs(draw: st.DrawFn) -> tuple[tuple[str, ...], list[int], list[int]]:
    ratios = draw(ratio_lists)
    total = sum(ratios)
    mults = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3, unique=True))
    arms = tuple(f"arm{i}" for i in range(len(ratios)))
    return arms, ratios, [m * total for m in mults]


@settings(max_examples=60, deadline=None)
@given(design=block_designs(), seed=st.integers(0, 2**31 - 1), n_strata=st.integers(1, 6), n_blocks=st.integers(1, 12))
def test_every_stratum_list_balances_at_each_block_end(design, seed, n_strata, n_blocks) -> None:
    arms, ratios, sizes = design
    pb = PermutedBlocks(arms, ratios, sizes)
    total = sum(ratios)
    for s in range(n_strata):
        stratum = stratum_key({"site": f"LA0{s}", "age_band": "5-10"}, ("site", "age_band"))
        first = pb.generate(n_blocks, list_rng(seed, stratum, 1))
        more = pb.generate(2, list_rng(seed, stratum, 2), first_position=len(first) + 1, first_block=n_blocks + 1)
        entries = first + more
        assert block_end_balanced(entries, arms, ratios)
        assert [e.position for e in entries] == list(range(1, len(entries) + 1))
        assert all(e.block_size in sizes for e in entries)
        # cumulative counts are in exact ratio at every block end
        end = 0
        for b in sorted({e.block_number for e in entries}):
            end += next(e.block_size for e in entries if e.block_number == b)
            counts = [sum(e.arm == a for e in entries[:end]) for a in arms]
            assert all(c * total == end * r for c, r in zip(counts, ratios, strict=True))
        # reproducible from the seed
        assert pb.generate(n_blocks, list_rng(seed, stratum, 1)) == first


def test_block_sizes_must_be_multiples_of_ratio_sum() -> None:
    with pytest.raises(ValueError, match="multiples of the allocation-ratio sum 3"):
        PermutedBlocks(("a", "b"), (2, 1), (4,))


def _random_states(rng: np.random.Generator, b: int, f: int, k: int) -> np.ndarray:
    return rng.integers(0, 12, size=(b, f, k)).astype(float)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ratios=ratio_lists, how=st.sampled_from(["range", "variance", "marginal"]), seed=st.integers(0, 2**31 - 1),
       n_factors=st.integers(1, 4))
def test_p_one_is_deterministic(ratios, how, seed, n_factors) -> None:
    arms = tuple(f"arm{i}" for i in range(len(ratios)))
    m = Minimisation(arms, ratios, [f"f{i}" for i in range(n_factors)], [("x", "y")] * n_factors, p=1.0, imbalance=how)
    rng = np.random.default_rng(seed)
    states = _random_states(rng, 50, n_factors, len(arms))
    g, tied, probs = m.probabilities(states)
    unique = tied.sum(axis=1) == 1
    # with one preferred arm, p = 1 gives it probability 1 whatever the draw
    assert np.allclose(probs[unique], tied[unique].astype(float))
    for s in np.flatnonzero(unique)[:10]:
        arms_drawn = {m.allocate(states[s], 1, np.random.default_rng(x)).arm for x in range(8)}
        assert arms_drawn == {arms[int(np.argmax(tied[s]))]}


@settings(max_examples=15, deadline=None)
@given(k=st.integers(2, 4), how=st.sampled_from(["range", "variance", "marginal"]), seed=st.integers(0, 2**31 - 1))
def test_p_08_gives_preferred_arm_share_08(k, how, seed) -> None:
    arms = tuple(f"arm{i}" for i in range(k))
    m = Minimisation(arms, [1] * k, ["site", "age"], [("a", "b"), ("c", "d")], p=0.8, imbalance=how)
    rng = np.random.default_rng(seed)
    states = _random_states(rng, 40_000, 2, k)
    g, tied, probs = m.probabilities(states)
    unique = tied.sum(axis=1) == 1
    arm = draw_arm(probs[unique], rng.random(int(unique.sum())))
    chose_pref = arm == np.argmax(tied[unique], axis=1)
    n = int(unique.sum())
    se = np.sqrt(0.8 * 0.2 / n)
    assert abs(chose_pref.mean() - 0.8) < MC_Z * se


@given(ratios=ratio_lists, p=st.floats(0.5, 1.0))
def test_han_probabilities_preserve_ratio(ratios, p) -> None:
    r = np.asarray(ratios, float)
    rho = r / r.sum()
    if p < rho.min():
        return
    h = han_probabilities(ratios, p)
    assert np.allclose(h.sum(axis=1), 1.0)
    assert np.all(h >= -1e-12)
    # (1 - p_k) / (1 - rho_k) is the same for every arm; the lowest-ratio arm gets p exactly
    lowest = int(np.argmin(r))
    assert h[lowest, lowest] == pytest.approx(p)
    ratio = (1 - np.diag(h)) / (1 - rho)
    assert np.allclose(ratio, ratio[0])
    # preferred with frequency rho_k => unconditional allocation probability rho
    assert np.allclose(rho @ h, rho)


def test_han_two_to_one_values() -> None:
    # 2:1, p = 0.8: the lowest-ratio arm gets 0.8, the other 1 - 0.2 * (1/2) = 0.9 (Han et al. 2009)
    h = han_probabilities([2, 1], 0.8)
    assert h[1, 1] == pytest.approx(0.8)
    assert h[0, 0] == pytest.approx(0.9)


def test_complete_tie_allocates_with_target_ratio() -> None:
    m = Minimisation(("a", "b", "c"), (1, 1, 1), ["f", "g"], [("x",), ("y",)], p=0.9)
    g, tied, probs = m.probabilities(np.zeros((1, 2, 3)))
    assert tied.all()
    assert np.allclose(probs, 1 / 3)
    d = m.allocate(np.zeros((2, 3)), 1, allocation_rng(5, 1))
    assert d.preferred == ("a", "b", "c") and d.p_preferred is None


def test_replay_reproduces_allocation() -> None:
    m = Minimisation(("a", "b"), (1, 1), ["f"], [("x", "y")], p=0.8, initial_random=5)
    state = np.array([[3.0, 2.0]])
    d1 = m.allocate(state, 12, allocation_rng(99, 12))
    d2 = m.allocate(state, 12, allocation_rng(99, 12))
    assert d1 == d2
    assert d1.phase == "minimisation" and d1.imbalance and d1.draw is not None
    assert m.allocate(state, 3, allocation_rng(99, 3)).phase == "initial_random"


def test_marginal_balance_formula() -> None:
    from securebase.randomisation import imbalance_of

    x = np.array([[1.0, 2.0, 4.0]])
    # sum of |differences| = 1 + 3 + 2 = 6; (K-1) * sum = 2 * 7
    assert imbalance_of(x, "marginal")[0] == pytest.approx(6 / 14)
    assert imbalance_of(x, "range")[0] == pytest.approx(3.0)
    assert imbalance_of(x, "variance")[0] == pytest.approx(np.var([1, 2, 4], ddof=1))
