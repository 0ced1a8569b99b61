"""Outcome specifications for closed-form power and sample size.

Each specification knows its power for given arm sizes (``n_int`` intervention, ``n_ctl`` usual care,
real numbers allowed so that sample sizes can be solved before rounding) and describes itself for a
protocol sentence. Arm sizes ratio: ``ratio = n_int / n_ctl`` throughout (as lifelines'
``ratio_of_participants`` and the order of ``pwr.2p2n.test(n1=intervention, n2=control)``).

Two-sided tests: ``strict=True`` adds the probability of rejecting in the wrong tail (as ``pwr`` and
``power.t.test(strict=TRUE)``); ``strict=False`` counts one tail only (the default of R's
``power.t.test`` and ``power.prop.test``). The difference is negligible for useful designs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

from securebase.errors import FieldError


def _check_prob(field: str, value: float) -> None:
    if not 0.0 < value < 1.0:
        raise FieldError(field, value, "a probability strictly between 0 and 1", "give it as a proportion, e.g. 0.25")


def _check_positive(field: str, value: float) -> None:
    if not value > 0:
        raise FieldError(field, value, "a positive number")


def _z_power(z_eff: float, alpha: float, sided: int, strict: bool) -> float:
    """Power of a normal test whose statistic is N(z_eff, 1): Phi(z_eff - z_crit) [+ Phi(-z_eff - z_crit)]."""
    z_eff = abs(z_eff)
    if sided == 1:
        return float(stats.norm.cdf(z_eff - stats.norm.isf(alpha)))
    crit = stats.norm.isf(alpha / 2)
    out = stats.norm.cdf(z_eff - crit)
    if strict:
        out += stats.norm.cdf(-z_eff - crit)
    return float(out)


def _fmt(x: float) -> str:
    return f"{x:g}"


@dataclass(frozen=True)
class ContinuousOutcome:
    """A continuous outcome compared by a two-sample t test, or by ANCOVA when ``rho`` > 0.

    Power uses the exact noncentral t distribution (as ``pwr.t.test`` / ``power.t.test``):
    ``ncp = delta / (sd * sqrt(1/n_int + 1/n_ctl))``, ``df = n_int + n_ctl - 2``.
    ANCOVA on a baseline measure correlated ``rho`` with the outcome: residual SD ``sd * sqrt(1 - rho^2)``
    and one more degree of freedom spent (df = n - 3). For sample size the default ``ancova="borm"``
    multiplies the unrounded t-test n by ``(1 - rho^2)`` (Borm, Fransen & Lemmens 2007, J Clin Epidemiol
    60:1234); ``ancova="exact"`` solves the noncentral-t power above instead.
    """

    delta: float
    sd: float
    rho: float = 0.0
    label: str = "the outcome"
    unit: str = "points"
    ancova: str = "borm"

    def __post_init__(self) -> None:
        _check_positive("sd", self.sd)
        if self.delta == 0:
            raise FieldError("delta", self.delta, "a non-zero difference to detect")
        if not 0.0 <= self.rho < 1.0:
            raise FieldError("rho", self.rho, "a baseline-outcome correlation in [0, 1)")
        if self.ancova not in ("borm", "exact"):
            raise FieldError("ancova", self.ancova, "'borm' or 'exact'")

    @property
    def effect_size(self) -> float:
        """Standardised difference d = delta / sd (Cohen's d)."""
        return self.delta / self.sd

    def power(self, n_int: float, n_ctl: float, alpha: float, sided: int = 2, strict: bool = True) -> float:
        sd = self.sd * math.sqrt(1.0 - self.rho**2)
        df = n_int + n_ctl - 2 - (1 if self.rho > 0 else 0)
        ncp = abs(self.delta) / (sd * math.sqrt(1.0 / n_int + 1.0 / n_ctl))
        if sided == 1:
            return float(stats.nct.sf(stats.t.isf(alpha, df), df, ncp))
        crit = stats.t.isf(alpha / 2, df)
        out = stats.nct.sf(crit, df, ncp)
        if strict:
            out += stats.nct.cdf(-crit, df, ncp)
        return float(out)

    def solve_n_ctl(self, target: float, alpha: float, ratio: float, sided: int, strict: bool) -> float | None:
        """Borm's ANCOVA shortcut: the t-test n times (1 - rho^2). None means: solve power numerically."""
        if self.rho == 0 or self.ancova == "exact":
            return None
        ttest = ContinuousOutcome(self.delta, self.sd, 0.0, self.label, self.unit)
        from securebase.analysis.design.closed_form import solve_n_ctl

        return solve_n_ctl(ttest, target, alpha, ratio, sided, strict) * (1.0 - self.rho**2)

    def describe(self) -> str:
        text = f"a difference of {_fmt(abs(self.delta))} {self.unit} on {self.label} (SD {_fmt(self.sd)})"
        if self.rho > 0:
            text += f", analysed by ANCOVA with a baseline correlation of {_fmt(self.rho)}"
        return text


@dataclass(frozen=True)
class BinaryOutcome:
    """A binary outcome: proportions ``p_ctl`` (usual care) and ``p_int`` (intervention).

    ``method="normal"``: the ``power.prop.test`` formula, generalised to unequal arms,
    ``power = Phi((|p_int - p_ctl| - z * sqrt(pbar qbar (1/n_int + 1/n_ctl))) / sqrt(p_int q_int/n_int + p_ctl q_ctl/n_ctl))``
    with ``pbar`` the size-weighted mean proportion (Fleiss, Statistical Methods for Rates and Proportions, 1981;
    reduces to R's ``power.prop.test`` for equal arms).
    ``method="arcsine"``: Cohen's ``h = 2 asin(sqrt p_int) - 2 asin(sqrt p_ctl)`` (``pwr::ES.h``) with
    ``power = Phi(|h| sqrt(n_int n_ctl / (n_int + n_ctl)) - z)`` (``pwr.2p.test`` / ``pwr.2p2n.test``).
    """

    p_ctl: float
    p_int: float
    method: str = "normal"
    label: str = "the outcome"

    def __post_init__(self) -> None:
        _check_prob("p_ctl", self.p_ctl)
        _check_prob("p_int", self.p_int)
        if self.p_ctl == self.p_int:
            raise FieldError("p_int", self.p_int, f"different from p_ctl ({self.p_ctl})")
        if self.method not in ("normal", "arcsine"):
            raise FieldError("method", self.method, "'normal' (power.prop.test) or 'arcsine' (pwr ES.h)")

    @property
    def cohen_h(self) -> float:
        """Cohen's h, as ``pwr::ES.h(p_int, p_ctl)``."""
        return 2 * math.asin(math.sqrt(self.p_int)) - 2 * math.asin(math.sqrt(self.p_ctl))

    def power(self, n_int: float, n_ctl: float, alpha: float, sided: int = 2, strict: bool = True) -> float:
        if self.method == "arcsine":
            return _z_power(self.cohen_h * math.sqrt(n_int * n_ctl / (n_int + n_ctl)), alpha, sided, strict)
        d = abs(self.p_int - self.p_ctl)
        pbar = (n_int * self.p_int + n_ctl * self.p_ctl) / (n_int + n_ctl)
        s0 = math.sqrt(pbar * (1 - pbar) * (1 / n_int + 1 / n_ctl))
        s1 = math.sqrt(self.p_int * (1 - self.p_int) / n_int + self.p_ctl * (1 - self.p_ctl) / n_ctl)
        crit = stats.norm.isf(alpha / sided)
        out = stats.norm.cdf((d - crit * s0) / s1)
        if sided == 2 and strict:
            out += stats.norm.cdf((-d - crit * s0) / s1)
        return float(out)

    def solve_n_ctl(self, target: float, alpha: float, ratio: float, sided: int, strict: bool) -> float | None:
        return None

    def describe(self) -> str:
        return (f"a change from {100 * self.p_ctl:g}% to {100 * self.p_int:g}% in {self.label}"
                + (f" (Cohen's h {abs(self.cohen_h):.3f})" if self.method == "arcsine" else ""))


@dataclass(frozen=True)
class SurvivalOutcome:
    """Time to event compared by the log-rank test / Cox model, hazard ratio ``hazard_ratio``.

    Events needed (``ratio = n_int / n_ctl``, ``p = ratio / (1 + ratio)``):
    Schoenfeld (1983, Biometrics 39:499): ``D = (z_a + z_b)^2 / (p (1 - p) ln(HR)^2)``;
    Freedman (1982, Stat Med 1:121): ``D = (z_a + z_b)^2 (1 + ratio HR)^2 / (ratio (1 - HR)^2)``.
    Participants: ``D = n_int * prob_event_int + n_ctl * prob_event_ctl``, the probabilities coming from
    accrual and follow-up (see :func:`securebase.analysis.design.survival.event_probability`).
    """

    hazard_ratio: float
    prob_event_ctl: float
    prob_event_int: float
    method: str = "schoenfeld"
    label: str = "the event"

    def __post_init__(self) -> None:
        _check_positive("hazard_ratio", self.hazard_ratio)
        if self.hazard_ratio == 1:
            raise FieldError("hazard_ratio", self.hazard_ratio, "different from 1")
        _check_prob("prob_event_ctl", self.prob_event_ctl)
        _check_prob("prob_event_int", self.prob_event_int)
        if self.method not in ("schoenfeld", "freedman"):
            raise FieldError("method", self.method, "'schoenfeld' or 'freedman'")

    def z_per_root_event(self, ratio: float) -> float:
        """The expected test statistic divided by sqrt(events)."""
        if self.method == "schoenfeld":
            p = ratio / (1.0 + ratio)
            return math.sqrt(p * (1 - p)) * abs(math.log(self.hazard_ratio))
        return math.sqrt(ratio) * abs(1 - self.hazard_ratio) / (1 + ratio * self.hazard_ratio)

    def expected_events(self, n_int: float, n_ctl: float) -> float:
        return n_int * self.prob_event_int + n_ctl * self.prob_event_ctl

    def power(self, n_int: float, n_ctl: float, alpha: float, sided: int = 2, strict: bool = True) -> float:
        d = self.expected_events(n_int, n_ctl)
        return _z_power(math.sqrt(d) * self.z_per_root_event(n_int / n_ctl), alpha, sided, strict)

    def solve_n_ctl(self, target: float, alpha: float, ratio: float, sided: int, strict: bool) -> float | None:
        if strict and sided == 2:
            return None
        events = events_required(self.hazard_ratio, target, alpha, ratio, self.method, sided)
        return events / (ratio * self.prob_event_int + self.prob_event_ctl)

    def describe(self) -> str:
        return (f"a hazard ratio of {_fmt(self.hazard_ratio)} for {self.label} (event probability "
                f"{100 * self.prob_event_ctl:.0f}% under usual care, {100 * self.prob_event_int:.0f}% "
                f"with the intervention; {self.method.capitalize()} method)")


def events_required(hazard_ratio: float, power: float, alpha: float = 0.05, ratio: float = 1.0,
                    method: str = "schoenfeld", sided: int = 2) -> float:
    """Number of events (unrounded) for the log-rank test: Schoenfeld (1983) or Freedman (1982)."""
    spec = SurvivalOutcome(hazard_ratio, 0.5, 0.5, method)
    z = stats.norm.isf(alpha / sided) + stats.norm.ppf(power)
    return float((z / spec.z_per_root_event(ratio)) ** 2)


@dataclass(frozen=True)
class CountOutcome:
    """Event counts compared by the rate ratio, Poisson (``dispersion=0``) or negative binomial.

    Wald test of ``log(rate ratio)`` with variance under the alternative
    ``V = (1/(t mu_int) + k) / n_int + (1/(t mu_ctl) + k) / n_ctl``, where ``t`` is the mean exposure,
    ``k`` the negative-binomial dispersion (variance ``mu + k mu^2``); Zhu & Lakkis (2014, Stat Med
    33:376), their variance V1 with the rates under the alternative; ``k = 0`` gives the Poisson case
    (Signorini 1991, Biometrika 78:187, large-sample Wald form).
    """

    rate_ctl: float
    rate_ratio: float
    exposure: float = 1.0
    dispersion: float = 0.0
    label: str = "the count"

    def __post_init__(self) -> None:
        _check_positive("rate_ctl", self.rate_ctl)
        _check_positive("rate_ratio", self.rate_ratio)
        _check_positive("exposure", self.exposure)
        if self.rate_ratio == 1:
            raise FieldError("rate_ratio", self.rate_ratio, "different from 1")
        if self.dispersion < 0:
            raise FieldError("dispersion", self.dispersion, "zero (Poisson) or positive (negative binomial)")

    def power(self, n_int: float, n_ctl: float, alpha: float, sided: int = 2, strict: bool = True) -> float:
        t, k = self.exposure, self.dispersion
        mu_int = self.rate_ctl * self.rate_ratio
        var = (1 / (t * mu_int) + k) / n_int + (1 / (t * self.rate_ctl) + k) / n_ctl
        return _z_power(math.log(self.rate_ratio) / math.sqrt(var), alpha, sided, strict)

    def solve_n_ctl(self, target: float, alpha: float, ratio: float, sided: int, strict: bool) -> float | None:
        if strict and sided == 2:
            return None
        t, k = self.exposure, self.dispersion
        z = stats.norm.isf(alpha / sided) + stats.norm.ppf(target)
        per = (1 / (t * self.rate_ctl * self.rate_ratio) + k) / ratio + (1 / (t * self.rate_ctl) + k)
        return float(z**2 * per / math.log(self.rate_ratio) ** 2)

    def describe(self) -> str:
        model = "Poisson" if self.dispersion == 0 else f"negative binomial, dispersion {_fmt(self.dispersion)}"
        return (f"a rate ratio of {_fmt(self.rate_ratio)} in {self.label} ({_fmt(self.rate_ctl)} per "
                f"participant over {_fmt(self.exposure)} year(s) under usual care; {model})")


OutcomeSpec = ContinuousOutcome | BinaryOutcome | SurvivalOutcome | CountOutcome
