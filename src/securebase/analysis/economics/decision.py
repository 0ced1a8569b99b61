"""Decision outputs from bootstrap replicates of (incremental cost, incremental QALYs).

Every difference is **intervention minus usual care**. With replicates r = 1..R of (dc_r, de_r) and a
willingness to pay k per QALY, the definitions are those of BCEA (Baio, Berardi & Heath 2017, *Bayesian
Cost-Effectiveness Analysis with the R package BCEA*, ch. 3), written for two options:

* incremental net benefit ``IB_r(k) = k de_r - dc_r``; ``EIB(k) = mean_r IB_r(k)``;
* ICER ``= mean(dc) / mean(de)`` (BCEA) and, for the trial result, pooled dc / pooled de;
* CEAC ``(k) = P(IB(k) > 0)``, the share of replicates (and the normal approximation
  ``Phi(INMB(k) / se(INMB(k)))`` with ``var = k^2 V_ee + V_cc - 2k V_ce`` from Rubin's pooled covariance,
  Ben et al. 2023 Box 6);
* CEAF ``(k)``: the CEAC of the option with the larger expected net benefit (Fenwick et al. 2001);
* EVPI ``(k) = mean_r max(IB_r, 0) - max(EIB, 0)`` per person (equal to BCEA's
  ``mean max_j NB_j - max_j mean NB_j``); population EVPI multiplies by
  ``sum_{t=0}^{T-1} N / (1 + r)^t``;
* k* is the first grid value after the sign of EIB changes (BCEA ``kstar``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

DIRECTION = "intervention minus usual care"


def describe_icer(dc: float, de: float, currency: str = "£") -> str:
    """The ICER with the dominance situation in words."""
    if de > 0 and dc <= 0:
        return (f"The intervention dominates usual care: it is less costly ({currency}{-dc:,.0f} saved) "
                f"and more effective ({de:.4f} QALYs gained) per participant.")
    if de < 0 and dc >= 0:
        return (f"The intervention is dominated by usual care: it costs {currency}{dc:,.0f} more and "
                f"gives {-de:.4f} fewer QALYs per participant.")
    if de == 0:
        return "The ICER is undefined: the incremental QALYs are exactly zero."
    icer = dc / de
    if de > 0:
        return (f"The intervention costs {currency}{dc:,.0f} more and gains {de:.4f} QALYs per participant: "
                f"ICER {currency}{icer:,.0f} per QALY gained (north-east quadrant).")
    return (f"The intervention saves {currency}{-dc:,.0f} and loses {-de:.4f} QALYs per participant: "
            f"{currency}{icer:,.0f} saved per QALY lost (south-west quadrant); it is cost-effective when "
            f"this exceeds the threshold.")


def ceac(dc: np.ndarray, de: np.ndarray, wtp: ArrayLike) -> np.ndarray:
    k = np.asarray(wtp, dtype=float)[:, None]
    return np.mean(k * de[None, :] - dc[None, :] > 0, axis=1)


def eib(dc: np.ndarray, de: np.ndarray, wtp: ArrayLike) -> np.ndarray:
    return np.asarray(wtp, dtype=float) * np.mean(de) - np.mean(dc)


def evpi(dc: np.ndarray, de: np.ndarray, wtp: ArrayLike) -> np.ndarray:
    k = np.asarray(wtp, dtype=float)[:, None]
    ib = k * de[None, :] - dc[None, :]
    return np.mean(np.maximum(ib, 0), axis=1) - np.maximum(np.mean(ib, axis=1), 0)


def kstar(wtp: ArrayLike, eib_values: np.ndarray) -> list[float]:
    s = np.sign(eib_values)
    return [float(np.asarray(wtp)[i + 1]) for i in np.flatnonzero(np.diff(s) != 0)]


def population_multiplier(annual: float, years: int, rate: float) -> float:
    return float(sum(annual / (1 + rate) ** t for t in range(years)))


@dataclass(frozen=True)
class DecisionResult:
    """Immutable decision outputs; all differences are intervention minus usual care."""

    direction: str
    currency: str
    incremental_cost: float
    incremental_qaly: float
    cost_ci: tuple[float, float]
    qaly_ci: tuple[float, float]
    covariance: np.ndarray
    icer: float | None
    icer_statement: str
    wtp: np.ndarray
    inmb: np.ndarray
    inmb_se: np.ndarray
    ceac_bootstrap: np.ndarray
    ceac_normal: np.ndarray
    ceaf: np.ndarray
    evpi: np.ndarray
    kstar: tuple[float, ...]
    thresholds: tuple[float, ...]
    population_multiplier: float | None
    replicates: np.ndarray = field(repr=False)
    warnings: tuple[str, ...] = ()

    def at(self, k: float) -> dict[str, Any]:
        i = int(np.argmin(np.abs(self.wtp - k)))
        z = stats.norm.ppf(0.975)
        out = {"wtp": float(self.wtp[i]), "inmb": float(self.inmb[i]),
               "inmb_ci": (float(self.inmb[i] - z * self.inmb_se[i]), float(self.inmb[i] + z * self.inmb_se[i])),
               "prob_cost_effective_bootstrap": float(self.ceac_bootstrap[i]),
               "prob_cost_effective_normal": float(self.ceac_normal[i]), "evpi_per_person": float(self.evpi[i])}
        if self.population_multiplier is not None:
            out["evpi_population"] = float(self.evpi[i] * self.population_multiplier)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"direction": self.direction, "currency": self.currency,
                "incremental_cost": self.incremental_cost, "incremental_cost_ci": list(self.cost_ci),
                "incremental_qaly": self.incremental_qaly, "incremental_qaly_ci": list(self.qaly_ci),
                "covariance": self.covariance.tolist(), "icer": self.icer, "icer_statement": self.icer_statement,
                "thresholds": {f"{k:.0f}": self.at(k) for k in self.thresholds}, "kstar": list(self.kstar),
                "curves": {"wtp": self.wtp.tolist(), "inmb": self.inmb.tolist(), "inmb_se": self.inmb_se.tolist(),
                           "ceac_bootstrap": self.ceac_bootstrap.tolist(), "ceac_normal": self.ceac_normal.tolist(),
                           "ceaf": self.ceaf.tolist(), "evpi": self.evpi.tolist()},
                "population_multiplier": self.population_multiplier, "n_replicates": int(len(self.replicates)),
                "warnings": list(self.warnings)}

    def summary(self) -> str:
        c = self.currency
        lines = [f"Cost effectiveness ({self.direction})",
                 f"  incremental cost  {c}{self.incremental_cost:,.2f} (95% CI {c}{self.cost_ci[0]:,.2f} to "
                 f"{c}{self.cost_ci[1]:,.2f})",
                 f"  incremental QALYs {self.incremental_qaly:.4f} (95% CI {self.qaly_ci[0]:.4f} to {self.qaly_ci[1]:.4f})",
                 f"  {self.icer_statement}"]
        for k in self.thresholds:
            a = self.at(k)
            lines.append(f"  at {c}{k:,.0f}/QALY: INMB {c}{a['inmb']:,.2f} (95% CI {c}{a['inmb_ci'][0]:,.2f} to "
                         f"{c}{a['inmb_ci'][1]:,.2f}); P(cost-effective) {a['prob_cost_effective_bootstrap']:.3f} "
                         f"(bootstrap), {a['prob_cost_effective_normal']:.3f} (normal); EVPI {c}{a['evpi_per_person']:,.2f}"
                         " per person" + (f", {c}{a['evpi_population']:,.0f} population" if "evpi_population" in a else ""))
        return "\n".join(lines)


def decide(estimate: ArrayLike, covariance: np.ndarray, replicates: np.ndarray, wtp: ArrayLike,
           thresholds: Sequence[float] = (20_000, 30_000), *, currency: str = "£",
           population: tuple[float, int, float] | None = None) -> DecisionResult:
    """Decision outputs from the pooled (dc, de), its covariance and the stacked bootstrap replicates.

    ``population`` is ``(annual number, years, discount rate)`` for population EVPI.
    """
    est = np.asarray(estimate, dtype=float)
    dc, de = float(est[0]), float(est[1])
    rep = np.asarray(replicates, dtype=float)
    finite = np.all(np.isfinite(rep), axis=1)
    warnings = []
    if not finite.all():
        warnings.append(f"{int((~finite).sum())} bootstrap replicate(s) were singular and were dropped")
    rep = rep[finite]
    k = np.union1d(np.asarray(wtp, dtype=float).ravel(), np.asarray(thresholds, dtype=float))
    v = np.asarray(covariance, dtype=float)
    z = stats.norm.ppf(0.975)
    inmb = k * de - dc
    se = np.sqrt(np.maximum(k ** 2 * v[1, 1] + v[0, 0] - 2 * k * v[0, 1], 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        normal = np.where(se > 0, stats.norm.cdf(inmb / np.where(se > 0, se, 1)), (inmb > 0).astype(float))
    cb = ceac(rep[:, 0], rep[:, 1], k)
    e = eib(rep[:, 0], rep[:, 1], k)
    ceaf = np.where(e > 0, cb, 1 - cb)
    mult = population_multiplier(*population) if population else None
    return DecisionResult(
        DIRECTION, currency, dc, de, (dc - z * np.sqrt(v[0, 0]), dc + z * np.sqrt(v[0, 0])),
        (de - z * np.sqrt(v[1, 1]), de + z * np.sqrt(v[1, 1])), v, dc / de if de != 0 else None,
        describe_icer(dc, de, currency), k, inmb, se, cb, normal, ceaf, evpi(rep[:, 0], rep[:, 1], k),
        tuple(kstar(k, e)), tuple(float(t) for t in thresholds), mult, rep, tuple(warnings))
