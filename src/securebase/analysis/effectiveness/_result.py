"""Immutable result objects shared by every clinical-effectiveness estimator.

An :class:`Estimate` is one contrast (intervention minus usual care, or intervention over usual
care for ratio measures). A :class:`EffectResult` holds the primary estimate first, any secondary
estimates (a risk difference beside an odds ratio, the effect at each visit), the numbers analysed
per arm, the model coefficients and every warning raised while fitting.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

DIRECTION = "intervention minus usual care"


@dataclass(frozen=True)
class Estimate:
    """One contrast. ``coef`` and ``se`` are on the model scale (log scale for ratios);
    ``estimate`` and the confidence limits are on the reported scale (``exp`` when ``transform``
    is "exp"). ``df`` is None for a normal (Wald z) reference distribution."""

    name: str
    coef: float
    se: float
    df: float | None = None
    transform: str = "identity"
    level: float = 0.95

    @property
    def estimate(self) -> float:
        return math.exp(self.coef) if self.transform == "exp" else self.coef

    @property
    def _crit(self) -> float:
        q = 0.5 + self.level / 2
        return float(stats.t.ppf(q, self.df) if self.df is not None else stats.norm.ppf(q))

    @property
    def ci(self) -> tuple[float, float]:
        lo, hi = self.coef - self._crit * self.se, self.coef + self._crit * self.se
        if self.transform == "exp":
            return math.exp(lo), math.exp(hi)
        return lo, hi

    @property
    def statistic(self) -> float:
        return self.coef / self.se if self.se > 0 else float("nan")

    @property
    def p_value(self) -> float:
        z = abs(self.statistic)
        if self.df is not None:
            return float(2 * stats.t.sf(z, self.df))
        return float(2 * stats.norm.sf(z))

    def to_dict(self) -> dict[str, Any]:
        lo, hi = self.ci
        return {"name": self.name, "estimate": self.estimate, "coef": self.coef, "se": self.se,
                "ci_lower": lo, "ci_upper": hi, "level": self.level, "p_value": self.p_value,
                "df": self.df, "scale": "ratio (se on log scale)" if self.transform == "exp" else "difference"}


def _fmt(x: float | None, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "NA"
    return f"{x:.{digits}f}"


def _fmt_p(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"


@dataclass(frozen=True)
class EffectResult:
    """What every estimator's ``fit`` returns. ``estimates[0]`` is the primary contrast."""

    model: str
    outcome: str
    estimates: tuple[Estimate, ...]
    n_analysed: Mapping[str, int]
    coefficients: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def primary(self) -> Estimate:
        return self.estimates[0]

    @property
    def estimate(self) -> float:
        return self.primary.estimate

    @property
    def se(self) -> float:
        return self.primary.se

    @property
    def ci(self) -> tuple[float, float]:
        return self.primary.ci

    @property
    def p_value(self) -> float:
        return self.primary.p_value

    def get(self, name: str) -> Estimate:
        """The estimate called ``name`` (e.g. "risk difference", "month 12")."""
        for est in self.estimates:
            if est.name == name:
                return est
        raise KeyError(f"no estimate named {name!r}; have {[e.name for e in self.estimates]}")

    def to_dict(self) -> dict[str, Any]:
        return _jsonable({
            "model": self.model, "outcome": self.outcome, "direction": DIRECTION,
            "estimates": [e.to_dict() for e in self.estimates],
            "n_analysed": dict(self.n_analysed),
            "coefficients": {k: {"coef": c, "se": s} for k, (c, s) in self.coefficients.items()},
            "warnings": list(self.warnings),
            "details": dict(self.details),
        })

    def summary(self) -> str:
        """A readable table: one line per estimate, then numbers analysed and warnings."""
        n = ", ".join(f"{arm} {k}" for arm, k in self.n_analysed.items())
        lines = [f"{self.model}: {self.outcome} ({DIRECTION}); n analysed: {n}",
                 f"{'estimate':<28}{'value':>10}{'SE':>10}{'95% CI':>22}{'p':>9}"]
        for e in self.estimates:
            lo, hi = e.ci
            lines.append(f"{e.name:<28}{_fmt(e.estimate):>10}{_fmt(e.se):>10}"
                         f"{'(' + _fmt(lo) + ', ' + _fmt(hi) + ')':>22}{_fmt_p(e.p_value):>9}")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
