"""Power by simulation: simulate trials, analyse each with a batched kernel, summarise.

For a :class:`PowerScenario` each seeded batch simulates trials under the alternative (the parameters as
given) and under the null (the analysed effect set to none), fits the primary analysis to all of them
at once (:mod:`securebase.analysis.kernels`) and keeps estimate, SE, p-value and 95% CI per trial.
The summary reports power with a Wilson 95% Monte Carlo interval, type I error, bias, empirical and
model SE and coverage of the 95% CI (Morris, White & Crowther 2019, Stat Med 38:2074, table 6 for the
Monte Carlo standard errors).

Analyses: ``ancova`` (outcome at 12 months on arm, its baseline and covariates; OLS), ``ttest`` (no
baseline), ``logistic`` (a binary 12-month outcome), ``cox`` (unplanned placement ending,
cause-specific: competing events censored; Breslow ties). Rows with a missing outcome or covariate are
dropped (complete cases), as the primary analysis under MAR given baseline would do for ANCOVA.
A per-trial analysis with any other model runs through :func:`per_trial_batch`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy import stats

from securebase.analysis.design.parameters import SimulationParameters
from securebase.analysis.design.simulate_core import simulate_arrays
from securebase.analysis.kernels import fit_cox, fit_logistic, fit_ols
from securebase.errors import FieldError

CHUNK = 500  # trials simulated and fitted together inside a batch (bounds memory)
BINARY_OUTCOMES = ("maltreatment_12", "persistent_absence_12")


class PowerScenario(BaseModel):
    """What to simulate and how to analyse it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    params: SimulationParameters = Field(default_factory=SimulationParameters)
    analysis: str = Field("ancova", description="ancova, ttest, logistic or cox")
    outcome: str = Field("sdq_total", description="Scored outcome (ancova/ttest), maltreatment_12 or "
                         "persistent_absence_12 (logistic); ignored for cox (unplanned placement ending).")
    covariates: tuple[str, ...] = Field(("age",), description="age, female, site, category or <outcome>_0.")
    alpha: float = Field(0.05, gt=0, lt=1, description="Two-sided significance level.")

    def model_post_init(self, __context: Any) -> None:
        if self.analysis not in ("ancova", "ttest", "logistic", "cox"):
            raise FieldError("analysis", self.analysis, "one of ancova, ttest, logistic, cox")
        if self.analysis in ("ancova", "ttest") and self.outcome not in self.params.outcomes:
            raise FieldError("outcome", self.outcome, f"one of {sorted(self.params.outcomes)} for {self.analysis}")
        if self.analysis == "logistic" and self.outcome not in BINARY_OUTCOMES:
            raise FieldError("outcome", self.outcome, f"one of {BINARY_OUTCOMES} for logistic")
        if self.analysis == "logistic" and self.outcome == "maltreatment_12" \
                and self.params.protocol != "ng26-maltreatment":
            raise FieldError("outcome", self.outcome, "used with protocol ng26-maltreatment only")
        for c in self.covariates:
            base = c[:-2] if c.endswith("_0") else None
            if c not in ("age", "female", "site", "category") and base not in self.params.outcomes:
                raise FieldError("covariates", c, "age, female, site, category or <outcome>_0",
                                 f"known outcomes: {sorted(self.params.outcomes)}")

    @property
    def true_effect(self) -> float | None:
        """The data-generating effect on the scale of the analysis (None when not defined)."""
        p = self.params
        if self.analysis in ("ancova", "ttest"):
            return p.outcomes[self.outcome].effect_points
        if self.analysis == "cox":
            return math.log(p.placement_hr)
        if self.outcome == "maltreatment_12":
            return math.log(p.maltreatment_or)
        return None

    def null(self) -> PowerScenario:
        """The same scenario with the analysed effect removed."""
        p = self.params
        if self.analysis in ("ancova", "ttest"):
            outs = dict(p.outcomes)
            outs[self.outcome] = outs[self.outcome].model_copy(update={"effect_d": 0.0})
            new = p.model_copy(update={"outcomes": outs})
        elif self.analysis == "cox":
            new = p.model_copy(update={"placement_hr": 1.0})
        elif self.outcome == "maltreatment_12":
            new = p.model_copy(update={"maltreatment_or": 1.0})
        else:
            new = p.model_copy(update={"attendance_logit_effect": 0.0})
        return self.model_copy(update={"params": new})


