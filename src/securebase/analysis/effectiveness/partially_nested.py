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
    """-2 REML criterion (up to a constant) for B datasets at once; clusters padded with empty ones
    (an empty cluster adds nothing: g s s' = 0 and (m - 1) log s1 + log(s1) = 0)."""

    def __init__(self, data: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]) -> None:
        B, p = len(data), data[0][1].shape[1]
        K = max(int(c[t == 1].max()) + 1 for _, _, t, c in data)
        self.xx0, self.xy0, self.yy0, self.n0 = np.zeros((B, p, p)), np.zeros((B, p)), np.zeros(B), np.zeros(B)
        self.xx1, self.xy1, self.yy1 = np.zeros((B, p, p)), np.zeros((B, p)), np.zeros(B)
        self.m, self.sx, self.sy = np.zeros((B, K)), np.zeros((B, K, p)), np.zeros((B, K))
        for b, (y, X, treat, cluster) in enumerate(data):
            c, t = treat == 0, treat == 1
            self.xx0[b], self.xy0[b], self.yy0[b], self.n0[b] = X[c].T @ X[c], X[c].T @ y[c], y[c] @ y[c], c.sum()
            self.xx1[b], self.xy1[b], self.yy1[b] = X[t].T @ X[t], X[t].T @ y[t], y[t] @ y[t]
            k = cluster[t]
            self.m[b] = np.bincount(k, minlength=K)
            np.add.at(self.sx[b], k, X[t])
            self.sy[b] = np.bincount(k, weights=y[t], minlength=K)

    def parts(self, theta: np.ndarray, i: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        v = np.exp(2 * theta)  # variances: usual care residual, intervention residual, therapist
        s0, s1, tau = v[:, 0], v[:, 1], v[:, 2]
        m = self.m[i]
        g = tau[:, None] / (s1[:, None] + m * tau[:, None])
        sx, sy = self.sx[i], self.sy[i]
        xvx = self.xx0[i] / s0[:, None, None] + (self.xx1[i] - np.einsum("bk,bkp,bkq->bpq", g, sx, sx)) / s1[:, None, None]
        xvy = self.xy0[i] / s0[:, None] + (self.xy1[i] - np.einsum("bk,bkp,bk->bp", g, sx, sy)) / s1[:, None]
        yvy = self.yy0[i] / s0 + (self.yy1[i] - np.einsum("bk,bk->b", g, sy**2)) / s1
        logdet = self.n0[i] * np.log(s0) + np.sum((m - 1) * np.log(s1)[:, None] + np.log(s1[:, None] + m * tau[:, None]),
                                                  axis=1)
        return xvx, xvy, yvy, logdet

    def __call__(self, theta: np.ndarray, i: np.ndarray) -> np.ndarray:
        xvx, xvy, yvy, logdet = self.parts(theta, i)
        try:
            beta = np.linalg.solve(xvx, xvy[..., None])[..., 0]
        except np.linalg.LinAlgError:
            return np.full(len(i), np.inf)
        sign, ld = np.linalg.slogdet(xvx)
        out = logdet + ld + yvy - np.einsum("bp,bp->b", beta, xvy)
        return np.where((sign > 0) & np.isfinite(out), out, np.inf)


class PartiallyNested:
    """Therapist random effect in the intervention arm only, residual variance by arm (REML).

    Options: ``outcome``, ``covariates``, ``therapist`` column (intervention arm), ``level``.
    """

    def __init__(self, outcome: str, covariates: Sequence[str] = (), therapist: str = "therapist",
                 level: float = 0.95) -> None:
        self.outcome, self.covariates, self.therapist, self.level = outcome, tuple(covariates), therapist, level

    def _prepare(self, data: pd.DataFrame, what: str) -> tuple:
        warns: list[str] = []
        if self.therapist not in data.columns:
            raise DataError(f"{what}: column '{self.therapist}' (therapist or group of each intervention "
                            "participant) is not in the dataset")
        d = build_design(data, self.outcome, self.covariates, what=what)
        th = data.loc[d.rows, self.therapist]
        t = d.treat == 1
        missing = (th[t].isna() | (th[t].astype(str).str.strip() == "")).to_numpy()
        if missing.all():
            raise DataError(f"{what}: no intervention participant has a '{self.therapist}' value; the "
                            "therapist variance cannot be estimated")
        if missing.any():
            warns.append(f"{int(missing.sum())} intervention participants have no therapist recorded and "
                         "are treated as clusters of one")
        labels = th[t].astype(str).to_numpy()
        labels[missing] = [f"_single{i}" for i in range(int(missing.sum()))]
        cluster = np.full(len(d.y), -1)
        cluster[t] = pd.factorize(labels)[0]
        n_clusters = int(cluster[t].max() + 1)
        if n_clusters < 3:
            warns.append(f"only {n_clusters} therapists: the therapist variance is poorly estimated")
        r = d.y - d.X @ np.linalg.lstsq(d.X, d.y, rcond=None)[0]
        x0 = np.log([r[~t].std() + 1e-8, r[t].std() + 1e-8, 0.3 * r.std() + 1e-8])
        return d, cluster, n_clusters, x0, warns

    def fit(self, data: pd.DataFrame) -> EffectResult:
        return self.fit_many([data])[0]

    def fit_many(self, frames: Sequence[pd.DataFrame]) -> list[EffectResult]:
        """Fit many datasets at once (simulated trials): REML optimised for all together."""
        what = f"partially nested model of '{self.outcome}'"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            prep = [self._prepare(f, what) for f in frames]
            if len({len(p[0].names) for p in prep}) > 1:
                raise DataError(f"{what}: fit_many needs datasets with the same factor levels")
            crit = _Criterion([(d.y, d.X, d.treat, c) for d, c, _, _, _ in prep])
            theta, ok = _reml.newton(crit, np.array([p[3] for p in prep]))
            idx = np.arange(len(prep))
            xvx, xvy, _, _ = crit.parts(theta, idx)
            cov = np.linalg.inv(xvx)
            beta = np.einsum("bpq,bq->bp", cov, xvy)
            crit_val = crit(theta, idx)
        caught_msgs = tuple(str(w.message) for w in caught)
        out = []
        for b, (d, cluster, n_clusters, _, warns) in enumerate(prep):
            w = list(warns)
            if not ok[b]:
                w.append("REML did not converge; check the estimates")
            s0, s1, tau = np.exp(theta[b])
            if tau < 1e-4 * s1:
                w.append("the therapist variance is estimated at zero (boundary): the model reduces to "
                         "heteroscedastic regression")
            df = self._nlme_df(d.X, d.names, d.treat, cluster)
            se = np.sqrt(np.diag(cov[b]))
            j = d.names.index(TREAT)
            out.append(EffectResult(
                model="partially nested heteroscedastic model (REML)", outcome=self.outcome,
                estimates=(Estimate("mean difference", float(beta[b, j]), float(se[j]), df=df[TREAT],
                                    level=self.level),),
                n_analysed=d.n_analysed,
                coefficients={n: (float(c), float(s)) for n, c, s in zip(d.names, beta[b], se, strict=True)},
                warnings=d.warnings + caught_msgs + tuple(w),
                details={"therapist_sd": float(tau), "therapists": n_clusters,
                         "residual_sd": {ARM_INTERVENTION: float(s1), ARM_CONTROL: float(s0)},
                         "icc_intervention": float(tau**2 / (tau**2 + s1**2)), "df": df,
                         "reml_criterion": float(crit_val[b])}))
        return out

    @staticmethod
    def _nlme_df(X: np.ndarray, names: Sequence[str], treat: np.ndarray, cluster: np.ndarray) -> dict[str, float]:
        """Between/within-cluster df as nlme assigns them (usual care: clusters of one)."""
        groups = np.where(treat == 1, cluster, cluster.max() + 1 + np.arange(len(cluster)))
        n_groups = len(np.unique(groups))
        order = np.argsort(groups, kind="stable")
        g, Xs = groups[order], X[order]
        first = np.r_[0, np.flatnonzero(g[1:] != g[:-1]) + 1]
        start_of = first[np.cumsum(np.r_[True, g[1:] != g[:-1]]) - 1]
        within = list((np.abs(Xs - Xs[start_of]) > 1e-12).any(axis=0))
        intercept = [n == "(Intercept)" for n in names]
        p_in = sum(w for w, i in zip(within, intercept, strict=True) if not i)
        p_out = sum(not w for w, i in zip(within, intercept, strict=True) if not i)
        df_in = X.shape[0] - n_groups - p_in
        df_out = n_groups - p_out - 1
        return {n: float(max(df_in, df_out) if i else (df_in if w else df_out))
                for n, w, i in zip(names, within, intercept, strict=True)}
