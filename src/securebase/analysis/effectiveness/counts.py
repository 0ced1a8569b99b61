"""Count outcomes (e.g. school exclusions in 12 months): Poisson and negative binomial regression.

Both report the adjusted rate ratio ``exp(b_treat)`` with a Wald interval. The negative binomial
(variance ``mu + mu^2/theta``) is fitted by maximum likelihood jointly in ``beta`` and ``theta``,
alternating IRLS for ``beta`` at fixed ``theta`` with Newton steps for ``theta`` at fixed ``mu``
until both settle, as R ``MASS::glm.nb`` does (Venables & Ripley 2002, s. 7.4). The theta score and
observed information are
``U = sum[psi(theta+y) - psi(theta) + log(theta) + 1 - log(theta+mu) - (y+theta)/(mu+theta)]`` and
``I = sum[-psi'(theta+y) + psi'(theta) - 1/theta + 2/(mu+theta) - (y+theta)/(mu+theta)^2]``;
``SE(theta) = I^-1/2`` (psi' = trigamma, computed as the Hurwitz zeta(2, .)); coefficient SEs are those of the GLM at the fitted theta.
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
from securebase.analysis.effectiveness.glm import GlmFit, irls
from securebase.errors import DataError


def theta_ml(y: np.ndarray, mu: np.ndarray, theta0: float | None = None, tol: float = 1e-12,
             max_iter: int = 200) -> tuple[float, float, bool]:
    """Maximum-likelihood theta at fixed means; returns (theta, se, converged)."""
    th = float(len(y) / np.sum((y / mu - 1) ** 2)) if theta0 is None else theta0
    for _ in range(max_iter):
        score = np.sum(special.digamma(th + y) - special.digamma(th) + np.log(th) + 1
                       - np.log(th + mu) - (y + th) / (mu + th))
        info = np.sum(-special.zeta(2, th + y) + special.zeta(2, th) - 1 / th
                      + 2 / (mu + th) - (y + th) / (mu + th) ** 2)
        step = score / info
        new = th + step
        if new <= 0 or not np.isfinite(new):
            new = th / 2 if step < 0 else th * 2
        if abs(new - th) <= tol * max(1.0, th):
            th = new
            break
        th = new
        if th > 1e8:
            return th, float("nan"), False
    else:
        return th, float("nan"), False
    info = np.sum(-special.zeta(2, th + y) + special.zeta(2, th) - 1 / th
                  + 2 / (mu + th) - (y + th) / (mu + th) ** 2)
    return th, float(1 / np.sqrt(info)) if info > 0 else float("nan"), True


def fit_negbin(y: np.ndarray, X: np.ndarray, offset: np.ndarray | None = None, what: str = "negative binomial",
               max_outer: int = 100) -> tuple[GlmFit, float, float, list[str]]:
    """Joint ML fit: (glm fit at theta-hat, theta, se(theta), warnings)."""
    warns: list[str] = []
    pois = irls(y, X, "poisson", offset=offset, what=what)
    fit = pois
    th, th_se, ok = theta_ml(y, pois.mu)
    for _ in range(max_outer):
        if not ok:
            break
        fit = irls(y, X, "negbin", theta=th, start=fit.beta, offset=offset, what=what)
        th_new, th_se, ok = theta_ml(y, fit.mu, th)
        if abs(th_new - th) <= 1e-11 * th:
            th = th_new
            break
        th = th_new
    if not ok:
        warns.append("theta did not converge to a finite value: the counts show no overdispersion; "
                     "use the Poisson model")
    else:
        fit = irls(y, X, "negbin", theta=th, start=fit.beta, offset=offset, what=what)
    return fit, th, th_se, warns


class _CountModel:
    family = "poisson"
    label = "Poisson regression"

    def __init__(self, outcome: str, covariates: Sequence[str] = (), exposure: str | None = None,
                 level: float = 0.95, interaction: str | None = None) -> None:
        self.outcome = outcome
        self.covariates = tuple(covariates)
        self.exposure = exposure
        self.level = level
        self.interaction = interaction

    def fit(self, data: pd.DataFrame) -> EffectResult:
        what = f"{self.label} of '{self.outcome}'"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            d, covs = design_with_subgroup(data, self.outcome, self.covariates, self.interaction, what=what, extra_required=[self.exposure] if self.exposure else ())
            if (d.y < 0).any() or not np.allclose(d.y, np.round(d.y)):
                raise DataError(f"{what}: outcome must be a non-negative whole-number count "
                                f"(got {d.y[(d.y < 0) | (d.y != np.round(d.y))][0]!r})")
            sub = data.loc[d.rows]
            factor_level_events(sub, (d.y > 0).astype(float), [c for c in covs if is_factor(sub[c])], what,
                                events_word="counts above zero", all_events_ok=True)
            offset = None
            if self.exposure:
                exp_ = sub[self.exposure].to_numpy(dtype=float)
                if (exp_ <= 0).any():
                    raise DataError(f"{what}: exposure '{self.exposure}' must be positive "
                                    f"(got {exp_[exp_ <= 0][0]!r})")
                offset = np.log(exp_)
            extra_warn: list[str] = []
            details: dict[str, object] = {}
            if self.family == "poisson":
                fit = irls(d.y, d.X, "poisson", offset=offset, what=what)
                disp = float(np.sum((d.y - fit.mu) ** 2 / fit.mu) / (len(d.y) - d.X.shape[1]))
                details["pearson_dispersion"] = disp
                if disp > 1.5:
                    extra_warn.append(f"Pearson dispersion {disp:.2f} > 1.5: the counts are overdispersed; "
                                      "Poisson standard errors are too small, use the negative binomial model")
            else:
                fit, theta, theta_se, extra_warn = fit_negbin(d.y, d.X, offset, what)
                details.update(theta=theta, theta_se=theta_se)
        se = np.sqrt(np.diag(fit.cov))
        j = d.names.index(TREAT)
        ests = [Estimate("rate ratio", float(fit.beta[j]), float(se[j]), transform="exp", level=self.level)]
        if self.interaction:
            from securebase.analysis.effectiveness.subgroups import interaction_estimates
            extra, test = interaction_estimates(d, fit.beta, fit.cov, self.interaction, data, df=None,
                                                level=self.level, f_test=False, transform="exp")
            ests += extra
            details["interaction_test"] = test
        details["deviance"] = fit.deviance
        return EffectResult(
            model=self.label, outcome=self.outcome, estimates=tuple(ests), n_analysed=d.n_analysed,
            coefficients={n: (float(b), float(s)) for n, b, s in zip(d.names, fit.beta, se, strict=True)},
            warnings=d.warnings + tuple(str(w.message) for w in caught) + tuple(extra_warn), details=details)


class Poisson(_CountModel):
    """Poisson regression: rate ratio. Options: outcome, covariates, exposure (offset log), level."""

    family = "poisson"
    label = "Poisson regression"


class NegativeBinomial(_CountModel):
    """Negative binomial (NB2) regression: rate ratio and theta. Options as :class:`Poisson`."""

    family = "negbin"
    label = "negative binomial regression"
