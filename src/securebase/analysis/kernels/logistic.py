"""Batched logistic regression by iteratively reweighted least squares (Newton-Raphson).

Each iteration solves ``(X' W X) step = X'(y - mu)`` with ``W = diag(mu (1 - mu))`` for every dataset
at once (McCullagh & Nelder, Generalized Linear Models, 2nd ed. 1989, section 4.4); standard errors from
the inverse Fisher information at convergence and two-sided Wald z tests, as
``statsmodels.Logit(y, X).fit()`` and R's ``glm(family = binomial)``. Datasets that do not converge
(for example complete separation: |coefficient| > 30 on the RMS-scaled design) are flagged and get NaN p-values.
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats

from securebase.analysis.kernels.common import BatchFit, column_scale, prepare, sym_solve_inv

# a coefficient this large on the RMS-scaled design means separation (an odds or hazard ratio of e^30
# per RMS unit of a covariate); such fits are reported as not converged
DIVERGED = 30.0


def fit_logistic(X: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None, *, max_iter: int = 50,
                 tol: float = 1e-10) -> BatchFit:
    """Fit B logistic regressions; ``y`` is 0/1. Converged when the largest step is below ``tol``."""
    X, y, mf = prepare(X, y, mask)
    scale = column_scale(X, mf)
    Xs = X / scale[:, None, :]
    B, _, p = Xs.shape
    beta = np.zeros((B, p))
    active = np.ones(B, dtype=bool)
    ok = np.ones(B, dtype=bool)
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - iteration count kept on the result
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        Xa, ya, ma = Xs[idx], y[idx], mf[idx]
        mu = special.expit(np.einsum("bnp,bp->bn", Xa, beta[idx]))
        w = mu * (1 - mu) * ma
        info = np.matmul(np.swapaxes(Xa * w[..., None], 1, 2), Xa)
        score = np.einsum("bnp,bn->bp", Xa, (ya - mu) * ma)
        step, _, good = sym_solve_inv(info, score)
        step = np.where(good[:, None], step, 0.0)
        beta[idx] += step
        ok[idx] &= good
        done = (np.abs(step).max(axis=1) < tol) | ~good | (np.abs(beta[idx]).max(axis=1) > DIVERGED)
        active[idx[done]] = False
    converged = ok & ~active & (np.abs(beta).max(axis=1) <= DIVERGED)
    mu = special.expit(np.einsum("bnp,bp->bn", Xs, beta))
    w = mu * (1 - mu) * mf
    info = np.matmul(np.swapaxes(Xs * w[..., None], 1, 2), Xs)
    _, diag, good = sym_solve_inv(info, np.zeros((B, p)))
    converged &= good
    coef = beta / scale
    se = np.sqrt(diag) / scale
    with np.errstate(invalid="ignore", divide="ignore"):
        z = coef / se
    pval = 2 * stats.norm.sf(np.abs(z))
    pval[~converged] = np.nan
    warnings: list[str] = []
    if (~converged).any():
        warnings.append(f"{int((~converged).sum())} dataset(s) did not converge (separation or too few events); "
                        "their p-values are NaN and count as not significant in power")
    return BatchFit("logistic", coef, se, z, pval, mf.sum(axis=1), converged, None, it, tuple(warnings))
