"""Complier average causal effect (CACE) by two-stage least squares.

Randomisation (``treat``) instruments receipt of the intervention (``complier``: attended at least the
protocol's threshold of sessions). Under the exclusion restriction and monotonicity (no defiers;
usual care cannot receive the intervention) the coefficient of receipt is the effect among compliers
(Angrist, Imbens & Rubin 1996, JASA 91:444). ``beta = (Xh'X)^-1 Xh'y`` with ``Xh = Z(Z'Z)^-1 Z'X``;
``Var(beta) = s^2 (Xh'Xh)^-1`` with ``s^2`` from the structural residuals ``y - X beta`` on ``n - p``
df and a t reference, as R ``AER::ivreg`` reports.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from securebase.analysis.effectiveness._design import TREAT, build_design
from securebase.analysis.effectiveness._result import EffectResult, Estimate
from securebase.errors import DataError


def two_stage_least_squares(y: np.ndarray, X: np.ndarray, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """2SLS coefficients, covariance and residual df (see module doc)."""
    qz, _ = np.linalg.qr(Z)
    xh = qz @ (qz.T @ X)
    beta = np.linalg.solve(xh.T @ X, xh.T @ y)
    resid = y - X @ beta
    df = X.shape[0] - X.shape[1]
    s2 = float(resid @ resid) / df
    return beta, s2 * np.linalg.inv(xh.T @ xh), df


class Cace:
    """CACE by 2SLS. Options: ``outcome``, ``received`` (0/1 receipt column, default "complier"),
    ``covariates`` (instruments for themselves), ``level``."""

    def __init__(self, outcome: str, covariates: Sequence[str] = (), received: str = "complier",
                 level: float = 0.95) -> None:
        self.outcome = outcome
        self.covariates = tuple(covariates)
        self.received = received
        self.level = level

    def fit(self, data: pd.DataFrame) -> EffectResult:
        what = f"CACE (2SLS) of '{self.outcome}'"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            dz = build_design(data, self.outcome, self.covariates, what=what, extra_required=[self.received])
            sub = data.loc[dz.rows]
            rec = pd.to_numeric(sub[self.received], errors="coerce").to_numpy(dtype=float)
            if not np.isin(rec, (0.0, 1.0)).all():
                raise DataError(f"{what}: '{self.received}' must be 0 or 1 (got {rec[~np.isin(rec, (0.0, 1.0))][0]!r})")
            if rec[dz.treat == 0].any():
                raise DataError(f"{what}: {int(rec[dz.treat == 0].sum())} usual-care participants have "
                                f"'{self.received}' = 1; 2SLS here assumes usual care cannot receive the "
                                "intervention (one-sided non-compliance)")
            uptake = rec[dz.treat == 1].mean()
            if uptake == 0:
                raise DataError(f"{what}: no intervention participant has '{self.received}' = 1; the CACE is "
                                "not identified (the instrument has no effect on receipt)")
            j = dz.names.index(TREAT)
            X = dz.X.copy()
            X[:, j] = rec
            beta, cov, df = two_stage_least_squares(dz.y, X, dz.X)
        warns = list(dz.warnings) + [str(w.message) for w in caught]
        if uptake < 0.2:
            warns.append(f"only {uptake:.0%} of the intervention arm received the intervention: a weak "
                         "instrument; the CACE interval is wide and its normal approximation poor")
        names = list(dz.names)
        names[j] = self.received
        se = np.sqrt(np.diag(cov))
        return EffectResult(
            model="CACE by two-stage least squares", outcome=self.outcome,
            estimates=(Estimate("complier average causal effect", float(beta[j]), float(se[j]), df=float(df),
                                level=self.level),),
            n_analysed=dz.n_analysed,
            coefficients={n: (float(b), float(s)) for n, b, s in zip(names, beta, se, strict=True)},
            warnings=tuple(warns), details={"uptake_intervention_arm": float(uptake), "df_residual": df})
