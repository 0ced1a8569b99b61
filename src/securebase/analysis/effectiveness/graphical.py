"""The graphical approach to sequentially rejective multiple tests (Bretz, Maurer, Brannath & Posch 2009).

A plan declares initial weights ``w`` (summing to at most 1) over its hypotheses and a transition matrix
``G`` (``g_jj = 0``, rows summing to at most 1): when ``H_j`` is rejected its weight passes to the others in
proportions ``g_j.``. Bretz et al. (2009, Stat Med 28:586-604) Algorithm 1 (rejection) and the adjusted
p-values of their Section 3.2:

- reject ``H_j`` when ``p_j <= w_j alpha``; then for the remaining ``l``: ``w_l <- w_l + w_j g_jl``, and for
  ``l != k``: ``g_lk <- (g_lk + g_lj g_jk) / (1 - g_lj g_jl)`` (0 when the denominator is 0);
- adjusted p-values: repeatedly take ``j = argmin p_i / w_i`` over the remaining hypotheses,
  ``p~_j = max(p_j / w_j, the previous p~)`` capped at 1, remove ``H_j`` and update as above.

Holm (equal weights, ``g_jk = 1/(m-1)``) and the fixed sequence (``w = (1, 0, ...)``, ``g_j,j+1 = 1``) are
special cases; tests/effectiveness/test_effectiveness_contrasts.py checks both, and Bretz et al.'s
hand-worked example.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from securebase.errors import DataError


def check_graph(weights: Sequence[float], transitions: Sequence[Sequence[float]], names: Sequence[str] | None = None,
                where: str = "multiplicity.graph") -> tuple[np.ndarray, np.ndarray]:
    w = np.asarray(weights, dtype=float)
    G = np.asarray(transitions, dtype=float)
    m = len(w)
    if G.shape != (m, m):
        raise DataError(f"{where}.transitions must be a {m} x {m} matrix (one row and column per hypothesis; "
                        f"got shape {G.shape})")
    if (w < 0).any() or w.sum() > 1 + 1e-12:
        raise DataError(f"{where}.weights must be non-negative and sum to at most 1 (got {w.tolist()})")
    if (G < 0).any() or (np.abs(np.diag(G)) > 0).any() or (G.sum(axis=1) > 1 + 1e-12).any():
        bad = int(np.argmax((G < 0).any(axis=1) | (np.abs(np.diag(G)) > 0) | (G.sum(axis=1) > 1 + 1e-12)))
        label = names[bad] if names is not None else str(bad)
        raise DataError(f"{where}.transitions row '{label}' must be non-negative, 0 on the diagonal and sum to "
                        f"at most 1 (got {G[bad].tolist()})")
    return w, G


def _update(w: np.ndarray, G: np.ndarray, active: list[int], j: int) -> tuple[np.ndarray, np.ndarray]:
    w2, G2 = w.copy(), G.copy()
    rest = [i for i in active if i != j]
    for lx in rest:
        w2[lx] = w[lx] + w[j] * G[j, lx]
    for lx in rest:
        for k in rest:
            if lx == k:
                G2[lx, k] = 0.0
                continue
            den = 1 - G[lx, j] * G[j, lx]
            G2[lx, k] = (G[lx, k] + G[lx, j] * G[j, k]) / den if den > 1e-15 else 0.0
    w2[j] = 0.0
    G2[j, :] = 0.0
    G2[:, j] = 0.0
    return w2, G2


def graphical_adjust(p: Sequence[float], weights: Sequence[float], transitions: Sequence[Sequence[float]]) -> np.ndarray:
    """Adjusted p-values of the graphical procedure (reject ``H_j`` at level alpha iff ``p~_j <= alpha``)."""
    parr = np.asarray(p, dtype=float)
    w, G = check_graph(weights, transitions)
    if len(parr) != len(w):
        raise DataError(f"{len(parr)} p-values for {len(w)} hypotheses in the graph")
    active = list(range(len(parr)))
    adj = np.ones(len(parr))
    prev = 0.0
    while active:
        ratio = [parr[i] / w[i] if w[i] > 0 else np.inf for i in active]
        j = active[int(np.argmin(ratio))]
        q = min(1.0, max(prev, float(np.min(ratio))))
        adj[j] = q
        prev = q
        w, G = _update(w, G, active, j)
        active.remove(j)
    return adj


def graphical_reject(p: Sequence[float], weights: Sequence[float], transitions: Sequence[Sequence[float]],
                     alpha: float = 0.05) -> tuple[np.ndarray, list[dict[str, object]]]:
    """Algorithm 1: which hypotheses are rejected, and the steps (weights after each rejection)."""
    parr = np.asarray(p, dtype=float)
    w, G = check_graph(weights, transitions)
    active = list(range(len(parr)))
    rejected = np.zeros(len(parr), dtype=bool)
    steps: list[dict[str, object]] = []
    while True:
        cand = [i for i in active if parr[i] <= w[i] * alpha]
        if not cand:
            break
        j = cand[0]
        rejected[j] = True
        w, G = _update(w, G, active, j)
        active.remove(j)
        steps.append({"rejected": j, "weights": w.round(12).tolist()})
    return rejected, steps


def holm_graph(m: int) -> tuple[list[float], list[list[float]]]:
    return [1 / m] * m, [[0.0 if i == j else 1 / (m - 1) for j in range(m)] for i in range(m)]


def fixed_sequence_graph(m: int) -> tuple[list[float], list[list[float]]]:
    return [1.0] + [0.0] * (m - 1), [[1.0 if j == i + 1 else 0.0 for j in range(m)] for i in range(m)]
