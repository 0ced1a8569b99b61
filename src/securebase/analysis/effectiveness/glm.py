"""Generalised linear models by iteratively reweighted least squares (IRLS).

Fisher scoring for the canonical-link binomial (logit) and Poisson (log) families and the log-link
negative binomial with known ``theta`` (variance ``mu + mu^2/theta``):
``beta <- (X'WX)^-1 X'W z``, ``z = eta + (y - mu) g'(mu)``, ``W = 1 / (g'(mu)^2 V(mu))``,
iterated until the deviance changes by less than ``tol`` relative (McCullagh & Nelder 1989, ch. 2).
``Var(beta) = (X'WX)^-1`` (dispersion 1), as R's ``glm`` reports for these families.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from securebase.errors import DataError


@dataclass(frozen=True)
class GlmFit:
    beta: np.ndarray
    cov: np.ndarray
    mu: np.ndarray
    deviance: float
    iterations: int
    converged: bool


def _mu_var(family: str, eta: np.ndarray, theta: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, IRLS working weight and d mu / d eta for each family (logit / log links)."""
    if family == "binomial":
        mu = special.expit(eta)
        return mu, mu * (1 - mu), mu * (1 - mu)
    mu = np.exp(eta)
    if family == "poisson":
        return mu, mu, mu
    return mu, mu / (1 + mu / theta), mu  # negative binomial, log link: W = mu^2 / (mu + mu^2/theta)


def deviance(family: str, y: np.ndarray, mu: np.ndarray, theta: float = np.inf) -> float:
    if family == "binomial":
        return float(-2 * np.sum(special.xlogy(y, mu) + special.xlogy(1 - y, 1 - mu)))
    ylogy = special.xlogy(y, y / mu)
    if family == "poisson":
        return float(2 * np.sum(ylogy - (y - mu)))
    return float(2 * np.sum(ylogy - (y + theta) * np.log((y + theta) / (mu + theta))))


def irls(y: np.ndarray, X: np.ndarray, family: str, *, theta: float = np.inf, start: np.ndarray | None = None,
         offset: np.ndarray | None = None, tol: float = 1e-12, max_iter: int = 100, what: str = "GLM") -> GlmFit:
    off = np.zeros_like(y) if offset is None else offset
    if start is None:
        if family == "binomial":
            mu0 = (y + 0.5) / 2
            eta = np.log(mu0 / (1 - mu0))
        else:
            eta = np.log(y + 0.1)
        mu, w, dmu = _mu_var(family, eta, theta)
        z = eta - off + (y - mu) / dmu
        beta = np.linalg.lstsq(X * np.sqrt(w)[:, None], z * np.sqrt(w), rcond=None)[0]
    else:
        beta = start.copy()
    dev_old = np.inf
    converged = False
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007
        eta = X @ beta + off
        mu, w, dmu = _mu_var(family, eta, theta)
        z = eta - off + (y - mu) / dmu
        sw = np.sqrt(w)
        beta = np.linalg.lstsq(X * sw[:, None], z * sw, rcond=None)[0]
        dev = deviance(family, y, _mu_var(family, X @ beta + off, theta)[0], theta)
        if abs(dev - dev_old) / (abs(dev) + 0.1) < tol:
            converged = True
            break
        dev_old = dev
    eta = X @ beta + off
    mu, w, _ = _mu_var(family, eta, theta)
    if not np.all(np.isfinite(beta)) or (family == "binomial" and np.max(np.abs(eta - off)) > 30):
        raise DataError(f"{what}: the model did not converge to finite estimates (separation: some "
                        "combination of covariates predicts the outcome perfectly); merge sparse factor "
                        "levels or drop covariates")
    cov = np.linalg.inv((X * w[:, None]).T @ X)
    return GlmFit(beta=beta, cov=cov, mu=mu, deviance=deviance(family, y, mu, theta), iterations=it,
                  converged=converged)
