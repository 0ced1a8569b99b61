"""Multiplicity adjustment across a family of hypotheses.

Holm (1979) step-down: with ordered p-values ``p(1) <= ... <= p(m)``, adjusted
``p~(i) = max_{j<=i} min(1, (m - j + 1) p(j))``. Hochberg (1988) step-up:
``p~(i) = min_{j>=i} min(1, (m - j + 1) p(j))``. Both equal R ``p.adjust``. Fixed-sequence
gatekeeping (Maurer, Hothorn & Lehmacher 1995): hypotheses are tested in the pre-specified order at
the full alpha, ``p~(k) = max_{j<=k} p_j`` in plan order, and testing stops at the first failure.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from securebase.errors import DataError

METHODS = ("holm", "hochberg", "fixed_sequence", "bonferroni", "none")


def adjust(p: Sequence[float], method: str) -> np.ndarray:
    """Adjusted p-values in the given order (for fixed_sequence the order is the testing order)."""
    arr = np.asarray(p, dtype=float)
    if arr.ndim != 1 or np.isnan(arr).any() or (arr < 0).any() or (arr > 1).any():
        raise DataError(f"p-values must be numbers between 0 and 1 (got {list(p)!r})")
    m = len(arr)
    if m == 0 or method == "none":
        return arr.copy()
    if method == "bonferroni":
        return np.minimum(1.0, m * arr)
    if method == "fixed_sequence":
        return np.maximum.accumulate(arr)
    if method == "holm":
        o = np.argsort(arr, kind="stable")
        adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * arr[o]))
    elif method == "hochberg":
        o = np.argsort(arr, kind="stable")[::-1]
        adj = np.minimum(1.0, np.minimum.accumulate((np.arange(m) + 1) * arr[o]))
    else:
        raise DataError(f"multiplicity method must be one of {METHODS} (got {method!r})")
    out = np.empty(m)
    out[o] = adj
    return out


def rejected(p: Sequence[float], method: str, alpha: float = 0.05) -> np.ndarray:
    """Which hypotheses are rejected at family-wise level alpha (fixed sequence stops at first failure)."""
    return adjust(p, method) <= alpha
