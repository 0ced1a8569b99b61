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


class _Reml:
    """REML criterion for unstructured Sigma, vectorised over missing-data patterns."""

    def __init__(self, y: np.ndarray, X: np.ndarray, subj: np.ndarray, vidx: np.ndarray, T: int) -> None:
        self.T, self.p = T, X.shape[1]
        self.N = len(y)
        n_sub = subj.max() + 1
        Ys = np.full((n_sub, T), np.nan)
        Xs = np.zeros((n_sub, T, self.p))
        Ys[subj, vidx] = y
        Xs[subj, vidx] = X
        obs = ~np.isnan(Ys)
        self.groups = []
        keys = obs @ (1 << np.arange(T))
        for key in np.unique(keys):
            rows = keys == key
            cols = np.flatnonzero(obs[rows][0])
            self.groups.append((cols, Ys[rows][:, cols], Xs[rows][:, cols, :]))

    @staticmethod
    def sigma(theta: np.ndarray, T: int) -> np.ndarray:
        L = np.zeros((T, T))
        L[np.tril_indices(T)] = theta
        L[np.diag_indices(T)] = np.exp(np.diag(L))
        return L @ L.T

    def gls(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
        """(beta, X'V^-1X, sum log|Sigma_i|, y'V^-1y - b'X'V^-1y)."""
        S = self.sigma(theta, self.T)
        xvx = np.zeros((self.p, self.p))
        xvy = np.zeros(self.p)
        yvy = 0.0
        logdet = 0.0
        for cols, Y, Xg in self.groups:
            Si = np.linalg.inv(S[np.ix_(cols, cols)])
            logdet += len(Y) * np.linalg.slogdet(S[np.ix_(cols, cols)])[1]
            SX = np.einsum("ab,nbp->nap", Si, Xg)
            xvx += np.einsum("nap,naq->pq", Xg, SX)
            xvy += np.einsum("nap,na->p", SX, Y)
            yvy += float(np.einsum("na,ab,nb->", Y, Si, Y))
        beta = np.linalg.solve(xvx, xvy)
        return beta, xvx, logdet, yvy - float(beta @ xvy)

    def __call__(self, theta: np.ndarray) -> float:
        try:
            _, xvx, logdet, rss = self.gls(theta)
        except np.linalg.LinAlgError:
            return np.inf
        return logdet + np.linalg.slogdet(xvx)[1] + rss


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
        what = f"MMRM of '{self.outcome}'"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            y, X, names, subj, vidx, d, warns = self._design(data, what)
            T = len(self.visits)
            crit = _Reml(y, X, subj, vidx, T)
            # start: Sigma from OLS residuals, covariances by available pairs
            beta0 = np.linalg.lstsq(X, y, rcond=None)[0]
            R = np.full((subj.max() + 1, T), np.nan)
            R[subj, vidx] = y - X @ beta0
            S0 = pd.DataFrame(R).cov().to_numpy()
            if not np.all(np.isfinite(S0)) or np.linalg.eigvalsh(S0).min() <= 0:
                S0 = np.diag(np.nanvar(R, axis=0))
            L0 = np.linalg.cholesky(S0)
            L0[np.diag_indices(T)] = np.log(np.diag(L0))
            theta, ok = _reml.minimise(crit, L0[np.tril_indices(T)])
            beta, xvx, _, _ = crit.gls(theta)
            cov = np.linalg.inv(xvx)
            H = _reml.hessian(crit, theta)
            A = 2 * np.linalg.inv(H)  # Var(theta-hat): inverse of the information, -2ll Hessian / 2

            def cov_of(th: np.ndarray) -> np.ndarray:
                return np.linalg.inv(crit.gls(th)[1])

            J = _reml.jacobian(lambda th: cov_of(th).ravel(), theta)
        if not ok:
            warns.append("the REML optimiser reported non-convergence; check the estimates")
        if np.linalg.eigvalsh(H).min() <= 0:
            warns.append("the REML information is not positive definite: the covariance is at a boundary; "
                         "Satterthwaite df are unreliable")
        se = np.sqrt(np.diag(cov))
        p = X.shape[1]
        ests = []
        for v in reversed(self.visits):
            j = names.index(f"visit{v}:{TREAT}")
            g = J.reshape(p, p, -1)[j, j, :]
            df = float(2 * cov[j, j] ** 2 / (g @ A @ g))
            ests.append(Estimate(f"month {v}", float(beta[j]), float(se[j]), df=df, level=self.level))
        sig = crit.sigma(theta, T)
        tr = d[TREAT].to_numpy()
        n_an = {ARM_INTERVENTION: int(d[self.subject][tr == 1].nunique()),
                ARM_CONTROL: int(d[self.subject][tr == 0].nunique())}
        return EffectResult(
            model="MMRM (unstructured covariance, REML, Satterthwaite df)", outcome=self.outcome,
            estimates=tuple(ests), n_analysed=n_an,
            coefficients={n: (float(b), float(s)) for n, b, s in zip(names, beta, se, strict=True)},
            warnings=tuple(warns) + tuple(str(w.message) for w in caught),
            details={"covariance": sig.tolist(), "visits": list(self.visits),
                     "reml_criterion": float(crit(theta)), "n_observations": len(y)})
