"""Logistic regression for a binary outcome: the adjusted odds ratio and the standardised risk
difference.

The odds ratio is ``exp(b_treat)`` with a Wald interval, as R ``glm(family = binomial)`` reports.
The risk difference is standardised over the analysed participants by g-computation
(Robins 1986; Ye, Shao, Yi & Zhao 2023, JASA 118:2370): ``RD = mean(p1_i) - mean(p0_i)`` where
``p1_i, p0_i`` are each participant's predicted risks with treat set to 1 and 0. Its variance is
by the delta method plus the sampling variance of the covariate average,
``Var(RD) = g' V g + var_i(p1_i - p0_i) / n`` with ``g = mean(p1_i(1-p1_i) x1_i) - mean(p0_i(1-p0_i) x0_i)``
and V the model covariance of b (the estimating-equation variance when the model is correct).
The R reference (tests/reference/effectiveness/logistic.R) computes the same quantities from
``glm``'s output.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import special

from securebase.analysis.effectiveness._design import (
    TREAT,
    design_with_subgroup,
    factor_level_events,
    is_factor,
)
from securebase.analysis.effectiveness._result import EffectResult, Estimate
from securebase.analysis.effectiveness.glm import irls
from securebase.errors import DataError


def standardised_risk_difference(X: np.ndarray, beta: np.ndarray, cov: np.ndarray, j: int) -> tuple[float, float]:
    """g-computation risk difference (treat column ``j``) and its standard error (see module doc)."""
    x1, x0 = X.copy(), X.copy()
    x1[:, j], x0[:, j] = 1.0, 0.0
    p1, p0 = special.expit(x1 @ beta), special.expit(x0 @ beta)
    rd = float(np.mean(p1 - p0))
    g = (x1 * (p1 * (1 - p1))[:, None]).mean(axis=0) - (x0 * (p0 * (1 - p0))[:, None]).mean(axis=0)
    var = float(g @ cov @ g) + float(np.var(p1 - p0, ddof=1)) / len(p1)
    return rd, float(np.sqrt(var))


class Logistic:
    """Binary outcome (0/1): odds ratio (primary) and standardised risk difference.

    Options: ``outcome``, ``covariates``, ``level``, ``interaction`` (subgroup factor).
    """

    def __init__(self, outcome: str, covariates: Sequence[str] = (), level: float = 0.95,
                 interaction: str | None = None) -> None:
        self.outcome = outcome
        self.covariates = tuple(covariates)
        self.level = level
        self.interaction = interaction

    def fit(self, data: pd.DataFrame) -> EffectResult:
        what = f"logistic regression of '{self.outcome}'"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            d, covs = design_with_subgroup(data, self.outcome, self.covariates, self.interaction, what=what)
            bad = ~np.isin(d.y, (0.0, 1.0))
            if bad.any():
                raise DataError(f"{what}: outcome must be 0 or 1 (got {d.y[bad][0]!r}); code events as 1")
            sub = data.loc[d.rows]
            factor_level_events(sub, d.y, [c for c in covs if is_factor(sub[c])], what)
            factor_level_events(sub.assign(_arm=np.where(d.treat == 1, "intervention", "usual_care")),
                                d.y, ["_arm"], what)
            fit = irls(d.y, d.X, "binomial", what=what)
        se = np.sqrt(np.diag(fit.cov))
        j = d.names.index(TREAT)
        rd, rd_se = standardised_risk_difference(d.X, fit.beta, fit.cov, j)
        ests = [Estimate("odds ratio", float(fit.beta[j]), float(se[j]), transform="exp", level=self.level),
                Estimate("risk difference", rd, rd_se, level=self.level)]
        details: dict[str, object] = {"risk_difference_method": "g-computation, delta method + covariate term",
                                      "events": {"intervention": int(d.y[d.treat == 1].sum()),
                                                 "usual_care": int(d.y[d.treat == 0].sum())},
                                      "deviance": fit.deviance, "iterations": fit.iterations}
        warns = list(d.warnings) + [str(w.message) for w in caught]
        if not fit.converged:
            warns.append("IRLS did not converge in 100 iterations; estimates may be unreliable")
        if self.interaction:
            from securebase.analysis.effectiveness.subgroups import interaction_estimates
            extra, test = interaction_estimates(d, fit.beta, fit.cov, self.interaction, data, df=None,
                                                level=self.level, f_test=False, transform="exp")
            ests += extra
            details["interaction_test"] = test
        return EffectResult(
            model="logistic regression", outcome=self.outcome, estimates=tuple(ests), n_analysed=d.n_analysed,
            coefficients={n: (float(b), float(s)) for n, b, s in zip(d.names, fit.beta, se, strict=True)},
            warnings=tuple(warns), details=details)
