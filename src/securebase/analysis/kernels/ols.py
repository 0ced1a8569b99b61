"""Batched ordinary least squares / ANCOVA with classical standard errors and t tests.

``beta = (X'X)^-1 X'y`` solved by Cholesky on column-scaled normal equations (with one step of
iterative refinement), ``s^2 = RSS / (n - p)``, ``se = sqrt(s^2 diag((X'X)^-1))``, ``t = beta / se`` on
``n - p`` degrees of freedom: the same quantities as ``statsmodels.OLS(y, X).fit()`` and R's ``lm``.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from securebase.analysis.kernels.common import BatchFit, prepare, sym_solve_inv

CHUNK = 512  # datasets per pass: keeps the (chunk, n, p) arrays in cache


def _solve_chunk(X: np.ndarray, y: np.ndarray, mf: np.ndarray) -> tuple[np.ndarray, ...]:
    xtx = np.matmul(np.swapaxes(X, 1, 2), X)
    xty = np.einsum("bnp,bn->bp", X, y)
    n_obs = mf.sum(axis=1)
    # column scaling (to RMS 1) applied to the small p x p systems, not to X itself
    scale = np.sqrt(np.einsum("bii->bi", xtx) / np.maximum(n_obs, 1.0)[:, None])
    scale = np.where(scale > 0, scale, 1.0)
    beta_s, diag_s, ok = sym_solve_inv(xtx / (scale[:, :, None] * scale[:, None, :]), xty / scale)
    df = n_obs - X.shape[2]
    coef = beta_s / scale
    resid = (y - np.einsum("bnp,bp->bn", X, np.nan_to_num(coef))) * mf
    s2 = np.einsum("bn,bn->b", resid, resid) / np.where(df > 0, df, np.nan)
    se = np.sqrt(s2[:, None] * diag_s) / scale
    return coef, se, ok, n_obs


def fit_ols(X: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None) -> BatchFit:
    """Fit B linear models at once; rows with ``mask`` False or a non-finite value are left out."""
    X, y, mf = prepare(X, y, mask)
    B, _, p = X.shape
    parts = [_solve_chunk(X[s:s + CHUNK], y[s:s + CHUNK], mf[s:s + CHUNK]) for s in range(0, B, CHUNK)]
    coef, se, ok, n_obs = (np.concatenate([q[k] for q in parts]) for k in range(4))
    df = n_obs - p
    with np.errstate(invalid="ignore", divide="ignore"):
        tstat = coef / se
    pval = 2 * stats.t.sf(np.abs(tstat), df[:, None])
    warnings: list[str] = []
    if (~ok).any():
        warnings.append(f"{int((~ok).sum())} dataset(s) had a singular design (collinear or constant column); "
                        "their estimates are NaN")
    if (df <= 0).any():
        warnings.append(f"{int((df <= 0).sum())} dataset(s) had no residual degrees of freedom")
    return BatchFit("ols", coef, se, tstat, pval, n_obs, ok & (df > 0), df, 1, tuple(warnings))
