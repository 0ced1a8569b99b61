"""Mixed model for repeated measures (MMRM) over the follow-up visits.

Model: ``y_ij = mu_j + tau_j treat_i + gamma_j baseline_i + x_i' beta + e_ij`` for visit j, with
``e_i ~ N(0, Sigma_i)`` and Sigma unstructured (one variance per visit, one correlation per pair),
fitted by restricted maximum likelihood (Patterson & Thompson 1971) with generalised least squares
for the fixed effects. Participants with some visits missing contribute the visits they have
(valid under missing at random). -2 REML log-likelihood, up to a constant:
``sum_i log|Sigma_i| + log|X'V^-1 X| + (y - X b)' V^-1 (y - X b)``; Sigma is parametrised by its
log-Cholesky factor. ``tau_j`` is the effect at visit j (intervention minus usual care) with
``Var = [(X'V^-1X)^-1]_jj`` and Satterthwaite (1946) df ``2 f^2 / (g' A g)`` where
``f(theta) = c'(X'V(theta)^-1X)^-1 c``, ``g = df/dtheta`` and ``A`` the inverse observed REML information
(the approach of Kenward & Roger's simpler sibling; Christensen's lmerTest uses the same rule).
This model is R ``nlme::gls(corSymm, varIdent by visit, REML)``; checked in tests/reference/effectiveness/mmrm.R.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from securebase.analysis.effectiveness import _reml
from securebase.analysis.effectiveness._design import (
    TREAT,
    _check_rank,
    _encode,
    check_treat,
    require_columns,
)
from securebase.analysis.effectiveness._result import EffectResult, Estimate
from securebase.analysis.schema import ARM_CONTROL, ARM_INTERVENTION
from securebase.errors import DataError


def _sigma(theta: np.ndarray, T: int) -> np.ndarray:
    """Sigma = L L' from log-Cholesky parameters, batched: theta (B, T(T+1)/2) -> (B, T, T)."""
    L = np.zeros((len(theta), T, T))
    r, c = np.tril_indices(T)
    L[:, r, c] = theta
    d = np.arange(T)
    L[:, d, d] = np.exp(L[:, d, d])
    return L @ np.swapaxes(L, 1, 2)


