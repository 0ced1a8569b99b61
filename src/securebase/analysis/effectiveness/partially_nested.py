"""The partially nested heteroscedastic model: therapist clustering in the intervention arm only.

``y_i = x_i' beta + treat_i u_k(i) + e_i``, ``u_k ~ N(0, tau^2)`` for therapist k,
``e_i ~ N(0, sigma_arm^2)`` with a residual variance for each arm (Roberts & Roberts 2005,
Clinical Trials 2:152; Baldwin et al. 2011). Usual-care participants are independent. Fitted by REML:
within a therapist cluster of size m, ``V = sigma_1^2 I + tau^2 J`` so
``V^-1 = (I - g J) / sigma_1^2`` with ``g = tau^2 / (sigma_1^2 + m tau^2)`` and
``log|V| = (m - 1) log sigma_1^2 + log(sigma_1^2 + m tau^2)``, which keeps every evaluation O(clusters).
Fixed-effect covariance ``(X'V^-1X)^-1``; t reference with nlme's between/within rule: a column that
varies within some cluster gets ``N - n_clusters - p_within`` df, others ``n_clusters - p_between - 1``,
the intercept the larger (Pinheiro & Bates 2000, s. 2.4.2). This is R
``nlme::lme(random = ~ 0 + treat | cluster, weights = varIdent(~ 1 | treat), method = "REML")`` with
usual-care participants as singleton clusters; checked in tests/reference/effectiveness/partially_nested.R.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from securebase.analysis.effectiveness import _reml
from securebase.analysis.effectiveness._design import TREAT, build_design
from securebase.analysis.effectiveness._result import EffectResult, Estimate
from securebase.analysis.schema import ARM_CONTROL, ARM_INTERVENTION
from securebase.errors import DataError


class _Criterion:
    def __init__(self, y: np.ndarray, X: np.ndarray, treat: np.ndarray, cluster: np.ndarray) -> None:
        c, t = treat == 0, treat == 1
        self.xx0, self.xy0, self.yy0, self.n0 = X[c].T @ X[c], X[c].T @ y[c], float(y[c] @ y[c]), int(c.sum())
        self.xx1, self.xy1, self.yy1 = X[t].T @ X[t], X[t].T @ y[t], float(y[t] @ y[t])
        k = cluster[t]
        K = k.max() + 1
        self.m = np.bincount(k, minlength=K).astype(float)
        self.sx = np.zeros((K, X.shape[1]))
        np.add.at(self.sx, k, X[t])
        self.sy = np.bincount(k, weights=y[t], minlength=K)

    def parts(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
        s0, s1, tau = np.exp(2 * theta)  # variances
        g = tau / (s1 + self.m * tau)
        xvx = self.xx0 / s0 + (self.xx1 - (self.sx * g[:, None]).T @ self.sx) / s1
        xvy = self.xy0 / s0 + (self.xy1 - (self.sx * g[:, None]).T @ self.sy) / s1
        yvy = self.yy0 / s0 + (self.yy1 - float(g @ self.sy**2)) / s1
        logdet = self.n0 * np.log(s0) + float(np.sum((self.m - 1) * np.log(s1) + np.log(s1 + self.m * tau)))
        return xvx, xvy, yvy, logdet

    def __call__(self, theta: np.ndarray) -> float:
        xvx, xvy, yvy, logdet = self.parts(theta)
        try:
            beta = np.linalg.solve(xvx, xvy)
        except np.linalg.LinAlgError:
            return np.inf
        return logdet + np.linalg.slogdet(xvx)[1] + yvy - float(beta @ xvy)


class PartiallyNested:
    """Therapist random effect in the intervention arm only, residual variance by arm (REML).

    Options: ``outcome``, ``covariates``, ``therapist`` column (intervention arm), ``level``.
    """

    def __init__(self, outcome: str, covariates: Sequence[str] = (), therapist: str = "therapist",
                 level: float = 0.95) -> None:
        self.outcome, self.covariates, self.therapist, self.level = outcome, tuple(covariates), therapist, level

    def fit(self, data: pd.DataFrame) -> EffectResult:
        what = f"partially nested model of '{self.outcome}'"
        warns: list[str] = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if self.therapist not in data.columns:
                raise DataError(f"{what}: column '{self.therapist}' (therapist or group of each intervention "
                                "participant) is not in the dataset")
            d = build_design(data, self.outcome, self.covariates, what=what)
            th = data.loc[d.rows, self.therapist]
            t = d.treat == 1
            missing = th[t].isna() | (th[t].astype(str).str.strip() == "")
            if missing.all():
                raise DataError(f"{what}: no intervention participant has a '{self.therapist}' value; the "
                                "therapist variance cannot be estimated")
            if missing.any():
                warns.append(f"{int(missing.sum())} intervention participants have no therapist recorded and "
                             "are treated as clusters of one")
            labels = np.where(t, th.astype(str).to_numpy(), "")
            labels[np.flatnonzero(t)[missing.to_numpy()]] = [f"_single{i}" for i in range(int(missing.sum()))]
            cluster = np.full(len(labels), -1)
            cluster[t] = pd.factorize(labels[t])[0]
            n_clusters = int(cluster[t].max() + 1)
            if n_clusters < 3:
                warns.append(f"only {n_clusters} therapists: the therapist variance is poorly estimated")
            crit = _Criterion(d.y, d.X, d.treat, cluster)
            r = d.y - d.X @ np.linalg.lstsq(d.X, d.y, rcond=None)[0]
            x0 = np.log([r[~t].std() + 1e-8, r[t].std() + 1e-8, 0.3 * r.std() + 1e-8])
            theta, ok = _reml.minimise(crit, x0)
            xvx, xvy, _, _ = crit.parts(theta)
            cov = np.linalg.inv(xvx)
            beta = cov @ xvy
        if not ok:
            warns.append("the REML optimiser reported non-convergence; check the estimates")
        s0, s1, tau = np.exp(theta)
        if tau < 1e-4 * s1:
            warns.append("the therapist variance is estimated at zero (boundary): the model reduces to "
                         "heteroscedastic regression")
        df = self._nlme_df(d.X, d.names, d.treat, cluster)
        se = np.sqrt(np.diag(cov))
        j = d.names.index(TREAT)
        return EffectResult(
            model="partially nested heteroscedastic model (REML)", outcome=self.outcome,
            estimates=(Estimate("mean difference", float(beta[j]), float(se[j]), df=df[TREAT], level=self.level),),
            n_analysed=d.n_analysed,
            coefficients={n: (float(b), float(s)) for n, b, s in zip(d.names, beta, se, strict=True)},
            warnings=d.warnings + tuple(str(w.message) for w in caught) + tuple(warns),
            details={"therapist_sd": float(tau), "therapists": n_clusters,
                     "residual_sd": {ARM_INTERVENTION: float(s1), ARM_CONTROL: float(s0)},
                     "icc_intervention": float(tau**2 / (tau**2 + s1**2)), "df": df,
                     "reml_criterion": float(crit(theta))})

    @staticmethod
    def _nlme_df(X: np.ndarray, names: Sequence[str], treat: np.ndarray, cluster: np.ndarray) -> dict[str, float]:
        """Between/within-cluster df as nlme assigns them (usual care: clusters of one)."""
        groups = np.where(treat == 1, cluster, cluster.max() + 1 + np.arange(len(cluster)))
        n_groups = len(np.unique(groups))
        within = []
        for k in range(X.shape[1]):
            col = X[:, k]
            lo = pd.Series(col).groupby(groups).agg(np.ptp).to_numpy()
            within.append(bool((lo > 0).any()))
        intercept = [n == "(Intercept)" for n in names]
        p_in = sum(w for w, i in zip(within, intercept, strict=True) if not i)
        p_out = sum(not w for w, i in zip(within, intercept, strict=True) if not i)
        df_in = len(col) - n_groups - p_in
        df_out = n_groups - p_out - 1
        return {n: float(max(df_in, df_out) if i else (df_in if w else df_out))
                for n, w, i in zip(names, within, intercept, strict=True)}
