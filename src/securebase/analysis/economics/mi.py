"""Multiple imputation by arm with predictive mean matching, and Rubin's rules for bootstrap results.

Imputation follows the algorithm of R ``mice`` (van Buuren & Groothuis-Oudshoorn 2011, J Stat Softw
45(3); van Buuren 2018, *Flexible Imputation of Missing Data*, sec. 3.4, "type 1" matching):

* start by filling each incomplete variable with random draws from its observed values;
* for ``maxit`` sweeps, for each incomplete variable y with predictors X (intercept added):
  ridge OLS ``b = (X'X + 1e-5 diag(X'X))^-1 X'y`` on observed rows; draw
  ``sigma* = sqrt(RSS / chi2(n_obs - p))`` and ``b* = b + sigma* L z`` (``L L' = (X'X + ridge)^-1``);
  predict ``X_obs b`` for donors and ``X_mis b*`` for recipients; each recipient takes the observed value
  of one donor drawn at random among the ``donors`` (default 5) nearest predictions.

Imputation is done separately in each arm (Faria et al. 2014, PharmacoEconomics 32:1157; Ben et al.
2023), so the arm indicator is never a predictor. Bootstrap results of the m completed sets are pooled by
Rubin's rules: ``Q = mean(q_i)``, ``W = mean(cov_boot_i)``, ``B = cov(q_i)``, ``T = W + (1 + 1/m) B``
(Rubin 1987; Ben et al. 2023, Box 4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from securebase.errors import DataError


class PMMImputer:
    """Chained-equations PMM, fitted and applied separately within each level of ``by``."""

    def __init__(self, m: int = 5, maxit: int = 5, donors: int = 5, ridge: float = 1e-5) -> None:
        if m < 2:
            raise DataError(f"the number of imputations m must be at least 2 (got {m})")
        self.m, self.maxit, self.donors, self.ridge = m, maxit, donors, ridge

    def impute(self, data: pd.DataFrame, columns: Sequence[str], *, by: str, rng: np.random.Generator,
               exclude: Sequence[str] = ()) -> list[pd.DataFrame]:
        """Return ``m`` completed copies of ``data``; every column not in ``exclude`` (or ``by``) predicts."""
        cols = list(data.columns)
        preds = [c for c in cols if c not in set(exclude) | {by}]
        bad = [c for c in preds if not np.issubdtype(data[c].dtype, np.number)]
        if bad:
            raise DataError(f"imputation predictors must be numeric (got non-numeric column(s) {bad}); "
                            "encode them or list them under 'exclude'")
        out = [data.copy() for _ in range(self.m)]
        for level in pd.unique(data[by]):
            rows = np.flatnonzero((data[by] == level).to_numpy())
            block = data.iloc[rows][preds].to_numpy(dtype=float)
            for k in range(self.m):
                done = self._chain(block, [preds.index(c) for c in columns], rng, preds, f"{by} = {level}")
                for j, c in enumerate(preds):
                    if c in columns:
                        out[k].iloc[rows, cols.index(c)] = done[:, j]
        return out

    def _chain(self, block: np.ndarray, targets: list[int], rng: np.random.Generator, names: list[str],
               where: str) -> np.ndarray:
        miss = ~np.isfinite(block)
        x = block.copy()
        todo = [j for j in targets if miss[:, j].any()]
        for j in todo:
            obs = x[~miss[:, j], j]
            if obs.size == 0:
                raise DataError(f"column '{names[j]}' has no observed value where {where}; it cannot be imputed "
                                "by arm (drop it or impute it another way)")
            x[miss[:, j], j] = rng.choice(obs, size=int(miss[:, j].sum()), replace=True)
        others_missing = [j for j in range(x.shape[1]) if j not in todo and miss[:, j].any()]
        if others_missing:
            raise DataError(f"predictor(s) {[names[j] for j in others_missing]} have missing values where "
                            f"{where} but are not in the list of columns to impute; add or exclude them")
        for _ in range(self.maxit):
            for j in todo:
                x[miss[:, j], j] = self._pmm(x, j, miss[:, j], rng)
        return x

    def _pmm(self, x: np.ndarray, j: int, mis: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        xp = np.column_stack([np.ones(len(x)), np.delete(x, j, axis=1)])
        keep = np.ptp(xp[:, 1:], axis=0) > 0  # constant predictors carry no information
        xp = xp[:, np.concatenate([[True], keep])]
        xo, yo, xm = xp[~mis], x[~mis, j], xp[mis]
        xtx = xo.T @ xo
        v = np.linalg.inv(xtx + np.diag(self.ridge * np.diag(xtx)))
        coef = v @ (xo.T @ yo)
        df = max(len(yo) - xo.shape[1], 1)
        sigma = np.sqrt(np.sum((yo - xo @ coef) ** 2) / rng.chisquare(df))
        beta = coef + sigma * (np.linalg.cholesky((v + v.T) / 2) @ rng.standard_normal(len(coef)))
        yhat_obs, yhat_mis = xo @ coef, xm @ beta
        d = np.abs(yhat_mis[:, None] - yhat_obs[None, :])
        k = min(self.donors, len(yo))
        near = np.argpartition(d + rng.uniform(0, 1e-12, d.shape), k - 1, axis=1)[:, :k]
        pick = near[np.arange(len(xm)), rng.integers(0, k, len(xm))]
        return yo[pick]


@dataclass(frozen=True)
class RubinPooled:
    """Rubin's rules for a vector estimate (here: incremental cost, incremental QALY)."""

    estimate: np.ndarray
    within: np.ndarray
    between: np.ndarray
    total: np.ndarray
    m: int

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.total))

    @property
    def fmi(self) -> np.ndarray:
        """Fraction of missing information, B/(B + W) elementwise on the diagonal (Ben et al. 2023)."""
        b, w = np.diag(self.between), np.diag(self.within)
        return b / (b + w)

    def to_dict(self) -> dict[str, Any]:
        return {"estimate": self.estimate.tolist(), "W": self.within.tolist(), "B": self.between.tolist(),
                "T": self.total.tolist(), "se": self.se.tolist(), "fmi": self.fmi.tolist(), "m": self.m}


def rubin_pool(estimates: np.ndarray, replicate_sets: Sequence[np.ndarray]) -> RubinPooled:
    """Pool m point estimates (m x p) with the covariance of each set's bootstrap replicates."""
    est = np.atleast_2d(np.asarray(estimates, dtype=float))
    m = est.shape[0]
    w = sum(np.cov(r[np.all(np.isfinite(r), axis=1)], rowvar=False) for r in replicate_sets) / m
    b = np.cov(est, rowvar=False) if m > 1 else np.zeros_like(w)
    return RubinPooled(est.mean(axis=0), w, b, w + (1 + 1 / m) * b, m)
