"""Closed-form sample size and power, with allocation, clustering, attrition and multiplicity.

``sample_size(spec, power=0.9, alpha=0.05, ratio=1, ...)`` solves the specification's power function
for the usual-care arm size (unrounded; ``ratio = n_int / n_ctl``), then inflates in this order:

1. clustering: design effect ``DE = 1 + ((1 + cv^2) m - 1) ICC`` for mean cluster size ``m`` and
   coefficient of variation ``cv`` of cluster sizes (Eldridge, Ashby & Kerry 2006, Int J Epidemiol
   35:1292; cv = 0 gives Donner & Klar's ``1 + (m - 1) ICC``). When only the intervention arm is
   delivered in therapist groups (partial nesting) the variance ``DE/n_int + 1/n_ctl`` gives the
   inflation ``(DE + ratio) / (1 + ratio)``, i.e. ``(1 + DE) / 2`` for equal arms
   (shared reference README section 4; Moerbeek & Wong 2008, Stat Med 27:3164);
2. attrition: divide by ``1 - rate`` (shared reference README section 4);

and rounds each arm up. Several primary outcomes are planned with :func:`plan_several`.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

from scipy import optimize

from securebase.analysis.design.outcomes import (
    BinaryOutcome,
    ContinuousOutcome,
    CountOutcome,
    OutcomeSpec,
    SurvivalOutcome,
)
from securebase.errors import FieldError


@dataclass(frozen=True)
class Clustering:
    """Clustering of outcomes by therapist or group: ICC, mean cluster size, CV of sizes, which arms."""

    icc: float
    mean_size: float
    cv: float = 0.0
    arms: str = "intervention"

    def __post_init__(self) -> None:
        if not 0.0 <= self.icc < 1.0:
            raise FieldError("icc", self.icc, "an intraclass correlation in [0, 1)")
        if self.mean_size < 1:
            raise FieldError("mean_size", self.mean_size, "a mean cluster size of at least 1")
        if self.cv < 0:
            raise FieldError("cv", self.cv, "a non-negative coefficient of variation of cluster sizes")
        if self.arms not in ("intervention", "both"):
            raise FieldError("arms", self.arms, "'intervention' (partial nesting) or 'both'")

    @property
    def design_effect(self) -> float:
        """``1 + ((1 + cv^2) m - 1) ICC`` (Eldridge et al. 2006)."""
        return 1.0 + ((1.0 + self.cv**2) * self.mean_size - 1.0) * self.icc

    def inflation(self, ratio: float = 1.0) -> float:
        """Factor applied to both arms: DE, or ``(DE + ratio)/(1 + ratio)`` under partial nesting."""
        de = self.design_effect
        return de if self.arms == "both" else (de + ratio) / (1.0 + ratio)

    def describe(self) -> str:
        where = "in the intervention arm only" if self.arms == "intervention" else "in both arms"
        cv = f", CV of sizes {self.cv:g}" if self.cv else ""
        return (f"clustering by therapist {where} (mean cluster size {self.mean_size:g}{cv}, "
                f"ICC {self.icc:g}, design effect {self.design_effect:.3f})")


def _check_common(power: float | None, alpha: float, ratio: float, sided: int, attrition: float) -> None:
    if power is not None and not 0.0 < power < 1.0:
        raise FieldError("power", power, "a probability between 0 and 1, e.g. 0.9")
    if not 0.0 < alpha < 1.0:
        raise FieldError("alpha", alpha, "a significance level between 0 and 1, e.g. 0.05")
    if not ratio > 0:
        raise FieldError("ratio", ratio, "a positive allocation ratio n_intervention / n_usual_care")
    if sided not in (1, 2):
        raise FieldError("sided", sided, "1 or 2")
    if not 0.0 <= attrition < 1.0:
        raise FieldError("attrition", attrition, "a proportion in [0, 1), e.g. 0.2 for 20%")


def solve_n_ctl(spec: OutcomeSpec, target: float, alpha: float, ratio: float = 1.0, sided: int = 2,
                strict: bool = True) -> float:
    """Unrounded usual-care arm size with ``power(ratio n, n) = target`` (closed form where one exists)."""
    direct = spec.solve_n_ctl(target, alpha, ratio, sided, strict)
    if direct is not None:
        return float(direct)
    lo = 2.0 if isinstance(spec, ContinuousOutcome) else 1e-3
    lo = max(lo, 2.0 / ratio if isinstance(spec, ContinuousOutcome) else lo)

    def f(n: float) -> float:
        return spec.power(ratio * n, n, alpha, sided, strict) - target

    if f(lo) >= 0:
        return lo
    hi = max(lo * 2, 10.0)
    while f(hi) < 0:
        hi *= 2
        if hi > 1e9:
            raise FieldError("effect", spec.describe(), "an effect large enough to detect with < 1e9 participants")
    return float(optimize.brentq(f, lo, hi, xtol=1e-10, rtol=1e-12))


def _pct(x: float) -> str:
    return f"{100 * x:.4g}%"


@dataclass(frozen=True)
class SampleSizeResult:
    """Sample size for one outcome: unrounded solution, inflation steps, final arm sizes and a sentence."""

    outcome: OutcomeSpec
    target_power: float
    alpha: float
    alpha_per_test: float
    sided: int
    ratio: float
    n_ctl_unrounded: float
    n_int_unrounded: float
    inflation: float
    attrition: float
    n_int: int
    n_ctl: int
    achieved_power: float
    sentence: str
    clustering: Clustering | None = None
    expected_events: float | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def n_total(self) -> int:
        return self.n_int + self.n_ctl

    def summary(self) -> str:
        lines = [self.sentence,
                 f"  unrounded per arm before inflation: intervention {self.n_int_unrounded:.2f}, "
                 f"usual care {self.n_ctl_unrounded:.2f}",
                 f"  inflation for clustering {self.inflation:.4f}; attrition {_pct(self.attrition)}",
                 f"  recruit: intervention {self.n_int}, usual care {self.n_ctl}, total {self.n_total}"]
        if self.expected_events is not None:
            lines.append(f"  expected events among analysable participants: {self.expected_events:.1f}")
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": type(self.outcome).__name__, "outcome_spec": self.outcome.__dict__.copy(),
            "target_power": self.target_power, "alpha": self.alpha, "alpha_per_test": self.alpha_per_test,
            "sided": self.sided, "ratio": self.ratio, "n_ctl_unrounded": self.n_ctl_unrounded,
            "n_int_unrounded": self.n_int_unrounded, "inflation": self.inflation,
            "attrition": self.attrition, "n_int": self.n_int, "n_ctl": self.n_ctl, "n_total": self.n_total,
            "achieved_power": self.achieved_power, "expected_events": self.expected_events,
            "clustering": None if self.clustering is None else self.clustering.__dict__.copy(),
            "sentence": self.sentence, "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class PowerResult:
    """Closed-form power at given arm sizes."""

    outcome: OutcomeSpec
    n_int: float
    n_ctl: float
    alpha: float
    sided: int
    power: float
    sentence: str

    def summary(self) -> str:
        return self.sentence

    def to_dict(self) -> dict[str, Any]:
        return {"outcome": type(self.outcome).__name__, "outcome_spec": self.outcome.__dict__.copy(),
                "n_int": self.n_int, "n_ctl": self.n_ctl, "alpha": self.alpha, "sided": self.sided,
                "power": self.power, "sentence": self.sentence}


def _sentence(spec: OutcomeSpec, power: float, alpha_level: str, sided: int, clustering: Clustering | None,
              attrition: float, n_int: int, n_ctl: int, noun: str, extra: str = "") -> str:
    side = "two-sided" if sided == 2 else "one-sided"
    parts = [f"To detect {spec.describe()} with {100 * power:g}% power at the {alpha_level} level ({side})"]
    if extra:
        parts.append(extra)
    if clustering is not None:
        parts.append(f"allowing for {clustering.describe()}")
    if attrition > 0:
        parts.append(f"allowing {100 * attrition:g}% attrition")
    n = n_int + n_ctl
    return (", ".join(parts) + f", {n} {noun} are needed ({n_int} intervention, {n_ctl} usual care).")


def sample_size(spec: OutcomeSpec, *, power: float = 0.9, alpha: float = 0.05, ratio: float = 1.0,
                sided: int = 2, strict: bool = True, attrition: float = 0.0,
                clustering: Clustering | None = None, n_outcomes: int = 1, participants: str = "children",
                extra: str = "") -> SampleSizeResult:
    """Participants needed for ``spec``; ``n_outcomes`` > 1 plans each test at ``alpha / n_outcomes``
    (Bonferroni; also the worst case of Holm's procedure)."""
    _check_common(power, alpha, ratio, sided, attrition)
    if n_outcomes < 1:
        raise FieldError("n_outcomes", n_outcomes, "at least 1")
    a = alpha / n_outcomes
    n_ctl_raw = solve_n_ctl(spec, power, a, ratio, sided, strict)
    infl = clustering.inflation(ratio) if clustering is not None else 1.0
    scale = infl / (1.0 - attrition)
    # tiny tolerance so that an exact solution such as 64.0000000001 does not round up to 65
    n_ctl = math.ceil(n_ctl_raw * scale - 1e-9)
    n_int = math.ceil(ratio * n_ctl_raw * scale - 1e-9)
    analysable_int, analysable_ctl = n_int * (1 - attrition) / infl, n_ctl * (1 - attrition) / infl
    achieved = spec.power(analysable_int, analysable_ctl, a, sided, strict)
    warnings = []
    if isinstance(spec, ContinuousOutcome) and abs(spec.effect_size) > 1:
        warnings.append(f"standardised effect {spec.effect_size:.2f} is large for these trials (d 0 to 0.3 "
                        "in UK trials of child outcomes, shared reference section 5); check delta and SD")
    if isinstance(spec, BinaryOutcome) and n_ctl_raw * min(spec.p_ctl, 1 - spec.p_ctl) < 5:
        warnings.append("fewer than 5 expected events in an arm: normal approximation unreliable")
    if clustering is not None and clustering.arms == "intervention" and ratio != 1:
        warnings.append("partial-nesting inflation (DE + ratio)/(1 + ratio) assumes clusters of fixed size")
    level = f"{100 * alpha:g}%"
    if n_outcomes > 1:
        extra = ", ".join(x for x in (extra, f"with {n_outcomes} primary outcomes each tested at "
                                      f"{100 * a:.3g}% (Bonferroni)") if x)
    events = None
    if isinstance(spec, SurvivalOutcome):
        events = spec.expected_events(analysable_int, analysable_ctl)
    return SampleSizeResult(
        outcome=spec, target_power=power, alpha=alpha, alpha_per_test=a, sided=sided, ratio=ratio,
        n_ctl_unrounded=n_ctl_raw, n_int_unrounded=ratio * n_ctl_raw, inflation=infl, attrition=attrition,
        n_int=n_int, n_ctl=n_ctl, achieved_power=achieved,
        sentence=_sentence(spec, power, level, sided, clustering, attrition, n_int, n_ctl, participants, extra),
        clustering=clustering, expected_events=events, warnings=tuple(warnings))


def power(spec: OutcomeSpec, n_int: float, n_ctl: float, *, alpha: float = 0.05, sided: int = 2,
          strict: bool = True) -> PowerResult:
    """Closed-form power with ``n_int`` and ``n_ctl`` analysable participants."""
    _check_common(None, alpha, n_int / n_ctl if n_ctl > 0 else -1, sided, 0.0)
    p = spec.power(n_int, n_ctl, alpha, sided, strict)
    text = (f"With {n_int:g} intervention and {n_ctl:g} usual-care participants analysed, the power to "
            f"detect {spec.describe()} at the {100 * alpha:g}% level ({'two' if sided == 2 else 'one'}-sided) "
            f"is {100 * p:.1f}%.")
    return PowerResult(spec, n_int, n_ctl, alpha, sided, p, text)


def holm_all_power(powers_at: list[list[float]]) -> float:
    """P(Holm rejects every hypothesis) for independent tests.

    ``powers_at[i][j]`` is P(p_i <= alpha / (k - j)) for j = 0..k-1 (thresholds increasing to alpha).
    Holm (1979) rejects all k iff the j-th smallest p-value is <= alpha / (k - j + 1) for every j; we sum
    over the threshold interval each p-value falls in.
    """
    k = len(powers_at)
    probs = []
    for row in powers_at:
        cum = [0.0] + list(row)
        probs.append([cum[j + 1] - cum[j] for j in range(k)] + [1.0 - cum[k]])
    total = 0.0
    for assign in itertools.product(range(k + 1), repeat=k):
        if max(assign) >= k:
            continue
        if all(sum(1 for a in assign if a <= j) >= j + 1 for j in range(k)):
            total += math.prod(probs[i][a] for i, a in enumerate(assign))
    return total


@dataclass(frozen=True)
class MultipleOutcomeResult:
    """Plan for several primary outcomes: the governing sample size and each outcome's own result."""

    method: str
    goal: str
    results: tuple[SampleSizeResult, ...]
    n_int: int
    n_ctl: int
    sentence: str

    @property
    def n_total(self) -> int:
        return self.n_int + self.n_ctl

    def summary(self) -> str:
        return "\n".join([self.sentence] + [f"  - {r.sentence}" for r in self.results])

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "goal": self.goal, "n_int": self.n_int, "n_ctl": self.n_ctl,
                "n_total": self.n_total, "sentence": self.sentence, "results": [r.to_dict() for r in self.results]}


