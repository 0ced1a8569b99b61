"""The result object shared by the batched kernels, and input checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from securebase.errors import DataError


@dataclass(frozen=True)
class BatchFit:
    """Fits of B datasets: arrays of shape (B, p) unless stated; ``df`` is None for z (Wald) tests."""

    method: str
    coef: np.ndarray
    se: np.ndarray
    stat: np.ndarray
    pvalue: np.ndarray
    n_obs: np.ndarray                 # (B,) rows used
    converged: np.ndarray             # (B,) bool
    df: np.ndarray | None = None      # (B,) residual degrees of freedom for t tests
    iterations: int = 1
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def conf_int(self, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Wald interval ``coef -/+ q * se`` with q from t(df) or the standard normal."""
        q = stats.norm.isf((1 - level) / 2) if self.df is None else stats.t.isf((1 - level) / 2, self.df)[:, None]
        return self.coef - q * self.se, self.coef + q * self.se

    def summary(self) -> str:
        b, p = self.coef.shape
        return (f"{self.method}: {b} datasets x {p} coefficients; {int(self.converged.sum())} converged; "
                f"rows used {int(self.n_obs.min())}-{int(self.n_obs.max())}"
                + "".join(f"\n  warning: {w}" for w in self.warnings))

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "coef": self.coef.tolist(), "se": self.se.tolist(),
                "stat": self.stat.tolist(), "pvalue": self.pvalue.tolist(), "n_obs": self.n_obs.tolist(),
                "converged": self.converged.tolist(),
                "df": None if self.df is None else self.df.tolist(), "warnings": list(self.warnings)}


def prepare(X: np.ndarray, y: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check shapes; return float X (B, n, p), y (B, n) with masked rows zeroed, and mask as float."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim == 2:
        X = X[None]
    if y.ndim == 1:
        y = y[None]
    if X.ndim != 3 or y.shape != X.shape[:2]:
        raise DataError(f"X must have shape (B, n, p) and y shape (B, n) (got X {X.shape}, y {y.shape}); "
                        "stack the datasets along the first axis")
    m = np.ones(y.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if m.shape != y.shape:
        raise DataError(f"mask must have the shape of y {y.shape} (got {m.shape})")
    x_finite = np.isfinite(X)
    x_all_finite = bool(x_finite.all())
    if not x_all_finite:
        m = m & x_finite.all(axis=2)
    m = m & np.isfinite(y)
    if not m.all():  # zero the unused rows (copies only when something is left out)
        X = X * m[..., None] if x_all_finite else np.where(m[..., None], X, 0.0)
        y = np.where(m, y, 0.0)
    return X, y, m.astype(float)


def column_scale(X: np.ndarray, mf: np.ndarray) -> np.ndarray:
    """Root-mean-square of each column over used rows (B, p); scaling improves the normal equations."""
    n = np.maximum(mf.sum(axis=1), 1.0)
    s = np.sqrt(np.einsum("bnp,bnp->bp", X, X) / n[:, None])
    return np.where(s > 0, s, 1.0)


def sym_solve_inv(A: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Solve A x = b for a stack of symmetric positive-definite A by Cholesky; return x, diag(A^-1), ok."""
    p = A.shape[-1]
    ok = np.ones(A.shape[0], dtype=bool)
    try:
        L = np.linalg.cholesky(A)
    except np.linalg.LinAlgError:
        # singular systems in some datasets: find them, fit the rest
        eig_min = np.linalg.eigvalsh(A)[:, 0]
        ok = eig_min > 1e-12 * np.abs(A).max(axis=(1, 2))
        A = np.where(ok[:, None, None], A, np.eye(p))
        L = np.linalg.cholesky(A)
    Linv = np.linalg.solve(L, np.broadcast_to(np.eye(p), A.shape))
    inv = np.matmul(np.swapaxes(Linv, 1, 2), Linv)
    x = np.matmul(inv, b[..., None])[..., 0]
    # one step of iterative refinement brings the solve to working precision
    r = b - np.matmul(A, x[..., None])[..., 0]
    x = x + np.matmul(inv, r[..., None])[..., 0]
    diag = np.einsum("bii->bi", inv)
    x[~ok] = np.nan
    diag[~ok] = np.nan
    return x, diag, ok


# A coefficient beyond DIVERGED on the RMS-scaled design (an odds or hazard ratio of e^15 per RMS unit of a
# covariate) is taken as infinite: separation, or a covariate level with no events (monotone likelihood).
DIVERGED = 15.0
HARD_STOP = 40.0


def newton(derivs: Callable[..., tuple[Any, Any, Any]], B: int, p: int, *, max_iter: int, tol: float,
           beta0: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Batched Newton-Raphson with step-halving for a concave log-likelihood.

    ``derivs(idx, beta, need_info)`` returns the log-likelihood (k,), score (k, p) and information
    (k, p, p) of datasets ``idx`` at ``beta`` (k, p) (score and information None when not needed).
    A dataset stops when its largest step among the finite coefficients is below ``tol`` or the
    log-likelihood gains less than 1e-12 relative (the iteration then agrees with the optimum to about the
    square of the last step), or when a coefficient passes ``HARD_STOP``. Returns beta, the information at
    beta, stopped (B,) bool, ok (B,) (information positive definite), iterations.
    """
    beta = np.zeros((B, p)) if beta0 is None else np.array(beta0, dtype=float)
    ok = np.ones(B, dtype=bool)
    active = np.ones(B, dtype=bool)
    ll, score, info = derivs(np.arange(B), beta, True)
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - the count is returned
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        full = idx.size == B
        ll_a, score_a, info_a = (ll.copy(), score, info) if full else (ll[idx], score[idx], info[idx])
        step, _, good = sym_solve_inv(info_a, score_a)
        step = np.where(good[:, None], step, 0.0)
        new = beta[idx] + step
        ll_new, score_new, info_new = derivs(idx, new, True)
        worse = ll_new < ll_a - 1e-12 * (1 + np.abs(ll_a))
        for _ in range(8):  # halve steps that lower the log-likelihood
            if not worse.any():
                break
            w = np.flatnonzero(worse)
            step[w] /= 2
            new[w] = beta[idx[w]] + step[w]
            ll_w, score_w, info_w = derivs(idx[w], new[w], True)
            ll_new[w], score_new[w], info_new[w] = ll_w, score_w, info_w
            worse[w] = ll_w < ll_a[w] - 1e-12 * (1 + np.abs(ll_a[w]))
        beta[idx] = new
        ll[idx], score[idx], info[idx] = ll_new, score_new, info_new
        ok[idx] &= good
        finite = np.abs(new) <= DIVERGED
        small = np.where(finite, np.abs(step), 0.0).max(axis=1) < tol
        flat = (ll_new - ll_a) < 1e-12 * (1 + np.abs(ll_a))
        done = small | flat | ~good | (np.abs(new).max(axis=1) > HARD_STOP)
        active[idx[done]] = False
    return beta, info, ~active, ok, it


def rows(arr: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``arr[idx]`` without a copy when ``idx`` is every dataset in order."""
    return arr if idx.size == arr.shape[0] else arr[idx]


def infinite_coefficients(beta_scaled: np.ndarray) -> np.ndarray:
    """(B, p) True where a coefficient has run off to infinity (see DIVERGED)."""
    return np.abs(beta_scaled) > DIVERGED
