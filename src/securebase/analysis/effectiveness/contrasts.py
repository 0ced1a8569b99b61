"""k-arm comparisons: an arm factor with a declared reference, contrasts, a global test and Dunnett.

``KArmAncova(outcome, covariates, arm="arm", reference="usual_care", contrasts=...)`` fits one linear model
``y = b0 + sum_a b_a [arm = a] + covariates`` (treatment coding against the reference, as R's
``lm(y ~ relevel(arm, ref) + ...)``), so every contrast shares one residual variance and the covariance of
the contrast estimates is ``C Var(b) C'``. A contrast ``treatment vs control`` is ``b_treatment - b_control``
(``b_reference = 0``). The global test is the F test of all arm coefficients (k - 1 numerator df).

Dunnett's single-step many-to-one procedure (Dunnett 1955; Hothorn, Bretz & Westfall 2008) adjusts the
family of contrasts with the joint distribution of their t statistics, a multivariate t with the contrasts'
correlation matrix and the residual df: adjusted ``p_j = 1 - P(max_i |T_i| < |t_j|)`` and simultaneous
intervals ``est +/- c se`` with ``P(max |T_i| < c) = 1 - alpha``. Two contrasts: the probability is a
one-dimensional integral over the t's scale of a bivariate normal rectangle (scipy's exact bivariate
normal), so the numerical error is far below 1e-6; more contrasts: scipy.stats.multivariate_t (randomised
quasi-Monte Carlo with a fixed seed, error about 1e-5). Checked against R ``multcomp::glht`` in
tests/reference/effectiveness/dunnett.R.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from securebase.analysis.effectiveness._design import build_design
from securebase.analysis.effectiveness.ancova import ols
from securebase.errors import DataError


@dataclass(frozen=True)
class ContrastSpec:
    id: str
    treatment: str
    control: str
    label: str = ""


def many_to_one(levels: Sequence[str], reference: str) -> tuple[ContrastSpec, ...]:
    """Each level against ``reference`` (Dunnett's family)."""
    return tuple(ContrastSpec(f"{a}_vs_{reference}", a, reference, f"{a} vs {reference}")
                 for a in levels if a != reference)


def check_contrasts(levels: Sequence[str], reference: str, contrasts: Sequence[ContrastSpec],
                    where: str = "contrasts") -> None:
    """Errors name the field: an unknown reference level, a contrast naming an unknown arm."""
    if reference not in levels:
        raise DataError(f"reference is '{reference}', which is not an arm level; expected one of {list(levels)}")
    for i, c in enumerate(contrasts):
        for side in ("treatment", "control"):
            v = getattr(c, side)
            if v not in levels:
                raise DataError(f"{where}[{i}] ('{c.id}').{side} names arm '{v}', which is not an arm; "
                                f"expected one of {list(levels)}")
        if c.treatment == c.control:
            raise DataError(f"{where}[{i}] ('{c.id}') compares arm '{c.treatment}' with itself")


@dataclass(frozen=True)
class ContrastEstimate:
    id: str
    label: str
    treatment: str
    control: str
    estimate: float
    se: float
    df: float
    level: float
    p_value: float
    ci: tuple[float, float]
    adjusted_p: float | None = None
    simultaneous_ci: tuple[float, float] | None = None

    @property
    def t(self) -> float:
        return self.estimate / self.se

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "treatment": self.treatment, "control": self.control,
                "estimate": self.estimate, "se": self.se, "df": self.df, "level": self.level, "t": self.t,
                "p_value": self.p_value, "ci": list(self.ci), "adjusted_p": self.adjusted_p,
                "simultaneous_ci": None if self.simultaneous_ci is None else list(self.simultaneous_ci)}


@dataclass(frozen=True)
class KArmResult:
    outcome: str
    reference: str
    levels: tuple[str, ...]
    contrasts: tuple[ContrastEstimate, ...]
    covariance: np.ndarray
    df: float
    global_test: dict[str, float]
    n_analysed: dict[str, int]
    arm_means: dict[str, float]
    method: str = "none"
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def correlation(self) -> np.ndarray:
        s = np.sqrt(np.diag(self.covariance))
        return self.covariance / np.outer(s, s)

    def contrast(self, cid: str) -> ContrastEstimate:
        return next(c for c in self.contrasts if c.id == cid)

    def to_dict(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "reference": self.reference, "levels": list(self.levels),
                "contrasts": [c.to_dict() for c in self.contrasts], "df": self.df,
                "correlation": self.correlation.round(12).tolist(), "global_test": self.global_test,
                "n_analysed": self.n_analysed, "arm_means": self.arm_means, "method": self.method,
                "details": self.details}