def design_matrix(a: dict[str, np.ndarray], sc: PowerScenario, intercept: bool = True) -> np.ndarray:
    """(B, n, p) design: [1,] treat, [baseline,] covariates (site and category as dummies)."""
    cols = [a["treat"]]
    if sc.analysis == "ancova":
        cols.append(a[f"{sc.outcome}_0"])
    for c in sc.covariates:
        if c == "age":
            cols.append(a["age"])
        elif c == "female":
            cols.append(a["female"])
        elif c in ("site", "category"):
            levels = sc.params.n_sites if c == "site" else len(sc.params.categories)
            cols += [(a[c] == lev).astype(float) for lev in range(1, levels)]
        elif not (sc.analysis == "ancova" and c == f"{sc.outcome}_0"):
            cols.append(a[c])
    X = np.stack(cols, axis=-1)
    if intercept:
        X = np.concatenate([np.ones(X.shape[:2] + (1,)), X], axis=-1)
    return X


def analyse_arrays(a: dict[str, np.ndarray], sc: PowerScenario) -> dict[str, np.ndarray]:
    """Fit the scenario's analysis to every simulated trial; estimates etc. of the arm coefficient."""
    if sc.analysis in ("ancova", "ttest"):
        fit = fit_ols(design_matrix(a, sc), a[f"{sc.outcome}_12"])
        j = 1
    elif sc.analysis == "logistic":
        y = a["maltreatment_12"] if sc.outcome == "maltreatment_12" else \
            np.where(np.isnan(a["attendance_12"]), np.nan, (a["attendance_12"] < 0.9).astype(float))
        fit = fit_logistic(design_matrix(a, sc), y)
        j = 1
    else:
        fit = fit_cox(design_matrix(a, sc, intercept=False), a["placement_time"],
                      (a["placement_event"] == 1).astype(float))
        j = 0
    lo, hi = fit.conf_int(1 - sc.alpha)
    ok = fit.converged & np.isfinite(fit.pvalue[:, j])
    return {"est": fit.coef[:, j], "se": fit.se[:, j], "p": np.where(ok, fit.pvalue[:, j], np.nan),
            "lo": lo[:, j], "hi": hi[:, j], "ok": ok.astype(float)}


def _needed(sc: PowerScenario) -> tuple[str, ...]:
    names = {sc.outcome} if sc.analysis in ("ancova", "ttest") else set()
    names |= {c[:-2] for c in sc.covariates if c.endswith("_0")}
    return tuple(sorted(names & set(sc.params.outcomes)))


def power_batch(seed_seq: np.random.SeedSequence, n: int, scenario_json: dict[str, Any]) -> dict[str, list]:
    """Runner task: ``n`` trials under the alternative and ``n`` under the null; per-trial statistics."""
    sc = PowerScenario.model_validate(scenario_json)
    null = sc.null()
    alt_ss, null_ss = seed_seq.spawn(2)
    out: dict[str, list] = {}
    for tag, scen, ss in (("alt", sc, alt_ss), ("null", null, null_ss)):
        rng = np.random.default_rng(ss)
        parts = []
        for start in range(0, n, CHUNK):
            a = simulate_arrays(scen.params, min(CHUNK, n - start), rng, outcomes=_needed(scen),
                                events=scen.analysis in ("logistic", "cox"))
            parts.append(analyse_arrays(a, scen))
        for k in parts[0]:
            out[f"{tag}_{k}"] = np.concatenate([q[k] for q in parts]).tolist()
    return out


def per_trial_batch(seed_seq: np.random.SeedSequence, n: int, params_json: dict[str, Any],
                    analyse: Callable[..., tuple[float, float, float]]) -> dict[str, list]:
    """Runner task for any per-trial analysis: ``analyse(trial) -> (estimate, se, p)`` on each simulated
    :class:`~securebase.analysis.design.simulate.SimulatedTrial` (slower; the general-model fallback)."""
    from securebase.analysis.design.simulate import simulate

    rng = np.random.default_rng(seed_seq)
    params = SimulationParameters.model_validate(params_json)
    res = [analyse(simulate(params, rng)) for _ in range(n)]
    return {"alt_est": [r[0] for r in res], "alt_se": [r[1] for r in res], "alt_p": [r[2] for r in res]}


@dataclass(frozen=True)
class EstimatorAnalysis:
    """Per-trial analysis with any estimator whose ``fit(participants)`` returns a result with a
    ``primary`` estimate carrying ``coef``, ``se`` and ``p_value`` (the estimators of
    :mod:`securebase.analysis.effectiveness`, i.e. the code the real analysis uses); for
    :func:`per_trial_batch`."""

    estimator: Any

    def __call__(self, trial: Any) -> tuple[float, float, float]:
        est = self.estimator.fit(trial.participants).primary
        return float(est.coef), float(est.se), float(est.p_value)


