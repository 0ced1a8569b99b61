"""QALYs by area under the utility curve, with discounting beyond the first year.

For assessments at times t_0 < t_1 < ... (days from randomisation, the actual assessment dates) with
utilities u_j, utility is interpolated linearly between assessments (Manca, Hawkins & Sculpher 2005,
Health Econ 14:487; Ben et al. 2023):

    QALY = integral_{t_0}^{t_J} u(t) d(t) dt / 365.25,

with the discount factor ``d(t) = (1 + r)^-floor((t - T0) / 365.25)`` for ``t > T0 = undiscounted_days``
and 1 before (NICE PMG36: 3.5% a year beyond the first year; annual steps). The integral is exact: each
interval is split at the year boundaries and integrated by the trapezoid rule. Baseline utility u_0 is
returned too, to be used as a covariate in the QALY equation (Manca et al. 2005).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from securebase.errors import DataError

DAYS_PER_YEAR = 365.25


def discount_factor_step(t_days: np.ndarray, rate: float, undiscounted_days: float = DAYS_PER_YEAR) -> np.ndarray:
    """``(1 + rate)^-k`` where k counts the whole years after ``undiscounted_days`` (0 before it)."""
    k = np.floor(np.maximum(np.asarray(t_days, dtype=float) - undiscounted_days, 0) / DAYS_PER_YEAR)
    k = np.where(np.asarray(t_days) > undiscounted_days, k + 1, 0)
    return (1 + rate) ** -k


def auc_qaly(utilities: np.ndarray, days: np.ndarray, rate: float = 0.035,
             undiscounted_days: float = DAYS_PER_YEAR) -> np.ndarray:
    """QALYs per row from utilities (n x J) at times ``days`` (n x J or J), NaN if any value is missing."""
    u = np.atleast_2d(np.asarray(utilities, dtype=float))
    t = np.broadcast_to(np.asarray(days, dtype=float), u.shape)
    if np.any(np.diff(t, axis=1) < 0):
        raise DataError("assessment days must increase from visit to visit within each participant")
    total = np.zeros(u.shape[0])
    for j in range(u.shape[1] - 1):
        a, b, ua, ub = t[:, j], t[:, j + 1], u[:, j], u[:, j + 1]
        # break points: year boundaries of the discounting steps that fall inside (a, b)
        edges = [a]
        lo = np.nanmin(a) if np.isfinite(a).any() else 0.0
        hi = np.nanmax(b) if np.isfinite(b).any() else 0.0
        bnd = undiscounted_days
        while bnd < hi:
            if bnd > lo:
                edges.append(np.clip(np.full_like(a, bnd), a, b))
            bnd += DAYS_PER_YEAR
        edges.append(b)
        width = np.where(b > a, b - a, 1.0)
        for s, e in zip(edges[:-1], edges[1:], strict=False):
            us = ua + (ub - ua) * (s - a) / width
            ue = ua + (ub - ua) * (e - a) / width
            mid = (s + e) / 2
            total += (us + ue) / 2 * (e - s) / DAYS_PER_YEAR * discount_factor_step(mid, rate, undiscounted_days)
    total[~np.all(np.isfinite(u), axis=1) | ~np.all(np.isfinite(t), axis=1)] = np.nan
    return total


def check_utilities(frame: pd.DataFrame, columns: Sequence[str], minimum: float, id_col: str = "participant_id",
                    measure: str = "utility") -> None:
    """Raise a :class:`DataError` naming participant, column and value for a utility outside [minimum, 1]."""
    for c in columns:
        if c not in frame.columns:
            raise DataError(f"utility column '{c}' is missing from the participant data; "
                            "expected one column per visit (utility_0, utility_6, ...)")
        v = pd.to_numeric(frame[c], errors="coerce").to_numpy()
        bad = np.flatnonzero(np.isfinite(v) & ((v > 1) | (v < minimum)))
        if bad.size:
            i = bad[0]
            who = frame[id_col].iloc[i] if id_col in frame.columns else f"row {i + 1}"
            raise DataError(f"{measure} '{c}' must be between {minimum} and 1 (got {float(v[i])!r}) for participant "
                            f"{who}; {bad.size} value(s) out of range: correct them before the analysis")


def qalys_from_participants(frame: pd.DataFrame, column: str, months: Sequence[int], rate: float,
                            undiscounted_days: float = DAYS_PER_YEAR, minimum: float = -0.594) -> pd.Series:
    """QALYs from wide ``<column>_<m>`` utilities and ``days_<m>`` assessment days (schema.py layout).

    A missing ``days_<m>`` with an observed utility is replaced by the scheduled day (m months).
    """
    ucols = [f"{column}_{m}" for m in months]
    check_utilities(frame, ucols, minimum)
    u = frame[ucols].to_numpy(dtype=float)
    days = np.column_stack([
        frame[f"days_{m}"].to_numpy(dtype=float) if f"days_{m}" in frame.columns
        else np.full(len(frame), m * DAYS_PER_YEAR / 12) for m in months])
    sched = np.array([m * DAYS_PER_YEAR / 12 for m in months])
    days = np.where(np.isfinite(days), days, sched)
    return pd.Series(auc_qaly(u, days, rate, undiscounted_days), index=frame.index, name="qaly")
