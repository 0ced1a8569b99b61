"""Batched generation of simulated NG26 trials as arrays of shape (B, n): the engine behind both the
frame-producing :func:`securebase.analysis.design.simulate.simulate` and power by simulation.

Model (parameters in :mod:`securebase.analysis.design.parameters`):

* scores: for outcome k, latent standard normal ``Z0`` at baseline, ``Z6 = rho Z0 + sqrt(1-rho^2) R6`` and
  ``Z12 = rho Z0 + sqrt(1-rho^2) R12`` with innovations correlated ``rho_6_12`` over time and across outcomes
  through one common factor (correlation ``loading_i loading_j``); each innovation carries a site effect
  (share ``site_icc``) and, in the intervention arm, a therapist effect (share ``therapist_icc``).
  Score = ``mean + change_m + sd Z_m + effect_m treat`` (``effect_m`` the 12-month effect times
  ``effect_fraction_6`` at 6 months), then rounded to the instrument's step and clipped to its range.
  The SDQ total is split into four difficulty subscales (a quarter each plus sum-zero deviations).
* time to event: cause-specific exponential hazards for an unplanned placement ending (times
  ``placement_hr`` in the intervention arm, times ``exp(placement_sdq_log_hr Z0_sdq)``) and for the competing
  event; administrative censoring at ``follow_up_days``.
* dropout by 12 months (monotone; the 6-month losses are a random subset of the 12-month ones) with the
  intercept solved per trial so that the expected retention is ``retention_12``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from securebase.analysis.design.parameters import SimulationParameters

DAYS_PER_YEAR = 365.25


def _normal_factor(rng: np.random.Generator, shape: tuple[int, int], loadings: np.ndarray) -> np.ndarray:
    """(B, n, K) standard normals with correlation ``loadings_i loadings_j`` off the diagonal."""
    f = rng.standard_normal(shape)[..., None]
    u = rng.standard_normal(shape + (len(loadings),))
    return loadings * f + np.sqrt(1 - loadings**2) * u


def _calibrated_logit(lin: np.ndarray, target: float) -> np.ndarray:
    """Per-row intercept a with mean(expit(a + lin)) = target (Newton on each trial)."""
    a = np.full(lin.shape[0], special.logit(target))
    for _ in range(30):
        p = special.expit(a[:, None] + lin)
        f = p.mean(axis=1) - target
        g = (p * (1 - p)).mean(axis=1)
        a -= f / np.maximum(g, 1e-12)
    return a


def simulate_arrays(params: SimulationParameters, n_trials: int, rng: np.random.Generator,
                    *, outcomes: tuple[str, ...] | None = None, events: bool = True) -> dict[str, np.ndarray]:
    """Simulate ``n_trials`` trials; every array has leading shape (n_trials, n_participants).

    Keys: treat, site, therapist (-1 in usual care), age, female, category (index into
    ``params.categories``), sessions_offered, sessions_attended, complier; for each outcome ``o`` the
    observed scores ``o_0``, ``o_6``, ``o_12`` (NaN when missing) and ``latent_o_12``; sdq subscales;
    visit indicators ``seen_6``, ``seen_12``; placement_time (days), placement_event (0/1/2);
    maltreatment_12, exclusions_12, attendance_12 (NaN when missing).
    ``outcomes`` limits the scored outcomes generated (all by default; sdq_total is always made);
    ``events=False`` skips the event and routine outcomes (faster power simulation for scored outcomes).
    """
    p = params
    B, n = n_trials, p.n_participants
    shape = (B, n)
    out: dict[str, np.ndarray] = {}
    n_int = int(round(n * p.allocation_ratio / (1 + p.allocation_ratio)))
    arms = np.r_[np.ones(n_int), np.zeros(n - n_int)]
    treat = arms[np.argsort(rng.random(shape), axis=1)]
    site = rng.integers(0, p.n_sites, size=shape)
    therapist = np.where(treat == 1, site * p.therapists_per_site + rng.integers(0, p.therapists_per_site, shape), -1)
    age = rng.uniform(p.age_min, p.age_max + 1 - 1e-9, size=shape)
    cats = list(p.categories)
    cat_probs = np.array([p.categories[c] for c in cats])
    category = np.searchsorted(np.cumsum(cat_probs), rng.random(shape) * cat_probs.sum(), side="right")
    category = np.minimum(category, len(cats) - 1)
    out.update(treat=treat, site=site, therapist=therapist, age=age, category=category,
               female=(rng.random(shape) < p.prob_female).astype(float))

    # sessions and compliance
    if p.protocol == "ng26-care":
        offered = np.full(shape, p.sessions_offered)
    else:
        offered = np.array([p.sessions_by_type.get(c, p.sessions_offered) for c in cats])[category]
    a_share = rng.beta(p.attendance_mean * p.attendance_concentration,
                       (1 - p.attendance_mean) * p.attendance_concentration, size=shape)
    attended = rng.binomial(offered, a_share) * treat
    offered = offered * treat
    threshold = np.ceil(p.compliance_fraction * np.maximum(offered, 1) - 1e-9)
    out.update(sessions_offered=offered.astype(float), sessions_attended=attended.astype(float),
               complier=((attended >= threshold) & (treat == 1)).astype(float))
    dose = np.where(treat == 1, attended / np.maximum(offered, 1) / p.attendance_mean, 0.0) if p.dose_response \
        else treat

    # correlated latent scores
    names = [k for k in p.outcomes if outcomes is None or k in outcomes or k == "sdq_total"]
    models = [p.outcomes[k] for k in names]
    lam = np.array([m.loading for m in models])
    rho = np.array([m.rho for m in models])
    z0 = _normal_factor(rng, shape, lam)
    e6 = _normal_factor(rng, shape, lam)
    e12 = p.rho_6_12 * e6 + math.sqrt(1 - p.rho_6_12**2) * _normal_factor(rng, shape, lam)
    n_ther = p.n_sites * p.therapists_per_site
    K = len(names)
    bidx = np.arange(B)[:, None]
    innov = {}
    for month_, e in ((6, e6), (12, e12)):
        site_eff = rng.standard_normal((B, p.n_sites, K))[bidx, site]
        ther_eff = rng.standard_normal((B, n_ther, K))[bidx, np.maximum(therapist, 0)] * treat[..., None]
        own = 1 - p.site_icc - p.therapist_icc * treat[..., None]
        innov[month_] = np.sqrt(own) * e + math.sqrt(p.site_icc) * site_eff + math.sqrt(p.therapist_icc) * ther_eff
    z = {0: z0, 6: rho * z0 + np.sqrt(1 - rho**2) * innov[6], 12: rho * z0 + np.sqrt(1 - rho**2) * innov[12]}
    k_sdq = names.index("sdq_total")

    # dropout (monotone) and visit days
    if p.missing_mechanism == "none":
        lost12 = np.zeros(shape, dtype=bool)
    else:
        lin = np.zeros(shape)
        if p.missing_mechanism in ("MAR", "MNAR"):
            driver = z[0][..., k_sdq] if p.missing_mechanism == "MAR" else z[12][..., k_sdq]
            lin = math.log(p.missing_or_per_sd) * driver + math.log(p.missing_or_intervention) * treat
        a = _calibrated_logit(lin, 1 - p.retention_12)
        lost12 = rng.random(shape) < special.expit(a[:, None] + lin)
    lost6 = lost12 & (rng.random(shape) < (1 - p.retention_6) / max(1 - p.retention_12, 1e-12))
    if p.missing_mechanism == "none":
        lost6[:] = False
    out["seen_6"], out["seen_12"] = (~lost6).astype(float), (~lost12).astype(float)
    out["days_6"] = np.where(lost6, np.nan, np.round(182 + rng.normal(0, 10, shape)))
    out["days_12"] = np.where(lost12, np.nan, np.round(365 + rng.normal(0, 14, shape)))
    seen = {0: np.ones(shape, dtype=bool), 6: ~lost6, 12: ~lost12}

    for k, (name, m) in enumerate(zip(names, models, strict=True)):
        for month in (0, 6, 12):
            change = {0: 0.0, 6: m.change_6, 12: m.change_12}[month]
            frac = {0: 0.0, 6: p.effect_fraction_6, 12: 1.0}[month]
            val = m.mean + change + m.sd * z[month][..., k] + frac * m.effect_points * dose
            if month == 12:
                out[f"latent_{name}_12"] = val
            if name == "sdq_total":
                _split_sdq(out, val, month, seen[month], p, rng)
                continue
            if p.round_scores:
                val = np.clip(np.round(val / m.step) * m.step, m.lower, m.upper)
            if name == "utility":
                val = np.where(age + month / 12 < p.utility_min_age, np.nan, val)
            out[f"{name}_{month}"] = np.where(seen[month], val, np.nan)

    if events:
        _events(out, p, z[0][..., k_sdq], treat, category, cats, rng)
    return out


def _split_sdq(out: dict[str, np.ndarray], total: np.ndarray, month: int, seen: np.ndarray,
               p: SimulationParameters, rng: np.random.Generator) -> None:
    """Four difficulty subscales summing to the total (rounded and clipped to 0-10 when round_scores)."""
    dev = rng.normal(0, p.sdq_subscale_sd, total.shape + (4,))
    dev -= dev.mean(axis=-1, keepdims=True)
    subs = total[..., None] / 4 + dev
    if p.round_scores:
        subs = np.clip(np.round(subs), 0, 10)
    total_out = subs.sum(axis=-1)
    for j, name in enumerate(("sdq_emotional", "sdq_conduct", "sdq_hyperactivity", "sdq_peer")):
        out[f"{name}_{month}"] = np.where(seen, subs[..., j], np.nan)
    out[f"sdq_total_{month}"] = np.where(seen, total_out, np.nan)


def _events(out: dict[str, np.ndarray], p: SimulationParameters, z_sdq0: np.ndarray, treat: np.ndarray,
            category: np.ndarray, cats: list[str], rng: np.random.Generator) -> None:
    shape = treat.shape
    h1 = np.array([p.placement_hazard.get(c, 0.1) for c in cats])[category] / DAYS_PER_YEAR
    h1 = h1 * p.placement_hr**treat * np.exp(p.placement_sdq_log_hr * z_sdq0)
    h2 = np.array([p.competing_hazard.get(c, 0.05) for c in cats])[category] / DAYS_PER_YEAR
    t1 = rng.exponential(1.0, shape) / h1
    t2 = rng.exponential(1.0, shape) / np.maximum(h2, 1e-300)
    t = np.minimum(np.minimum(t1, t2), p.follow_up_days)
    event = np.where(t1 <= np.minimum(t2, p.follow_up_days), 1, np.where(t2 <= p.follow_up_days, 2, 0))
    out["placement_time"] = t
    out["placement_event"] = event.astype(float)
    out["competing_time"] = t2
    routine = rng.random(shape) >= p.routine_missing_prob
    if p.protocol == "ng26-maltreatment":
        lin = special.logit(p.maltreatment_prob) + math.log(p.maltreatment_or) * treat + 0.2 * z_sdq0
        malt = (rng.random(shape) < special.expit(lin)).astype(float)
        out["maltreatment_12"] = np.where(routine, malt, np.nan)
    else:
        out["maltreatment_12"] = np.full(shape, np.nan)
    g = 0.3
    mu = p.exclusions_mean * p.exclusions_rate_ratio**treat * np.exp(g * z_sdq0 - g * g / 2)
    k = p.exclusions_dispersion
    lam = rng.gamma(1 / k, k * mu) if k > 0 else mu
    out["exclusions_12"] = np.where(routine, rng.poisson(lam).astype(float), np.nan)
    m = special.expit(special.logit(p.attendance_school_mean) + p.attendance_logit_effect * treat - 0.2 * z_sdq0)
    c = p.attendance_school_concentration
    att = rng.beta(m * c, (1 - m) * c)
    out["attendance_12"] = np.where(routine, np.round(att, 4), np.nan)
