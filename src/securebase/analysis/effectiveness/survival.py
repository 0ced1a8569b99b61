"""Time-to-event outcomes: Cox regression (Efron ties, strata), Kaplan-Meier and Aalen-Johansen.

Cox: Newton-Raphson on the Efron (1977) partial likelihood; for a tie block of ``d`` events at time
``t`` the l-th denominator is ``S0(t) - (l/d) E0(t)`` where ``S0`` sums ``exp(eta)`` over the risk set
of the stratum and ``E0`` over the tied events (Therneau & Grambsch 2000, s. 3.3). Strata have their
own baseline hazards. ``Var(beta)`` is the inverse information; hazard ratio ``exp(b_treat)`` with a
Wald interval. With competing events (``placement_end_event`` 2) the Cox model is cause-specific:
competing events are censored for the cause analysed.

Kaplan-Meier: ``S(t) = prod (1 - d_j / n_j)`` with Greenwood's variance
``S(t)^2 sum d_j / (n_j (n_j - d_j))``. Aalen-Johansen cumulative incidence of cause k:
``F_k(t) = sum_{t_j <= t} S(t_j-) d_kj / n_j`` with S the all-cause Kaplan-Meier
(Kalbfleisch & Prentice 2002, s. 8.2); equals ``cmprsk::cuminc`` and ``survfit`` multi-state estimates.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from securebase.analysis.effectiveness._design import (
    TREAT,
    design_with_subgroup,
    factor_level_events,
    is_factor,
)
from securebase.analysis.effectiveness._result import EffectResult, Estimate
from securebase.analysis.schema import ARM_CONTROL, ARM_INTERVENTION
from securebase.errors import DataError


def _efron_terms(beta: np.ndarray, X: np.ndarray, ev: np.ndarray, block: np.ndarray, last: np.ndarray,
                 stratum_start: np.ndarray, ev_rows: np.ndarray, ev_block: np.ndarray, ev_frac: np.ndarray
                 ) -> tuple[float, np.ndarray, np.ndarray]:
    """Log partial likelihood, score and information (rows sorted by stratum, time descending)."""
    eta = X @ beta
    r = np.exp(eta - eta.max())
    rx = r[:, None] * X
    rxx = rx[:, :, None] * X[:, None, :]

    def risk(v: np.ndarray) -> np.ndarray:
        # sum over the risk set {time >= t, same stratum}: rows sorted by stratum, time descending
        cs = np.concatenate([np.zeros((1, *v.shape[1:])), np.cumsum(v, axis=0)])
        return cs[last + 1] - cs[stratum_start[last]]

    s0, s1, s2 = risk(r), risk(rx), risk(rxx)
    nb = len(last)
    e0 = np.bincount(block[ev_rows], weights=r[ev_rows], minlength=nb)
    e1 = np.zeros((nb, X.shape[1]))
    np.add.at(e1, block[ev_rows], rx[ev_rows])
    e2 = np.zeros((nb, X.shape[1], X.shape[1]))
    np.add.at(e2, block[ev_rows], rxx[ev_rows])
    f = ev_frac
    den = s0[ev_block] - f * e0[ev_block]
    a1 = (s1[ev_block] - f[:, None] * e1[ev_block]) / den[:, None]
    a2 = (s2[ev_block] - f[:, None, None] * e2[ev_block]) / den[:, None, None]
    ll = float(np.sum(eta[ev_rows]) - np.sum(np.log(den) + eta.max()))
    score = X[ev_rows].sum(axis=0) - a1.sum(axis=0)
    info = (a2 - a1[:, :, None] * a1[:, None, :]).sum(axis=0)
    return ll, score, info


def cox_fit(time: np.ndarray, event: np.ndarray, X: np.ndarray, strata: np.ndarray | None = None,
            tol: float = 1e-13, max_iter: int = 50) -> tuple[np.ndarray, np.ndarray, float, bool]:
    """Cox model by Newton-Raphson: (beta, covariance, log partial likelihood, converged)."""
    n = len(time)
    s = np.zeros(n, dtype=int) if strata is None else strata
    order = np.lexsort((-time, s))
    time, event, X, s = time[order], event[order], X[order], s[order]
    new_block = np.r_[True, (time[1:] != time[:-1]) | (s[1:] != s[:-1])]
    block = np.cumsum(new_block) - 1
    last = np.r_[np.flatnonzero(new_block)[1:] - 1, n - 1]
    new_stratum = np.r_[True, s[1:] != s[:-1]]
    stratum_start = np.maximum.accumulate(np.where(new_stratum, np.arange(n), 0))
    ev_rows = np.flatnonzero(event == 1)
    ev_block = block[ev_rows]
    d = np.bincount(ev_block, minlength=len(last))[ev_block]
    # position of each event within its tie block: 0..d-1
    first_in_block = np.r_[True, ev_block[1:] != ev_block[:-1]]
    idx = np.arange(len(ev_rows))
    l_idx = idx - np.maximum.accumulate(np.where(first_in_block, idx, 0))
    frac = l_idx / d
    beta = np.zeros(X.shape[1])
    ll, score, info = _efron_terms(beta, X, event, block, last, stratum_start, ev_rows, ev_block, frac)
    converged = False
    for _ in range(max_iter):
        step = np.linalg.solve(info, score)
        new = beta + step
        ll_new, sc_new, inf_new = _efron_terms(new, X, event, block, last, stratum_start, ev_rows, ev_block, frac)
        halvings = 0
        while ll_new < ll - 1e-10 and halvings < 30:
            step /= 2
            new = beta + step
            ll_new, sc_new, inf_new = _efron_terms(new, X, event, block, last, stratum_start, ev_rows,
                                                   ev_block, frac)
            halvings += 1
        done = abs(ll_new - ll) <= tol * max(1.0, abs(ll))
        beta, ll, score, info = new, ll_new, sc_new, inf_new
        if done:
            converged = True
            break
    return beta, np.linalg.inv(info), ll, converged


def _risk_table(time: np.ndarray, status: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct event times, numbers at risk just before each, and row index into them per event."""
    t, inv = np.unique(time[status > 0], return_inverse=True)
    n_risk = len(time) - np.searchsorted(np.sort(time), t, side="left")
    return t, n_risk.astype(float), inv