def wilson(k: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion k/n."""
    if n == 0:
        return (math.nan, math.nan)
    z = stats.norm.isf((1 - level) / 2)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (centre - half, centre + half)


@dataclass(frozen=True)
class SimulatedPower:
    """Power by simulation with Monte Carlo uncertainty; estimands as Morris et al. (2019)."""

    analysis: str
    outcome: str
    n_sims: int
    seed: int
    batch_size: int
    power: float
    power_ci: tuple[float, float]
    type_one_error: float
    type_one_error_ci: tuple[float, float]
    true_effect: float | None
    mean_estimate: float
    bias: float
    bias_mcse: float
    empirical_se: float
    model_se: float
    coverage: float
    coverage_mcse: float
    n_failed: int
    from_cache: bool = False
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def summary(self) -> str:
        lo, hi = self.power_ci
        t_lo, t_hi = self.type_one_error_ci
        lines = [f"Power by simulation ({self.analysis} of {self.outcome}; {self.n_sims} simulated trials, seed "
                 f"{self.seed}): {100 * self.power:.1f}% (Monte Carlo 95% CI {100 * lo:.1f}% to {100 * hi:.1f}%)",
                 f"  type I error under the null: {100 * self.type_one_error:.2f}% "
                 f"(95% CI {100 * t_lo:.2f}% to {100 * t_hi:.2f}%)"]
        if self.true_effect is not None:
            lines.append(f"  effect (intervention minus usual care): true {self.true_effect:.4g}, mean estimate "
                         f"{self.mean_estimate:.4g}, bias {self.bias:.4g} (MCSE {self.bias_mcse:.2g}); coverage "
                         f"of 95% CI {100 * self.coverage:.1f}% (MCSE {100 * self.coverage_mcse:.1f}%)")
        lines.append(f"  empirical SE {self.empirical_se:.4g}, mean model SE {self.model_se:.4g}; "
                     f"{self.n_failed} fits failed" + (" (from cache)" if self.from_cache else ""))
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


def summarise(results: list[dict[str, list]], sc: PowerScenario, seed: int, batch_size: int,
              from_cache: bool = False) -> SimulatedPower:
    """Combine batch results into a :class:`SimulatedPower`."""
    cat = {k: np.concatenate([np.asarray(r[k], dtype=float) for r in results]) for k in results[0]}
    p, n_sims = cat["alt_p"], len(cat["alt_p"])
    rej = np.nan_to_num(p < sc.alpha).sum()    # a failed fit counts as not significant
    p0 = cat.get("null_p", np.array([]))
    rej0 = np.nan_to_num(p0 < sc.alpha).sum()
    ok = np.isfinite(p)
    est, se = cat["alt_est"][ok], cat["alt_se"][ok]
    truth = sc.true_effect
    warnings = []
    if truth is not None and ok.any():
        cover = ((cat["alt_lo"][ok] <= truth) & (truth <= cat["alt_hi"][ok])).mean() if "alt_lo" in cat else math.nan
        bias = float(est.mean() - truth)
    else:
        cover, bias = math.nan, math.nan
    if sc.analysis in ("logistic", "cox"):
        warnings.append("the true effect is conditional on the simulated child-difficulty factor; odds and hazard "
                        "ratios are non-collapsible, so a small bias against it is expected")
    n_failed = int((~ok).sum())
    if n_failed:
        warnings.append(f"{n_failed} of {n_sims} fits failed and count as non-significant")
    m = int(ok.sum())
    emp = float(est.std(ddof=1)) if m > 1 else math.nan
    return SimulatedPower(
        analysis=sc.analysis, outcome=sc.outcome if sc.analysis != "cox" else "placement_end", n_sims=n_sims,
        seed=seed, batch_size=batch_size, power=float(rej / n_sims), power_ci=wilson(rej, n_sims),
        type_one_error=float(rej0 / len(p0)) if len(p0) else math.nan,
        type_one_error_ci=wilson(rej0, len(p0)) if len(p0) else (math.nan, math.nan), true_effect=truth,
        mean_estimate=float(est.mean()) if m else math.nan, bias=bias,
        bias_mcse=emp / math.sqrt(m) if m else math.nan, empirical_se=emp,
        model_se=float(se.mean()) if m else math.nan, coverage=float(cover),
        coverage_mcse=math.sqrt(cover * (1 - cover) / m) if m and np.isfinite(cover) else math.nan,
        n_failed=n_failed, from_cache=from_cache, warnings=tuple(warnings))


def simulate_power(scenario: PowerScenario, *, n_sims: int = 1000, seed: int = 20261126, batch_size: int = 500,
                   scheduler: str | None = None, workers: int = 1, progress: bool = False,
                   cache_dir: Any = None) -> SimulatedPower:
    """Power by simulation for ``scenario`` (see the module docstring); cached when ``cache_dir`` is set."""
    from securebase.analysis.runner import run_cached

    sj = scenario.model_dump(mode="json")
    results, hit = run_cached(power_batch, {"power": sj}, cache_dir=cache_dir, seed=seed, n_total=n_sims,
                              batch_size=batch_size, scheduler=scheduler, workers=workers, progress=progress,
                              args=(sj,))
    return summarise(results, scenario, seed, batch_size, from_cache=hit)
