"""Pocock–Simon minimisation with the biased-coin rule of Han, Enas & McEntegart for unequal ratios.

Pocock SJ, Simon R. Sequential treatment assignment with balancing for prognostic factors in the
controlled clinical trial. Biometrics 1975;31:103–115. For a new participant with level ``l_f`` of
each factor ``f``, let ``n_{f,k}`` be the number of earlier participants with that level allocated to
arm ``k``. For each candidate arm ``c``, the hypothetical counts are ``n_{f,k} + [k = c]``; with
allocation ratios ``r_k`` they are ratio-adjusted, ``x_{f,k} = (n_{f,k} + [k = c]) / r_k``, and
the total imbalance is ``G_c = sum_f w_f · d(x_{f,·})`` where ``d`` is

- range: ``max_k x_k − min_k x_k`` (Pocock & Simon 1975);
- variance: the sample variance of ``x_k`` (Pocock & Simon 1975);
- marginal: ``sum_{i<j} |x_i − x_j| / ((K − 1) · sum_k x_k)`` (the "marginal balance" of
  Signorini et al., Stat Med 1993;12:2343, used by Han et al. 2009).

The arms with the smallest ``G`` are preferred; a tie is broken at random in proportion to the
allocation ratios. The preferred arm ``k`` is then given with probability ``p_k`` and every other arm
``j`` with probability ``(1 − p_k) · r_j / sum_{i≠k} r_i``. With unequal ratios a fixed ``p`` for
every preferred arm makes the achieved ratio drift away from the target; Han B, Enas NH, McEntegart
D. Randomization by minimization for unbalanced treatment allocation. Stat Med 2009;28:3329–3346
instead give the base probability ``p`` to the arm ``L`` with the smallest ratio and

    p_k = 1 − (1 − p) · (sum_{j≠k} r_j) / (sum_{j≠L} r_j),

so that ``(1 − p_k) / (1 − ρ_k)`` is the same for every arm (``ρ_k = r_k / sum r``). Then, when arm
``k`` is preferred a share ``ρ_k`` of the time, the unconditional probability of every arm is its
target ``ρ_k``; in particular a complete tie allocates exactly with the target ratio. With equal
ratios every ``p_k = p``. An optional initial run of purely random allocations (with the target
ratio) precedes minimisation.

Everything is batched: :meth:`Minimisation.probabilities` takes counts of shape (..., F, K), so the
same code serves one live allocation and thousands of simulated trials at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np

from securebase.randomisation.core import Decision, draw_arm, target_proportions

Imbalance = Literal["range", "variance", "marginal"]
TIE_TOLERANCE = 1e-9


def imbalance_of(x: np.ndarray, how: Imbalance) -> np.ndarray:
    """Imbalance ``d`` over the last axis (arms) of ratio-adjusted counts ``x``."""
    if how == "range":
        return x.max(axis=-1) - x.min(axis=-1)
    if how == "variance":
        return x.var(axis=-1, ddof=1)
    if how == "marginal":
        k = x.shape[-1]
        diffs = np.abs(x[..., :, None] - x[..., None, :]).sum(axis=(-1, -2)) / 2.0
        total = x.sum(axis=-1)
        return np.divide(diffs, (k - 1) * total, out=np.zeros_like(diffs), where=total > 0)
    raise ValueError(f"imbalance must be range, variance or marginal (got {how!r})")


def han_probabilities(ratios: Sequence[int], p: float) -> np.ndarray:
    """Matrix ``H[k, j]``: probability of arm ``j`` when arm ``k`` is preferred (Han et al. 2009)."""
    r = np.asarray(ratios, dtype=float)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be between 0 and 1 (got {p})")
    lowest = int(np.argmin(r))
    not_lowest = r.sum() - r[lowest]
    k = len(r)
    h = np.empty((k, k))
    for pref in range(k):
        p_k = 1.0 - (1.0 - p) * (r.sum() - r[pref]) / not_lowest
        others = r.sum() - r[pref]
        h[pref] = (1.0 - p_k) * r / others
        h[pref, pref] = p_k
    return h


class Minimisation:
    """Pocock–Simon minimisation. Options here; state (the counts) is passed to each call.

    ``factors`` are names with their levels and weights; ``p`` is the base probability of the
    preferred arm (for the arm with the smallest ratio; see the module docstring).
    """

    method = "minimisation"

    def __init__(self, arms: Sequence[str], ratios: Sequence[int], factors: Sequence[str],
                 levels: Sequence[Sequence[str]], weights: Sequence[float] | None = None, *, p: float = 0.8,
                 imbalance: Imbalance = "range", initial_random: int = 0) -> None:
        if len(arms) != len(ratios):
            raise ValueError(f"{len(arms)} arms but {len(ratios)} ratios")
        if len(factors) != len(levels):
            raise ValueError(f"{len(factors)} factors but {len(levels)} level lists")
        if not float(min(ratios)) / float(sum(ratios)) <= p <= 1.0:
            raise ValueError(f"p must be between the smallest target share {min(ratios) / sum(ratios):.3f} and 1 "
                             f"(got {p}); p at that share is simple randomisation, 1 is deterministic minimisation")
        self.arms = tuple(arms)
        self.ratios = np.asarray(ratios, dtype=float)
        self.rho = target_proportions(ratios)
        self.factors = tuple(factors)
        self.levels = tuple(tuple(lv) for lv in levels)
        self.weights = np.ones(len(factors)) if weights is None else np.asarray(weights, dtype=float)
        self.p = float(p)
        self.imbalance = imbalance
        self.initial_random = int(initial_random)
        self.h = han_probabilities(ratios, p)
        imbalance_of(np.ones((1, len(arms))), imbalance)  # validates the name
        self.max_levels = max((len(lv) for lv in self.levels), default=1)

    # -- batched core --------------------------------------------------------------------------
    def scores(self, counts_at_levels: np.ndarray) -> np.ndarray:
        """Total imbalance ``G`` (..., K) for each candidate arm from counts (..., F, K)."""
        c = np.asarray(counts_at_levels, dtype=float)
        k = len(self.arms)
        eye = np.eye(k)
        hyp = c[..., None, :, :] + eye[:, None, :]          # (..., K_cand, F, K)
        d = imbalance_of(hyp / self.ratios, self.imbalance)  # (..., K_cand, F)
        return (d * self.weights).sum(axis=-1)

    def probabilities(self, counts_at_levels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(G, tied, probabilities): imbalance per candidate, mask of arms tied at the minimum, and
        the probability of each arm (ties broken in proportion to the ratios, then Han's coin)."""
        g = self.scores(counts_at_levels)
        tied = g <= g.min(axis=-1, keepdims=True) + TIE_TOLERANCE
        pref_w = tied * self.ratios
        pref_w = pref_w / pref_w.sum(axis=-1, keepdims=True)  # P(arm k is the preferred one)
        probs = pref_w @ self.h
        return g, tied, probs

    # -- one allocation ------------------------------------------------------------------------
    def counts_at(self, counts: Mapping[str, Mapping[str, Sequence[int]]], values: Mapping[str, str]) -> np.ndarray:
        """(F, K) counts at the participant's level of each factor from ``{factor: {level: [n_k]}}``."""
        out = np.zeros((len(self.factors), len(self.arms)))
        for i, f in enumerate(self.factors):
            level_counts = counts.get(f, {}).get(values[f])
            if level_counts is not None:
                out[i] = level_counts
        return out

    def allocate(self, counts_at_levels: np.ndarray, sequence_number: int, rng: np.random.Generator) -> Decision:
        """Allocate allocation number ``sequence_number`` (1-based) given (F, K) counts at its levels."""
        u = float(rng.random())
        if sequence_number <= self.initial_random:
            probs = self.rho
            idx = int(draw_arm(probs, u))
            return Decision(self.arms[idx], self.method, "initial_random",
                            dict(zip(self.arms, map(float, probs), strict=True)), u)
        g, tied, probs = self.probabilities(counts_at_levels)
        idx = int(draw_arm(probs, u))
        preferred = tuple(a for a, t in zip(self.arms, tied, strict=True) if t)
        p_pref = float(self.h[self.arms.index(preferred[0]), self.arms.index(preferred[0])]) if len(preferred) == 1 else None
        return Decision(self.arms[idx], self.method, "minimisation",
                        dict(zip(self.arms, map(float, probs), strict=True)), u,
                        imbalance=dict(zip(self.arms, map(float, g), strict=True)), preferred=preferred,
                        p_preferred=p_pref, extra={"imbalance_measure": self.imbalance, "p": self.p})


class SimpleRandomisation:
    """Each participant allocated independently with the target ratio (no balancing)."""

    method = "simple"

    def __init__(self, arms: Sequence[str], ratios: Sequence[int]) -> None:
        self.arms = tuple(arms)
        self.rho = target_proportions(ratios)

    def allocate(self, rng: np.random.Generator) -> Decision:
        u = float(rng.random())
        idx = int(draw_arm(self.rho, u))
        return Decision(self.arms[idx], self.method, "simple", dict(zip(self.arms, map(float, self.rho), strict=True)), u)