def kaplan_meier(time: np.ndarray, event: np.ndarray) -> pd.DataFrame:
    """Kaplan-Meier survival at each distinct event time with Greenwood standard error."""
    time, event = np.asarray(time, float), np.asarray(event)
    t, n_risk, inv = _risk_table(time, event)
    d = np.bincount(inv, minlength=len(t)).astype(float)
    surv = np.cumprod(1 - d / n_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        gw = np.cumsum(d / (n_risk * (n_risk - d)))
        se = np.where(surv > 0, surv * np.sqrt(gw), np.nan)
    return pd.DataFrame({"time": t, "n_risk": n_risk, "n_event": d, "survival": surv, "se": se})


def aalen_johansen(time: np.ndarray, status: np.ndarray, cause: int) -> pd.DataFrame:
    """Cumulative incidence of ``cause`` (status 0 censored, other codes competing events)."""
    time, status = np.asarray(time, float), np.asarray(status)
    t, n_risk, inv = _risk_table(time, status)
    d_all = np.bincount(inv, minlength=len(t)).astype(float)
    d_k = np.bincount(inv, weights=(status[status > 0] == cause).astype(float), minlength=len(t))
    surv_before = np.r_[1.0, np.cumprod(1 - d_all / n_risk)[:-1]]
    return pd.DataFrame({"time": t, "n_risk": n_risk, "n_event": d_k,
                         "cumulative_incidence": np.cumsum(surv_before * d_k / n_risk)})


class Cox:
    """Cox proportional-hazards regression (Efron ties), optionally stratified.

    Options: ``time`` and ``event`` columns, ``event_code`` (the cause analysed; other non-zero codes
    are competing events, censored for a cause-specific model), ``covariates``, ``strata`` (columns
    whose combinations get separate baseline hazards), ``level``, ``horizon`` (days at which the
    Kaplan-Meier and cumulative-incidence curves are summarised in ``details``).
    """

    def __init__(self, time: str, event: str, covariates: Sequence[str] = (), strata: Sequence[str] = (),
                 event_code: int = 1, level: float = 0.95, horizon: float | None = None,
                 interaction: str | None = None) -> None:
        self.time, self.event, self.event_code, self.interaction = time, event, event_code, interaction
        self.covariates, self.strata = tuple(covariates), tuple(strata)
        self.level, self.horizon = level, horizon

    def fit(self, data: pd.DataFrame) -> EffectResult:
        what = f"Cox regression of '{self.time}'"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            d, covs = design_with_subgroup(data, self.time, self.covariates, self.interaction, what=what, intercept=False, extra_required=[self.event, *self.strata])
            sub = data.loc[d.rows]
            status = sub[self.event].to_numpy(dtype=float)
            if (d.y < 0).any():
                raise DataError(f"{what}: times must be >= 0 (got {d.y[d.y < 0][0]!r})")
            if not np.isin(status, np.arange(0, 10)).all():
                raise DataError(f"{what}: event codes must be 0 (censored), {self.event_code} (event) or another "
                                f"whole number for a competing event (got {status[~np.isin(status, np.arange(10))][0]!r})")
            ev = (status == self.event_code).astype(float)
            factor_level_events(sub.assign(_arm=np.where(d.treat == 1, ARM_INTERVENTION, ARM_CONTROL)), ev,
                                ["_arm", *[c for c in covs if is_factor(sub[c])]], what,
                                all_events_ok=True)
            strata = None
            warns: list[str] = []
            if self.strata:
                strata = sub.groupby(list(self.strata), sort=True, dropna=False).ngroup().to_numpy()
                no_ev = [k for k in np.unique(strata) if ev[strata == k].sum() == 0]
                if no_ev:
                    warns.append(f"{len(no_ev)} strata have no events and contribute nothing to the fit")
            beta, cov, ll, ok = cox_fit(d.y, ev, d.X, strata)
            if not ok:
                warns.append("Newton-Raphson did not converge in 50 iterations")
            if not np.all(np.isfinite(beta)) or np.any(np.abs(beta) > 20):
                raise DataError(f"{what}: coefficients diverge (monotone likelihood: a covariate pattern "
                                "has no events); merge sparse levels or drop covariates")
        se = np.sqrt(np.diag(cov))
        j = d.names.index(TREAT)
        details: dict[str, object] = {"log_partial_likelihood": ll, "events": int(ev.sum()), "ties": "Efron",
                                      "event_code": self.event_code, "strata": list(self.strata)}
        curves: dict[str, dict[str, object]] = {}
        for arm, val in ((ARM_INTERVENTION, 1), (ARM_CONTROL, 0)):
            m = d.treat == val
            km = kaplan_meier(d.y[m], ev[m])
            aj = aalen_johansen(d.y[m], status[m].astype(int), self.event_code)
            curves[arm] = {"kaplan_meier": {c: km[c].to_numpy().tolist() for c in km.columns},
                           "cumulative_incidence": {c: aj[c].to_numpy().tolist() for c in aj.columns}}
            if self.horizon is not None:
                k = km[km.time <= self.horizon]
                a = aj[aj.time <= self.horizon]
                curves[arm]["at_horizon"] = {
                    "time": self.horizon, "survival": float(k.survival.iloc[-1]) if len(k) else 1.0,
                    "cumulative_incidence": float(a.cumulative_incidence.iloc[-1]) if len(a) else 0.0}
        details["curves"] = curves
        ests = [Estimate("hazard ratio", float(beta[j]), float(se[j]), transform="exp", level=self.level)]
        if self.interaction:
            from securebase.analysis.effectiveness.subgroups import interaction_estimates
            extra, test = interaction_estimates(d, beta, cov, self.interaction, data, df=None, level=self.level,
                                                f_test=False, transform="exp")
            ests += extra
            details["interaction_test"] = test
        return EffectResult(
            model="Cox regression (Efron ties)" + (" stratified by " + ", ".join(self.strata) if self.strata else ""),
            outcome=f"{self.time} (event {self.event}={self.event_code})",
            estimates=tuple(ests),
            n_analysed=d.n_analysed,
            coefficients={n: (float(b), float(s)) for n, b, s in zip(d.names, beta, se, strict=True)},
            warnings=d.warnings + tuple(str(w.message) for w in caught) + tuple(warns), details=details)
