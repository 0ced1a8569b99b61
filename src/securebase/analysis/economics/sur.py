"""Seemingly unrelated regression (SUR) of costs and QALYs by two-step feasible GLS.

Reproduces R ``systemfit(method = "SUR")`` with its defaults (``systemfit.control()``: ``maxiter = 1``,
``methodResidCov = "geomean"``, ``centerResiduals = FALSE``; Henningsen & Hamann 2007, J Stat Softw
23(4)):

1. OLS in each equation i gives residuals e_i.
2. Residual covariance ``s_ij = e_i'e_j / sqrt((n - k_i)(n - k_j))`` ("geomean" degrees of freedom).
3. GLS: ``b = (X' (S^-1 (x) I) X)^-1 X' (S^-1 (x) I) y``; ``vcov(b) = (X' (S^-1 (x) I) X)^-1``.

Two implementations share this contract: :class:`SUR` fits one data set from the residual vectors
(the reference, checked against R to 1e-8), and :func:`sur_from_gram` fits thousands of weighted
(bootstrap) data sets at once from their Gram matrices ``Z' W_b Z``, ``Z = [X_1 y_1 X_2 y_2 ...]``,
because every quantity above is a function of the cross-products.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from securebase.errors import DataError


@dataclass(frozen=True)
class Equation:
    """One equation: ``response ~ 1 + covariates`` (an intercept is always included)."""

    name: str
    response: str
    covariates: tuple[str, ...]

    @property
    def coef_names(self) -> list[str]:
        return [f"{self.name}_(Intercept)"] + [f"{self.name}_{c}" for c in self.covariates]


def design_matrices(eqs: Sequence[Equation], data: pd.DataFrame) -> tuple[list[np.ndarray], list[np.ndarray]]:
    xs, ys = [], []
    for eq in eqs:
        cols = [eq.response, *eq.covariates]
        missing = [c for c in cols if c not in data.columns]
        if missing:
            raise DataError(f"SUR equation '{eq.name}' needs column(s) {missing} (not in the data); "
                            "add them or change the plan's covariates")
        block = data[cols].to_numpy(dtype=float)
        bad = ~np.isfinite(block)
        if bad.any():
            col = cols[int(np.argwhere(bad)[0][1])]
            raise DataError(f"SUR column '{col}' has {int(bad[:, cols.index(col)].sum())} missing or "
                            "non-finite value(s); impute them or analyse complete cases explicitly")
        ys.append(block[:, 0])
        xs.append(np.column_stack([np.ones(len(block)), block[:, 1:]]))
    return xs, ys


@dataclass(frozen=True)
class SURResult:
    """Immutable SUR fit: coefficients, their covariance and the residual covariances."""

    coef_names: tuple[str, ...]
    coefficients: np.ndarray
    vcov: np.ndarray
    resid_cov_est: np.ndarray  # the S used in the GLS step (systemfit ``residCovEst``)
    resid_cov: np.ndarray  # S from the final GLS residuals (systemfit ``residCov``)
    n: int
    warnings: tuple[str, ...] = field(default=())

    def coef(self, name: str) -> float:
        return float(self.coefficients[self.coef_names.index(name)])

    def se(self, name: str) -> float:
        i = self.coef_names.index(name)
        return float(np.sqrt(self.vcov[i, i]))

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "coef_names": list(self.coef_names), "coefficients": self.coefficients.tolist(),
                "vcov": self.vcov.tolist(), "resid_cov_est": self.resid_cov_est.tolist(),
                "resid_cov": self.resid_cov.tolist(), "warnings": list(self.warnings)}

    def summary(self) -> str:
        lines = [f"SUR (two-step FGLS, geomean residual covariance), n = {self.n}"]
        for i, nm in enumerate(self.coef_names):
            lines.append(f"  {nm:<28} {self.coefficients[i]:>14.6g}  SE {np.sqrt(self.vcov[i, i]):.6g}")
        return "\n".join(lines)


def _geomean_cov(resids: list[np.ndarray], ks: list[int], n: int) -> np.ndarray:
    g = len(resids)
    s = np.empty((g, g))
    for i in range(g):
        for j in range(g):
            s[i, j] = resids[i] @ resids[j] / np.sqrt((n - ks[i]) * (n - ks[j]))
    return s


class SUR:
    """SUR estimator with R systemfit's defaults; options here, data in :meth:`fit`."""

    def __init__(self, equations: Sequence[Equation]) -> None:
        if len(equations) < 2:
            raise DataError("a SUR needs at least two equations (costs and QALYs)")
        self.equations = tuple(equations)

    def fit(self, data: pd.DataFrame) -> SURResult:
        xs, ys = design_matrices(self.equations, data)
        return fit_sur_arrays(xs, ys, [n for e in self.equations for n in e.coef_names])


