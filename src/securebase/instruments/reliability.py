"""Inter-rater reliability for double-coded observational ratings (blinded coders).

* :func:`icc`: the six intraclass correlations of Shrout & Fleiss (1979), named as in R
  ``psych::ICC`` (ICC1, ICC2, ICC3 for single raters; ICC1k, ICC2k, ICC3k for the mean of k raters),
  from the two-way ANOVA mean squares of an n subjects x k raters table (complete data):
  ``ICC1 = (MSB - MSW) / (MSB + (k-1) MSW)``, ``ICC2 = (MSB - MSE) / (MSB + (k-1) MSE + k (MSJ - MSE) / n)``,
  ``ICC3 = (MSB - MSE) / (MSB + (k-1) MSE)``, ``ICC1k = (MSB - MSW) / MSB``,
  ``ICC2k = (MSB - MSE) / (MSB + (MSJ - MSE) / n)``, ``ICC3k = (MSB - MSE) / MSB``; F tests and
  confidence intervals from McGraw & Wong (1996), Psychol Methods 1:30-46 (ICC2 by Satterthwaite df).
* :func:`weighted_kappa`: Cohen's (1968) weighted kappa for two raters with quadratic weights on the
  category index, as R ``psych::cohen.kappa`` (default weights), with the large-sample variance of
  Fleiss, Cohen & Everitt (1969), Psychol Bull 72:323-7.
* :func:`double_coding_sample`: a seeded random sample of recordings to be coded twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy import stats

from securebase.errors import DataError

ICC_TYPES = ("ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k")


@dataclass(frozen=True)
class ICCResult:
    """All six ICC forms with F, degrees of freedom, p-value and a (1 - alpha) confidence interval."""

    n_subjects: int
    n_raters: int
    alpha: float
    values: dict[str, float]
    f: dict[str, float]
    df1: dict[str, float]
    df2: dict[str, float]
    p: dict[str, float]
    lower: dict[str, float]
    upper: dict[str, float]
    mean_squares: dict[str, float]
    warnings: tuple[str, ...] = field(default=())

    def __getitem__(self, name: str) -> float:
        return self.values[name]

    def summary(self) -> str:
        lines = [f"Intraclass correlations: {self.n_subjects} subjects, {self.n_raters} raters"]
        for t in ICC_TYPES:
            lines.append(f"  {t:6s} {self.values[t]: .3f}  [{self.lower[t]: .3f}, {self.upper[t]: .3f}]  "
                         f"F({self.df1[t]:.0f}, {self.df2[t]:.0f}) = {self.f[t]:.2f}, p = {self.p[t]:.3g}")
        return "\n".join(lines + [f"  warning: {w}" for w in self.warnings])

    def to_dict(self) -> dict[str, Any]:
        return {"n_subjects": self.n_subjects, "n_raters": self.n_raters, "alpha": self.alpha,
                "values": self.values, "f": self.f, "df1": self.df1, "df2": self.df2, "p": self.p,
                "lower": self.lower, "upper": self.upper, "mean_squares": self.mean_squares,
                "warnings": list(self.warnings)}


def _ratings_matrix(ratings: Any) -> np.ndarray:
    x = np.asarray(ratings, dtype=float)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        raise DataError(f"ratings must be a table of at least 2 subjects x 2 raters (got shape {x.shape}); "
                        "give one row per recording and one column per coder")
    if not np.isfinite(x).all():
        raise DataError("ratings contain missing values; the ICC here needs every rater to rate every "
                        "subject: drop incomplete recordings first")
    return x


def icc(ratings: Any, *, alpha: float = 0.05) -> ICCResult:
    """Six ICC forms for an n x k table of ratings (rows subjects, columns raters)."""
    x = _ratings_matrix(ratings)
    n, k = x.shape
    grand = x.mean()
    ss_total = ((x - grand) ** 2).sum()
    ss_rows = k * ((x.mean(axis=1) - grand) ** 2).sum()
    ss_cols = n * ((x.mean(axis=0) - grand) ** 2).sum()
    ss_err = ss_total - ss_rows - ss_cols
    msb = ss_rows / (n - 1)
    msj = ss_cols / (k - 1)
    mse = ss_err / ((n - 1) * (k - 1))
    msw = (ss_cols + ss_err) / (n * (k - 1))
    warnings: list[str] = []
    if msb <= 0:
        raise DataError("all subjects have the same mean rating, so no ICC can be computed")
    icc1 = (msb - msw) / (msb + (k - 1) * msw)
    icc2 = (msb - mse) / (msb + (k - 1) * mse + k * (msj - mse) / n)
    icc3 = (msb - mse) / (msb + (k - 1) * mse)
    icc1k = (msb - msw) / msb
    icc2k = (msb - mse) / (msb + (msj - mse) / n)
    icc3k = (msb - mse) / msb
    values = dict(zip(ICC_TYPES, (icc1, icc2, icc3, icc1k, icc2k, icc3k), strict=True))
    f1, f3 = msb / msw, msb / mse
    d1n, d1d = n - 1, n * (k - 1)
    d3n, d3d = n - 1, (n - 1) * (k - 1)
    p1 = float(stats.f.sf(f1, d1n, d1d))
    p3 = float(stats.f.sf(f3, d3n, d3d))
    q = 1 - alpha / 2
    f1l, f1u = f1 / stats.f.ppf(q, d1n, d1d), f1 * stats.f.ppf(q, d1d, d1n)
    f3l, f3u = f3 / stats.f.ppf(q, d3n, d3d), f3 * stats.f.ppf(q, d3d, d3n)
    l1, u1 = (f1l - 1) / (f1l + k - 1), (f1u - 1) / (f1u + k - 1)
    l3, u3 = (f3l - 1) / (f3l + k - 1), (f3u - 1) / (f3u + k - 1)
    # ICC2 interval: McGraw & Wong (1996) case 2A with Satterthwaite degrees of freedom.
    fj = msj / mse
    vn = (k - 1) * (n - 1) * (k * icc2 * fj + n * (1 + (k - 1) * icc2) - k * icc2) ** 2
    vd = (n - 1) * k**2 * icc2**2 * fj**2 + (n * (1 + (k - 1) * icc2) - k * icc2) ** 2
    v = vn / vd
    fu, fl = stats.f.ppf(q, n - 1, v), stats.f.ppf(q, v, n - 1)
    l2 = n * (msb - fu * mse) / (fu * (k * msj + (k * n - k - n) * mse) + n * msb)
    u2 = n * (fl * msb - mse) / (k * msj + (k * n - k - n) * mse + n * fl * msb)
    lower = {"ICC1": l1, "ICC2": l2, "ICC3": l3, "ICC1k": 1 - 1 / f1l,
             "ICC2k": l2 * k / (1 + l2 * (k - 1)), "ICC3k": 1 - 1 / f3l}
    upper = {"ICC1": u1, "ICC2": u2, "ICC3": u3, "ICC1k": 1 - 1 / f1u,
             "ICC2k": u2 * k / (1 + u2 * (k - 1)), "ICC3k": 1 - 1 / f3u}
    if min(values.values()) < 0:
        warnings.append("a negative ICC means less agreement than chance; check the coding manual and "
                        "retrain coders before using these ratings")
    return ICCResult(
        n_subjects=n, n_raters=k, alpha=alpha, values={t: float(v) for t, v in values.items()},
        f={"ICC1": f1, "ICC2": f3, "ICC3": f3, "ICC1k": f1, "ICC2k": f3, "ICC3k": f3},
        df1={t: float(n - 1) for t in ICC_TYPES},
        df2={"ICC1": d1d, "ICC2": d3d, "ICC3": d3d, "ICC1k": d1d, "ICC2k": d3d, "ICC3k": d3d},
        p={"ICC1": p1, "ICC2": p3, "ICC3": p3, "ICC1k": p1, "ICC2k": p3, "ICC3k": p3},
        lower={t: float(v) for t, v in lower.items()}, upper={t: float(v) for t, v in upper.items()},
        mean_squares={"MSB": msb, "MSJ": msj, "MSE": mse, "MSW": msw}, warnings=tuple(warnings))


@dataclass(frozen=True)
class KappaResult:
    """Weighted kappa with its standard error and a normal-theory (1 - alpha) interval."""

    kappa: float
    se: float
    lower: float
    upper: float
    n: int
    categories: tuple[float, ...]
    alpha: float
    warnings: tuple[str, ...] = field(default=())

    def summary(self) -> str:
        return (f"Weighted kappa (quadratic) = {self.kappa:.3f} [{self.lower:.3f}, {self.upper:.3f}], "
                f"n = {self.n}, {len(self.categories)} categories")

    def to_dict(self) -> dict[str, Any]:
        return {"kappa": self.kappa, "se": self.se, "lower": self.lower, "upper": self.upper, "n": self.n,
                "categories": list(self.categories), "alpha": self.alpha, "warnings": list(self.warnings)}


def weighted_kappa(rater1: Sequence[float], rater2: Sequence[float], *,
                   categories: Sequence[float] | None = None, alpha: float = 0.05,
                   variance: Literal["fleiss1969", "psych"] = "fleiss1969") -> KappaResult:
    """Quadratic-weighted Cohen's kappa for two raters.

    ``kappa_w = 1 - sum(v * p_obs) / sum(v * p_exp)`` with disagreement weights
    ``v_ij = (i - j)^2`` on the category index; categories default to the sorted values either rater
    used (as psych::cohen.kappa does); pass ``categories`` to fix the full scale.

    ``variance="fleiss1969"`` uses the Fleiss, Cohen & Everitt (1969) large-sample variance, whose
    marginal term is ``wbar_i. + wbar_.j`` with ``wbar_i. = sum_j p_.j w_ij`` and
    ``wbar_.j = sum_i p_i. w_ij``. psych::cohen.kappa (checked with psych 2.x) uses
    ``p_j. * sum_k w_jk`` for the second part, so its interval differs slightly;
    ``variance="psych"`` reproduces psych's bounds for cross-checking.
    """
    a = np.asarray(rater1, dtype=float)
    b = np.asarray(rater2, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or a.size < 2:
        raise DataError(f"two equal-length rating vectors are needed (got {a.shape} and {b.shape})")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise DataError("ratings contain missing values; keep only recordings both coders rated")
    cats = np.array(sorted(set(a) | set(b)) if categories is None else sorted(categories), dtype=float)
    unknown = (set(a) | set(b)) - set(cats.tolist())
    if unknown:
        raise DataError(f"ratings {sorted(unknown)} are not among the categories {cats.tolist()}")
    m = len(cats)
    if m < 2:
        raise DataError("both coders gave the same single rating throughout; kappa is undefined")
    idx = {c: i for i, c in enumerate(cats.tolist())}
    table = np.zeros((m, m))
    for x, y in zip(a.tolist(), b.tolist(), strict=True):
        table[idx[x], idx[y]] += 1
    n = int(a.size)
    p = table / n
    row, col = p.sum(axis=1), p.sum(axis=0)
    i = np.arange(m)
    w = 1 - (i[:, None] - i[None, :]) ** 2 / (m - 1) ** 2  # agreement weights
    po = float((w * p).sum())
    pe = float((w * np.outer(row, col)).sum())
    if pe >= 1:
        raise DataError("expected agreement is 1 (no variation in ratings); kappa is undefined")
    kappa = (po - pe) / (1 - pe)
    wi = w @ col  # mean weight of row category i
    wj = row @ w if variance == "fleiss1969" else row * w.sum(axis=1)
    term = (p * (w - (wi[:, None] + wj[None, :]) * (1 - kappa)) ** 2).sum()
    var = (term - (kappa - pe * (1 - kappa)) ** 2) / (n * (1 - pe) ** 2)
    se = float(np.sqrt(max(var, 0.0)))
    z = float(stats.norm.ppf(1 - alpha / 2))
    lo, hi = max(-1.0, float(kappa - z * se)), min(1.0, float(kappa + z * se))
    warn: tuple[str, ...] = ()
    if n < 30:
        warn = (f"only {n} double-coded recordings; the kappa interval is a large-sample approximation",)
    return KappaResult(kappa=float(kappa), se=se, lower=lo, upper=hi,
                       n=n, categories=tuple(float(c) for c in cats), alpha=alpha, warnings=warn)


def paired_ratings(records: Sequence[Mapping[str, Any]], rating: str = "sensitivity", *,
                   id_field: str = "recording_id", role_field: str = "coding_role",
                   first: str = "primary", second: str = "second") -> tuple[list[str], list[float], list[float]]:
    """Recordings rated by both coders: (ids, first coder's ratings, second coder's ratings).

    ``records`` are validated ``sensitivity_coding`` responses; recordings coded once, or whose rating
    is missing for either coder, are left out. A recording coded twice in the same role is an error.
    """
    by_role: dict[str, dict[str, float]] = {first: {}, second: {}}
    for rec in records:
        role = str(rec.get(role_field))
        if role not in by_role:
            continue
        rid = str(rec.get(id_field))
        value = rec.get(rating)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        if rid in by_role[role]:
            raise DataError(f"recording {rid} has two '{role}' codings of {rating}; keep one per role")
        by_role[role][rid] = float(value)
    ids = sorted(set(by_role[first]) & set(by_role[second]))
    return ids, [by_role[first][i] for i in ids], [by_role[second][i] for i in ids]


def double_coding_sample(recording_ids: Sequence[str], fraction: float, *,
                         rng: np.random.Generator) -> list[str]:
    """A random ``fraction`` (at least one) of recordings to be coded by a second blinded coder."""
    if not 0 < fraction <= 1:
        raise DataError(f"fraction must be in (0, 1] (got {fraction})")
    ids = list(recording_ids)
    if not ids:
        return []
    size = max(1, int(np.ceil(fraction * len(ids))))
    chosen = rng.choice(len(ids), size=size, replace=False)
    return [ids[i] for i in sorted(chosen.tolist())]
