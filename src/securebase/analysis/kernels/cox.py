"""Batched Cox proportional-hazards regression by Newton-Raphson, Breslow's method for ties.

For each dataset sorted by time (descending), with risk score ``r_j = exp(x_j' beta)`` and risk set
``R(t) = {j: t_j >= t}`` (tied times share one risk set), the Breslow log partial likelihood is
``l = sum_events [x_i' beta - log S0(t_i)]``, score ``U = sum_events [x_i - S1(t_i)/S0(t_i)]`` and
information ``I = sum_events [S2/S0 - (S1/S0)(S1/S0)']`` (Breslow 1974, Biometrics 30:89; Cox 1972).
``sum_events S2(t_i)/S0(t_i)`` is computed as ``sum_j r_j x_j x_j' A_j`` with ``A_j`` the Breslow
cumulative hazard increment sum over event times ``<= t_j``, so no (n, p, p) array is stored.
Agrees with ``statsmodels PHReg(ties="breslow")`` and R ``coxph(ties = "breslow")``; with no tied event
times Breslow and Efron coincide, so it then also agrees with lifelines. Competing events: code them
as censored (``event`` 0) for the cause-specific hazard ratio.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from securebase.analysis.kernels.common import (
    BatchFit,
    column_scale,
    infinite_coefficients,
    newton,
    prepare,
    rows,
    sym_solve_inv,
)
from securebase.errors import DataError


def _tie_bounds(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last position of each row's tie group, for times sorted in descending order."""
    B, n = t.shape
    pos = np.broadcast_to(np.arange(n), (B, n))
    new = np.ones((B, n), dtype=bool)
    new[:, 1:] = t[:, 1:] != t[:, :-1]
    start = np.maximum.accumulate(np.where(new, pos, 0), axis=1)
    last = np.ones((B, n), dtype=bool)
    last[:, :-1] = t[:, :-1] != t[:, 1:]
    end = np.minimum.accumulate(np.where(last, pos, n - 1)[:, ::-1], axis=1)[:, ::-1]
    return start, end


def _derivatives(Xs: np.ndarray, d: np.ndarray, mf: np.ndarray, beta: np.ndarray, start: np.ndarray | None,
                 end: np.ndarray | None, need_info: bool = True) -> tuple[Any, Any, Any]:
    eta = np.einsum("bnp,bp->bn", Xs, beta)
    eta -= (eta * mf).max(axis=1, keepdims=True)       # stabilise exp; l, U, I are invariant to a shift
    r = np.exp(eta) * mf
    s0 = np.cumsum(r, axis=1)
    if end is not None:
        s0 = np.take_along_axis(s0, end, axis=1)
    safe = np.where(s0 > 0, s0, 1.0)
    loglik = np.sum(d * (eta - np.log(safe)), axis=1)
    if not need_info:
        return loglik, None, None
    s1 = np.cumsum(r[..., None] * Xs, axis=1)
    if end is not None:
        s1 = np.take_along_axis(s1, end[..., None], axis=1)
    xbar = s1 / safe[..., None]
    score = np.einsum("bn,bnp->bp", d, Xs - xbar)
    a = d / safe
    cum_a = np.cumsum(a[:, ::-1], axis=1)[:, ::-1]
    A = cum_a if start is None else np.take_along_axis(cum_a, start, axis=1)
    info = (np.matmul(np.swapaxes(Xs * (r * A)[..., None], 1, 2), Xs)
            - np.matmul(np.swapaxes(xbar * d[..., None], 1, 2), xbar))
    return loglik, score, info




def fit_cox(X: np.ndarray, time: np.ndarray, event: np.ndarray, mask: np.ndarray | None = None, *,
            max_iter: int = 60, tol: float = 1e-10) -> BatchFit:
    """Fit B Cox models (no intercept column in ``X``); ``event`` 1 = event, 0 = censored."""
    X, t, mf = prepare(X, time, mask)
    ev = np.asarray(event, dtype=float).reshape(t.shape)
    if np.any((ev != 0) & (ev != 1) & np.isfinite(ev)):
        raise DataError("event must be 0 (censored or competing event) or 1 (event of interest); "
                        "recode competing events as 0 for a cause-specific model")
    mf = mf * np.isfinite(ev)
    # descending time; within tied times censored rows first, so that without tied *events* every event row
    # closes its own risk set and the tie-group gathers can be skipped (the common case for continuous times)
    ev0 = np.nan_to_num(ev) * mf
    order = np.lexsort((ev0, -np.where(mf > 0, t, -np.inf)), axis=1)
    t = np.take_along_axis(t, order, axis=1)
    mf = np.take_along_axis(mf, order, axis=1)
    d = np.take_along_axis(np.nan_to_num(ev), order, axis=1) * mf
    Xs = np.take_along_axis(X, order[..., None], axis=1)
    scale = column_scale(Xs, mf)
    Xs = Xs / scale[:, None, :]
    start: np.ndarray | None
    end: np.ndarray | None
    start, end = _tie_bounds(t)
    tied_events = np.any((d[:, 1:] > 0) & (d[:, :-1] > 0) & (t[:, 1:] == t[:, :-1]))
    if not tied_events:
        start = end = None
    B, _, p = Xs.shape

    def derivs(idx: np.ndarray, beta: np.ndarray, need_info: bool):
        st = None if start is None else rows(start, idx)
        en = None if end is None else rows(end, idx)
        return _derivatives(rows(Xs, idx), rows(d, idx), rows(mf, idx), beta, st, en, need_info)

    beta, info, stopped, ok, it = newton(derivs, B, p, max_iter=max_iter, tol=tol)
    _, diag, good = sym_solve_inv(info, np.zeros((B, p)))
    converged = ok & good & stopped
    inf = infinite_coefficients(beta)
    coef = beta / scale
    se = np.sqrt(diag) / scale
    with np.errstate(invalid="ignore", divide="ignore"):
        z = coef / se
    pval = 2 * stats.norm.sf(np.abs(z))
    pval[~converged] = np.nan
    pval[inf] = np.nan
    warnings: list[str] = []
    if (~converged).any():
        warnings.append(f"{int((~converged).sum())} dataset(s) did not converge; their p-values are NaN and "
                        "count as not significant")
    if inf.any():
        warnings.append(f"{int(inf.any(axis=1).sum())} dataset(s) have a coefficient that may be infinite (a "
                        "covariate level with no events: monotone likelihood); its p-value is NaN")
    return BatchFit("cox-breslow", coef, se, z, pval, mf.sum(axis=1), converged, None, it, tuple(warnings))