class KArmAncova:
    """Linear model with an arm factor (reference level declared) and covariates."""

    def __init__(self, outcome: str, covariates: Sequence[str] = (), *, arm: str = "arm",
                 reference: str = "usual_care", levels: Sequence[str] | None = None,
                 contrasts: Sequence[ContrastSpec] | None = None, level: float = 0.95) -> None:
        self.outcome, self.covariates, self.arm = outcome, tuple(covariates), arm
        self.reference, self.levels, self.level = reference, tuple(levels) if levels else None, level
        self.contrasts = tuple(contrasts) if contrasts else None

    def fit(self, data: pd.DataFrame) -> KArmResult:
        what = f"k-arm ANCOVA of '{self.outcome}'"
        if self.arm not in data.columns:
            raise DataError(f"{what}: the dataset has no arm column '{self.arm}'")
        levels = self.levels or tuple(sorted(str(v) for v in pd.unique(data[self.arm].dropna())))
        contrasts = self.contrasts or many_to_one(levels, self.reference)
        check_contrasts(levels, self.reference, contrasts)
        d = build_design(data, self.outcome, self.covariates, what=what, treat=False, extra_required=[self.arm])
        arm = data.loc[d.rows, self.arm].astype(str).to_numpy()
        others = [a for a in levels if a != self.reference]
        for a in levels:
            if not (arm == a).any():
                raise DataError(f"{what}: arm '{a}' has no participants with complete data")
        dummies = np.column_stack([(arm == a).astype(float) for a in others])
        X = np.column_stack([d.X[:, :1], dummies, d.X[:, 1:]])
        beta, cov_b, s2, df = ols(d.y, X)
        k1 = len(others)
        b_arm, v_arm = beta[1:1 + k1], cov_b[1:1 + k1, 1:1 + k1]
        C = np.zeros((len(contrasts), k1))
        for i, c in enumerate(contrasts):
            if c.treatment != self.reference:
                C[i, others.index(c.treatment)] += 1
            if c.control != self.reference:
                C[i, others.index(c.control)] -= 1
        est, vc = C @ b_arm, C @ v_arm @ C.T
        se = np.sqrt(np.diag(vc))
        q = stats.t.ppf(0.5 + self.level / 2, df)
        out = []
        for i, c in enumerate(contrasts):
            t = est[i] / se[i]
            out.append(ContrastEstimate(c.id, c.label or f"{c.treatment} vs {c.control}", c.treatment, c.control,
                                        float(est[i]), float(se[i]), float(df), self.level,
                                        float(2 * stats.t.sf(abs(t), df)), (float(est[i] - q * se[i]),
                                                                            float(est[i] + q * se[i]))))
        F = float(b_arm @ np.linalg.solve(v_arm, b_arm) / k1)
        glob = {"F": F, "df1": float(k1), "df2": float(df), "p_value": float(stats.f.sf(F, k1, df))}
        n = {a: int((arm == a).sum()) for a in levels}
        means = {a: float(d.y[arm == a].mean()) for a in levels}
        return KArmResult(self.outcome, self.reference, tuple(levels), tuple(out), vc, float(df), glob, n, means,
                          details={"residual_sd": float(np.sqrt(s2)), "coefficients": dict(zip(
                              ["(Intercept)", *(f"{self.arm}{a}" for a in others), *d.names[1:]],
                              map(float, beta), strict=True))})


# -- Dunnett's single-step procedure ----------------------------------------------------------------
_GL_S = np.polynomial.legendre.leggauss(96)
_GL_U = np.polynomial.legendre.leggauss(40)
_SQRT2PI = np.sqrt(2 * np.pi)


