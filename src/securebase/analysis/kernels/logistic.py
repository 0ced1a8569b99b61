"""Batched logistic regression by iteratively reweighted least squares (Newton-Raphson).

Each iteration solves ``(X' W X) step = X'(y - mu)`` with ``W = diag(mu (1 - mu))`` for every dataset
at once (McCullagh & Nelder, Generalized Linear Models, 2nd ed. 1989, section 4.4), with step-halving;
standard errors from the inverse Fisher information at convergence and two-sided Wald z tests, as
``statsmodels.Logit(y, X).fit()`` and R's ``glm(family = binomial)``. A coefficient that runs off to
infinity (separation) gets a NaN p-value (the others are kept, as R reports them); a dataset that does not
converge gets NaN p-values throughout.
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats

from securebase.analysis.kernels.common import (
    BatchFit,
    column_scale,
    infinite_coefficients,
    newton,
    prepare,
    rows,
    sym_solve_inv,
)

CHUNK = 256  # datasets fitted together: keeps the (chunk, n, p) arrays in cache


def fit_logistic(X: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None, *, max_iter: int = 60,
                 tol: float = 1e-10) -> BatchFit:
    """Fit B logistic regressions; ``y`` is 0/1 (rows with ``mask`` False or NaN left out)."""
    X, y, mf = prepare(X, y, mask)
    B, _, p = X.shape
    parts = [_fit_chunk(X[s:s + CHUNK], y[s:s + CHUNK], mf[s:s + CHUNK], max_iter, tol) for s in range(0, B, CHUNK)]
    coef, se, z, pval, converged, inf = (np.concatenate([q[k] for q in parts]) for k in range(6))
    it = max(q[6] for q in parts)
    warnings: list[str] = []
    if (~converged).any():
        warnings.append(f"{int((~converged).sum())} dataset(s) did not converge; their p-values are NaN and "
                        "count as not significant in power")
    if inf.any():
        warnings.append(f"{int(inf.any(axis=1).sum())} dataset(s) have a coefficient that may be infinite "
                        "(separation); its p-value is NaN")
    return BatchFit("logistic", coef, se, z, pval, mf.sum(axis=1), converged, None, it, tuple(warnings))


def _fit_chunk(X: np.ndarray, y: np.ndarray, mf: np.ndarray, max_iter: int, tol: float) -> tuple:
    scale = column_scale(X, mf)
    Xs = X / scale[:, None, :]
    B, _, p = Xs.shape

    def derivs(idx: np.ndarray, beta: np.ndarray, need_info: bool):
        Xa, ya, ma = rows(Xs, idx), rows(y, idx), rows(mf, idx)
        eta = np.einsum("bnp,bp->bn", Xa, beta)
        ll = np.sum(ma * (ya * eta - np.logaddexp(0.0, eta)), axis=1)
        if not need_info:
            return ll, None, None
        mu = special.expit(eta)
        w = mu * (1 - mu) * ma
        info = np.matmul(np.swapaxes(Xa * w[..., None], 1, 2), Xa)
        score = np.einsum("bnp,bn->bp", Xa, (ya - mu) * ma)
        return ll, score, info

    # start from the intercept-only fit when column 0 is an intercept (saves an iteration)
    beta0 = np.zeros((B, p))
    n_used = np.maximum(mf.sum(axis=1), 1.0)
    icpt = np.all((X[..., 0] == 1) | (mf == 0), axis=1)
    ybar = np.clip((y * mf).sum(axis=1) / n_used, 1e-3, 1 - 1e-3)
    beta0[:, 0] = np.where(icpt, special.logit(ybar) * scale[:, 0], 0.0)
    beta, info, stopped, ok, it = newton(derivs, B, p, max_iter=max_iter, tol=tol, beta0=beta0)
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
    return coef, se, z, pval, converged, inf, it