def fit_sur_arrays(xs: list[np.ndarray], ys: list[np.ndarray], names: Sequence[str] | None = None) -> SURResult:
    """Fit a SUR from design matrices (intercept included) and responses; see the module docstring."""
    n = len(ys[0])
    ks = [x.shape[1] for x in xs]
    if n <= max(ks):
        raise DataError(f"SUR needs more participants than coefficients per equation (got n = {n})")
    ols_res = []
    for x, y in zip(xs, ys, strict=False):
        b, *_ = np.linalg.lstsq(x, y, rcond=None)
        ols_res.append(y - x @ b)
    s = _geomean_cov(ols_res, ks, n)
    sinv = np.linalg.inv(s)
    offs = np.concatenate([[0], np.cumsum(ks)])
    a = np.zeros((offs[-1], offs[-1]))
    r = np.zeros(offs[-1])
    for i, xi in enumerate(xs):
        for j, xj in enumerate(xs):
            a[offs[i]:offs[i + 1], offs[j]:offs[j + 1]] = sinv[i, j] * (xi.T @ xj)
            r[offs[i]:offs[i + 1]] += sinv[i, j] * (xi.T @ ys[j])
    vcov = np.linalg.inv(a)
    vcov = (vcov + vcov.T) / 2
    beta = np.linalg.solve(a, r)
    gls_res = [ys[i] - xs[i] @ beta[offs[i]:offs[i + 1]] for i in range(len(xs))]
    names = tuple(names) if names is not None else tuple(f"b{i}" for i in range(offs[-1]))
    return SURResult(names, beta, vcov, s, _geomean_cov(gls_res, ks, n), n)


# ---------------------------------------------------------------------------------------------
# batched kernel


@dataclass(frozen=True)
class GramLayout:
    """Column layout of ``Z = [X_1 y_1 X_2 y_2 ...]`` and the scale used to equilibrate it."""

    x_cols: tuple[tuple[int, ...], ...]
    y_cols: tuple[int, ...]
    scale: np.ndarray


def stack_system(xs: list[np.ndarray], ys: list[np.ndarray]) -> tuple[np.ndarray, GramLayout]:
    """Build the scaled ``Z`` matrix (columns divided by their root mean square) and its layout."""
    cols: list[np.ndarray] = []
    x_cols: list[tuple[int, ...]] = []
    y_cols: list[int] = []
    start = 0
    for x, y in zip(xs, ys, strict=True):
        cols.append(x)
        x_cols.append(tuple(range(start, start + x.shape[1])))
        cols.append(y[:, None])
        y_cols.append(start + x.shape[1])
        start += x.shape[1] + 1
    z = np.hstack(cols)
    scale = np.sqrt(np.mean(z ** 2, axis=0))
    scale[scale == 0] = 1.0
    return z / scale, GramLayout(tuple(x_cols), tuple(y_cols), scale)


def gram_batch(z: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``G_b = Z' diag(w_b) Z`` for each row ``w_b`` of ``weights`` (B x n), as one matrix product."""
    n, p = z.shape
    outer = (z[:, :, None] * z[:, None, :]).reshape(n, p * p)
    return (weights @ outer).reshape(weights.shape[0], p, p)


def sur_from_gram(gram: np.ndarray, layout: GramLayout, n: np.ndarray | int) -> np.ndarray:
    """SUR coefficients (B x sum k_i, original scale) for each Gram matrix; NaN rows when singular.

    ``n`` is the number of observations in each replicate (the sum of its weights).
    """
    bsz = gram.shape[0]
    g = len(layout.y_cols)
    n = np.broadcast_to(np.asarray(n, dtype=float), (bsz,))
    xi = [np.array(c) for c in layout.x_cols]
    yi = list(layout.y_cols)
    ks = [len(c) for c in xi]
    ols = []
    for i in range(g):
        xtx = gram[:, xi[i][:, None], xi[i][None, :]]
        xty = gram[:, xi[i], yi[i]]
        ols.append(_solve(xtx, xty))
    # residual cross-products e_i'e_j from the Gram matrix
    s = np.empty((bsz, g, g))
    for i in range(g):
        for j in range(g):
            yy = gram[:, yi[i], yi[j]]
            xiy = np.einsum("bk,bk->b", ols[i], gram[:, xi[i], yi[j]])
            xjy = np.einsum("bk,bk->b", ols[j], gram[:, xi[j], yi[i]])
            xx = np.einsum("bk,bkl,bl->b", ols[i], gram[:, xi[i][:, None], xi[j][None, :]], ols[j])
            s[:, i, j] = (yy - xiy - xjy + xx) / np.sqrt((n - ks[i]) * (n - ks[j]))
    sinv = _inv(s)
    offs = np.concatenate([[0], np.cumsum(ks)])
    a = np.zeros((bsz, offs[-1], offs[-1]))
    r = np.zeros((bsz, offs[-1]))
    for i in range(g):
        for j in range(g):
            a[:, offs[i]:offs[i + 1], offs[j]:offs[j + 1]] = (
                sinv[:, i, j, None, None] * gram[:, xi[i][:, None], xi[j][None, :]])
            r[:, offs[i]:offs[i + 1]] += sinv[:, i, j, None] * gram[:, xi[i], yi[j]]
    beta = _solve(a, r)
    # back to the original scale: y_s = y / s_y, x_s = x / s_x  =>  b = b_s * s_y / s_x
    for i in range(g):
        beta[:, offs[i]:offs[i + 1]] *= layout.scale[yi[i]] / layout.scale[xi[i]]
    return beta


def _solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(a, b[..., None])[..., 0]
    except np.linalg.LinAlgError:
        out = np.full(b.shape, np.nan)
        for k in range(a.shape[0]):
            if np.linalg.matrix_rank(a[k]) == a.shape[-1]:
                out[k] = np.linalg.solve(a[k], b[k])
        return out


def _inv(a: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.inv(a)
    except np.linalg.LinAlgError:
        out = np.full(a.shape, np.nan)
        for k in range(a.shape[0]):
            if np.linalg.matrix_rank(a[k]) == a.shape[-1]:
                out[k] = np.linalg.inv(a[k])
        return out