class _Reml:
    """-2 REML criterion (up to a constant) for unstructured Sigma, for B datasets at once, from
    sufficient cross-products per missing-data pattern (each evaluation costs O(T^2 p^2))."""

    def __init__(self, prepared: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]], T: int) -> None:
        self.T, self.p = T, prepared[0][1].shape[1]
        B, p = len(prepared), self.p
        self.patterns: dict[int, list] = {}
        for b, (y, X, subj, vidx) in enumerate(prepared):
            n_sub = subj.max() + 1
            Ys = np.full((n_sub, T), np.nan)
            Xs = np.zeros((n_sub, T, p))
            Ys[subj, vidx] = y
            Xs[subj, vidx] = X
            obs = ~np.isnan(Ys)
            keys = obs @ (1 << np.arange(T))
            for key in np.unique(keys):
                rows = keys == key
                cols = np.flatnonzero(obs[rows][0])
                k = len(cols)
                if key not in self.patterns:
                    self.patterns[key] = [cols, np.zeros(B), np.zeros((B, k * k, p * p)), np.zeros((B, k * k, p)),
                                          np.zeros((B, k * k))]
                _, n, XX, XY, YY = self.patterns[key]
                Y, Xg = Ys[rows][:, cols], Xs[rows][:, cols, :]
                n[b] = len(Y)
                XX[b] = np.einsum("nap,nbq->abpq", Xg, Xg).reshape(k * k, p * p)
                XY[b] = np.einsum("nap,nb->abp", Xg, Y).reshape(k * k, p)
                YY[b] = np.einsum("na,nb->ab", Y, Y).ravel()

    def gls(self, theta: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(beta, X'V^-1X, sum log|Sigma_i|, y'V^-1y - b'X'V^-1y), each with a leading batch axis."""
        S = _sigma(theta, self.T)
        m, p = len(idx), self.p
        xvx, xvy = np.zeros((m, p * p)), np.zeros((m, p))
        yvy, logdet = np.zeros(m), np.zeros(m)
        for cols, n, XX, XY, YY in self.patterns.values():
            Ss = S[:, cols][:, :, cols]
            Si = np.linalg.inv(Ss).reshape(m, -1)
            logdet += n[idx] * np.linalg.slogdet(Ss)[1]
            xvx += np.einsum("bi,bij->bj", Si, XX[idx])
            xvy += np.einsum("bi,bij->bj", Si, XY[idx])
            yvy += np.einsum("bi,bi->b", Si, YY[idx])
        xvx = xvx.reshape(m, p, p)
        beta = np.linalg.solve(xvx, xvy[..., None])[..., 0]
        return beta, xvx, logdet, yvy - np.einsum("bp,bp->b", beta, xvy)

    def __call__(self, theta: np.ndarray, idx: np.ndarray) -> np.ndarray:
        try:
            _, xvx, logdet, rss = self.gls(theta, idx)
        except np.linalg.LinAlgError:
            return np.full(len(idx), np.inf)
        sign, ld = np.linalg.slogdet(xvx)
        out = logdet + ld + rss
        return np.where((sign > 0) & np.isfinite(out), out, np.inf)


class Mmrm:
    """MMRM on the visit frame (one row per participant and visit).

    Options: ``outcome`` (visit-frame column, e.g. "sdq_total"), ``visits`` (follow-up months, e.g.
    (6, 12); the last is the primary), ``baseline`` (participant column entering with a separate
    slope at each visit, e.g. "sdq_total_0"), ``covariates`` (common slopes: minimisation factors),
    ``subject`` and ``visit`` column names, ``level``.
    """

    def __init__(self, outcome: str, visits: Sequence[int] = (6, 12), baseline: str | None = None,
                 covariates: Sequence[str] = (), subject: str = "participant_id", visit: str = "visit_month",
                 level: float = 0.95) -> None:
        self.outcome, self.visits, self.baseline = outcome, tuple(int(v) for v in visits), baseline
        self.covariates, self.subject, self.visit, self.level = tuple(covariates), subject, visit, level

    def _design(self, data: pd.DataFrame, what: str) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray,
                                                                 np.ndarray, pd.DataFrame, list[str]]:
        cols = [self.subject, self.visit, self.outcome, TREAT, *self.covariates] + ([self.baseline] if self.baseline else [])
        require_columns(data, cols, what)
        d = data[cols][data[self.visit].isin(self.visits)]
        keep = d.notna().all(axis=1)
        warns = []
        if (~keep).sum():
            warns.append(f"{int((~keep).sum())} of {len(d)} visit rows have a missing outcome or covariate "
                         "and are left out (participants keep their other visits; valid under MAR)")
        d = d[keep]
        if d.duplicated([self.subject, self.visit]).any():
            dup = d[d.duplicated([self.subject, self.visit])].iloc[0]
            raise DataError(f"{what}: participant {dup[self.subject]!r} has two rows for visit {dup[self.visit]!r}; "
                            "the visit frame needs one row per participant and visit")
        tr = check_treat(d, what)
        present = [v for v in self.visits if (d[self.visit] == v).any()]
        if len(present) < len(self.visits):
            raise DataError(f"{what}: no observed outcome at visit(s) {sorted(set(self.visits) - set(present))}; "
                            "drop the visit from the plan or check the visit frame")
        vis = d[self.visit].to_numpy()
        V = np.column_stack([(vis == v).astype(float) for v in self.visits])
        blocks, names = [V], [f"visit{v}" for v in self.visits]
        for c in self.covariates:
            b, n = _encode(d[c], c, what)
            blocks.append(b)
            names += n
        blocks.append(V * tr[:, None])
        names += [f"visit{v}:{TREAT}" for v in self.visits]
        if self.baseline:
            base = d[self.baseline].to_numpy(dtype=float)
            blocks.append(V * base[:, None])
            names += [f"visit{v}:{self.baseline}" for v in self.visits]
        X = np.column_stack(blocks)
        _check_rank(X, names, what)
        for v in self.visits:
            for arm, val in ((ARM_INTERVENTION, 1), (ARM_CONTROL, 0)):
                if not ((vis == v) & (tr == val)).any():
                    raise DataError(f"{what}: arm '{arm}' has no outcome at visit {v}; the effect at that visit "
                                    "is not estimable")
        subj = pd.factorize(d[self.subject])[0]
        vidx = np.searchsorted(np.array(self.visits), vis)
        return d[self.outcome].to_numpy(dtype=float), X, names, subj, vidx, d, warns

    def fit(self, data: pd.DataFrame) -> EffectResult:
        return self.fit_many([data])[0]

    def fit_many(self, frames: Sequence[pd.DataFrame]) -> list[EffectResult]:
        """Fit the same model to many datasets at once (simulated trials); REML is optimised for all
        datasets together, so this is much faster than a loop over ``fit``."""
        what = f"MMRM of '{self.outcome}'"
        T = len(self.visits)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            prepared = [self._design(f, what) for f in frames]
            if len({len(p[2]) for p in prepared}) > 1:
                raise DataError(f"{what}: fit_many needs datasets with the same factor levels")
            crit = _Reml([pr[:2] + pr[3:5] for pr in prepared], T)
            starts = []
            for y, X, _, subj, vidx, _, _ in prepared:
                # start: Sigma from OLS residuals, covariances by available pairs
                R = np.full((subj.max() + 1, T), np.nan)
                R[subj, vidx] = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
                S0 = pd.DataFrame(R).cov().to_numpy()
                if not np.all(np.isfinite(S0)) or np.linalg.eigvalsh(S0).min() <= 0:
                    S0 = np.diag(np.nanvar(R, axis=0))
                L0 = np.linalg.cholesky(S0)
                L0[np.diag_indices(T)] = np.log(np.diag(L0))
                starts.append(L0[np.tril_indices(T)])
            B = len(prepared)
            allidx = np.arange(B)
            theta, ok = _reml.newton(crit, np.array(starts))
            beta, xvx, _, _ = crit.gls(theta, allidx)
            cov = np.linalg.inv(xvx)
            H = _reml.hessian(lambda z: crit(z, allidx), theta)
            A = 2 * np.linalg.inv(H)  # Var(theta-hat): inverse information = inverse of half the -2ll Hessian
            J = _reml.jacobian(lambda z: np.linalg.inv(crit.gls(z, allidx)[1]), theta)  # (B, p, p, k)
            sig = _sigma(theta, T)
            crit_val = crit(theta, allidx)
        caught_msgs = tuple(str(w.message) for w in caught)
        results = []
        for b, (y, _X, names, _, _, d, warns) in enumerate(prepared):
            w = list(warns)
            if not ok[b]:
                w.append("REML did not converge; check the estimates")
            if np.linalg.eigvalsh(H[b]).min() <= 0:
                w.append("the REML information is not positive definite: the covariance is at a boundary; "
                         "Satterthwaite df are unreliable")
            se = np.sqrt(np.diag(cov[b]))
            ests = []
            for v in reversed(self.visits):
                j = names.index(f"visit{v}:{TREAT}")
                g = J[b, j, j, :]
                df = float(2 * cov[b, j, j] ** 2 / (g @ A[b] @ g))
                ests.append(Estimate(f"month {v}", float(beta[b, j]), float(se[j]), df=df, level=self.level))
            tr = d[TREAT].to_numpy()
            n_an = {ARM_INTERVENTION: int(d[self.subject][tr == 1].nunique()),
                    ARM_CONTROL: int(d[self.subject][tr == 0].nunique())}
            results.append(EffectResult(
                model="MMRM (unstructured covariance, REML, Satterthwaite df)", outcome=self.outcome,
                estimates=tuple(ests), n_analysed=n_an,
                coefficients={n: (float(c), float(s)) for n, c, s in zip(names, beta[b], se, strict=True)},
                warnings=tuple(w) + caught_msgs,
                details={"covariance": sig[b].tolist(), "visits": list(self.visits),
                         "reml_criterion": float(crit_val[b]), "n_observations": len(y)}))
        return results