def _gl(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [lo, hi] (broadcast over lo's shape)."""
    nodes, weights = _GL_U
    half = (hi - lo)[..., None] / 2
    return lo[..., None] + half * (nodes + 1), half * weights


def _normal_box(x: np.ndarray, L: np.ndarray) -> np.ndarray:
    """P(max_i |Z_i| < x) for Z = L U, U standard normal, for each x (m = 2 or 3): sequential conditioning
    on U_1 (and U_2), each by 40-point Gauss-Legendre between its limits, the last coordinate in closed form."""
    m = L.shape[0]

    def phi(u: np.ndarray) -> np.ndarray:
        return np.exp(-u * u / 2) / _SQRT2PI

    u1, w1 = _gl(-x / L[0, 0], x / L[0, 0])
    if m == 2:
        inner = special.ndtr((x[:, None] - L[1, 0] * u1) / L[1, 1]) - special.ndtr((-x[:, None] - L[1, 0] * u1) / L[1, 1])
        return (phi(u1) * inner * w1).sum(axis=-1)
    xx = x[:, None]
    u2, w2 = _gl((-xx - L[1, 0] * u1) / L[1, 1], (xx - L[1, 0] * u1) / L[1, 1])
    mid = L[2, 0] * u1[..., None] + L[2, 1] * u2
    inner = special.ndtr((xx[..., None] - mid) / L[2, 2]) - special.ndtr((-xx[..., None] - mid) / L[2, 2])
    return (phi(u1) * w1 * (phi(u2) * inner * w2).sum(axis=-1)).sum(axis=-1)


def _box_prob_t(c: float, corr: np.ndarray, df: float) -> float:
    """P(max_i |T_i| < c) for a multivariate t (m = 2 or 3): T = Z / S with S = sqrt(W / df), W ~ chi^2(df);
    the normal box probability at c s integrated over S's density (96-point Gauss-Legendre between S's
    1e-15 and 1 - 1e-15 quantiles)."""
    L = np.linalg.cholesky(corr)
    if not np.isfinite(df):
        return float(_normal_box(np.array([c]), L)[0])
    chi = stats.chi(df)
    lo, hi = chi.ppf(1e-15) / np.sqrt(df), chi.isf(1e-15) / np.sqrt(df)
    nodes, weights = _GL_S
    s = lo + (hi - lo) * (nodes + 1) / 2
    dens = chi.pdf(s * np.sqrt(df)) * np.sqrt(df)
    return float((_normal_box(c * s, L) * dens) @ weights * (hi - lo) / 2)


def max_abs_t_cdf(c: float, corr: np.ndarray, df: float, *, seed: int = 20261202) -> float:
    """P(max_i |T_i| < c) for a multivariate t (correlation ``corr``, ``df``): quadrature for up to three
    contrasts, scipy's randomised quasi-Monte Carlo beyond."""
    m = corr.shape[0]
    if m == 1:
        return float(1 - 2 * stats.t.sf(c, df))
    if m <= 3:
        return _box_prob_t(c, corr, df)
    dist = stats.multivariate_t(loc=np.zeros(m), shape=corr, df=df if np.isfinite(df) else 1e9)
    return float(dist.cdf(np.full(m, c), lower_limit=np.full(m, -c), maxpts=500_000 * m,
                          random_state=np.random.default_rng(seed)))


def dunnett(result: KArmResult, alpha: float | None = None) -> KArmResult:
    """Single-step adjusted p-values and simultaneous intervals (level of the fit) for every contrast."""
    corr, df = result.correlation, result.df
    level = result.contrasts[0].level if alpha is None else 1 - alpha
    m = len(result.contrasts)
    lo = float(stats.t.ppf(1 - (1 - level) / 2, df))  # no adjustment: the critical value lies between these
    hi = float(stats.t.ppf(1 - (1 - level) / (2 * m), df)) + 1e-6  # Bonferroni
    crit = optimize.brentq(lambda c: max_abs_t_cdf(c, corr, df) - level, lo, hi, xtol=1e-10)
    out = []
    for c in result.contrasts:
        adj = min(1.0, max(0.0, 1 - max_abs_t_cdf(abs(c.t), corr, df)))
        out.append(ContrastEstimate(**{**c.__dict__, "adjusted_p": adj,
                                       "simultaneous_ci": (c.estimate - crit * c.se, c.estimate + crit * c.se)}))
    return KArmResult(**{**result.__dict__, "contrasts": tuple(out), "method": "dunnett",
                         "details": {**result.details, "critical_value": crit}})
