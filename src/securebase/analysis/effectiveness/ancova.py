"""ANCOVA: the outcome regressed on treatment, the baseline value and the minimisation factors.

Ordinary least squares, ``beta = (X'X)^-1 X'y``, ``Var(beta) = s^2 (X'X)^-1`` with
``s^2 = RSS / (n - p)``; the treatment coefficient is the adjusted mean difference (intervention
minus usual care) with a t reference on ``n - p`` df. Matches R ``lm`` (checked in
tests/reference/effectiveness/ancova.R).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from securebase.analysis.effectiveness._design import TREAT, design_with_subgroup
from securebase.analysis.effectiveness._result import EffectResult, Estimate


def ols(y: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Least squares by QR: coefficients, covariance, residual variance and residual df."""
    q, r = np.linalg.qr(X)
    beta = np.linalg.solve(r, q.T @ y)
    resid = y - X @ beta
    df = X.shape[0] - X.shape[1]
    s2 = float(resid @ resid) / df
    rinv = np.linalg.inv(r)
    return beta, s2 * (rinv @ rinv.T), s2, df


class Ancova:
    """Adjusted mean difference by linear regression.

    Parameters: ``outcome`` (column), ``covariates`` (baseline value and minimisation factors),
    ``level`` of the confidence interval, ``interaction`` (a factor: adds treat-by-factor terms and
    reports the effect in each level plus the interaction F test; used for subgroup analyses).
    """

    def __init__(self, outcome: str, covariates: Sequence[str] = (), level: float = 0.95,
                 interaction: str | None = None) -> None:
        self.outcome = outcome
        self.covariates = tuple(covariates)
        self.level = level
        self.interaction = interaction

    def fit(self, data: pd.DataFrame) -> EffectResult:
        what = f"ANCOVA of '{self.outcome}'"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            d, _ = design_with_subgroup(data, self.outcome, self.covariates, self.interaction, what=what)
            beta, cov, s2, df = ols(d.y, d.X)
        se = np.sqrt(np.diag(cov))
        j = d.names.index(TREAT)
        ests = [Estimate("mean difference", float(beta[j]), float(se[j]), df=float(df), level=self.level)]
        details: dict[str, object] = {"residual_sd": float(np.sqrt(s2)), "df_residual": df}
        if self.interaction:
            from securebase.analysis.effectiveness.subgroups import interaction_estimates
            extra, test = interaction_estimates(d, beta, cov, self.interaction, data, df=float(df),
                                                level=self.level, f_test=True)
            ests += extra
            details["interaction_test"] = test
        return EffectResult(
            model="ANCOVA (linear regression)", outcome=self.outcome, estimates=tuple(ests),
            n_analysed=d.n_analysed,
            coefficients={n: (float(b), float(s)) for n, b, s in zip(d.names, beta, se, strict=True)},
            warnings=d.warnings + tuple(str(w.message) for w in caught), details=details)