def plan_several(specs: list[OutcomeSpec], *, method: str = "bonferroni", goal: str = "each",
                 power: float = 0.9, alpha: float = 0.05, ratio: float = 1.0, sided: int = 2,
                 attrition: float = 0.0, clustering: Clustering | None = None,
                 participants: str = "children") -> MultipleOutcomeResult:
    """Plan k primary outcomes with familywise error ``alpha``.

    ``goal="each"``: every outcome keeps ``power`` on its own whatever the others show; each test at
    ``alpha/k`` (Bonferroni, and the worst case of Holm), N = the largest. ``goal="all"``: the probability of
    rejecting every null is ``power``, assuming independent test statistics (conservative under positive
    correlation), with Bonferroni (product of powers at ``alpha/k``) or Holm (:func:`holm_all_power`).
    """
    k = len(specs)
    if k < 1 or k > 5:
        raise FieldError("specs", k, "between 1 and 5 primary outcomes")
    if method not in ("bonferroni", "holm"):
        raise FieldError("method", method, "'bonferroni' or 'holm'")
    if goal not in ("each", "all"):
        raise FieldError("goal", goal, "'each' or 'all'")
    _check_common(power, alpha, ratio, sided, attrition)
    singles = tuple(sample_size(s, power=power, alpha=alpha, ratio=ratio, sided=sided, attrition=attrition,
                                clustering=clustering, n_outcomes=k, participants=participants) for s in specs)
    if goal == "each":
        n_ctl = max(r.n_ctl for r in singles)
        n_int = max(r.n_int for r in singles)
        text = (f"Planning each of {k} primary outcomes at {100 * alpha / k:.3g}% ({method.capitalize()}), "
                f"with {100 * power:g}% power for each, {n_int + n_ctl} {participants} are needed "
                f"({n_int} intervention, {n_ctl} usual care).")
        return MultipleOutcomeResult(method, goal, singles, n_int, n_ctl, text)

    def all_power(n: float) -> float:
        if method == "bonferroni":
            return math.prod(s.power(ratio * n, n, alpha / k, sided) for s in specs)
        rows = [[s.power(ratio * n, n, alpha / (k - j), sided) for j in range(k)] for s in specs]
        return holm_all_power(rows)

    lo = max(r.n_ctl_unrounded for r in singles) * 0.5
    hi = lo * 2
    while all_power(hi) < power:
        hi *= 2
    n_raw = optimize.brentq(lambda n: all_power(n) - power, max(lo, 2.0), hi, xtol=1e-8)
    infl = clustering.inflation(ratio) if clustering is not None else 1.0
    n_ctl = math.ceil(n_raw * infl / (1 - attrition) - 1e-9)
    n_int = math.ceil(ratio * n_raw * infl / (1 - attrition) - 1e-9)
    text = (f"For {100 * power:g}% power to show an effect on all {k} primary outcomes with {method.capitalize()} "
            f"control of the familywise error at {100 * alpha:g}% (independent outcomes assumed)"
            + (f", allowing {100 * attrition:g}% attrition" if attrition else "")
            + f", {n_int + n_ctl} {participants} are needed ({n_int} intervention, {n_ctl} usual care).")
    return MultipleOutcomeResult(method, goal, singles, n_int, n_ctl, text)


__all__ = ["BinaryOutcome", "Clustering", "ContinuousOutcome", "CountOutcome", "MultipleOutcomeResult",
           "PowerResult", "SampleSizeResult", "SurvivalOutcome", "holm_all_power", "plan_several", "power",
           "sample_size", "solve_n_ctl"]
