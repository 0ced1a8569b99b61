"""Power by simulation: agreement with the closed form, type I error, bias and coverage, caching, curves."""

from __future__ import annotations

import math

import numpy as np
import pytest

from securebase.analysis.design import ContinuousOutcome
from securebase.analysis.design.curves import apply_point, parse_grid, power_curve
from securebase.analysis.design.power import (
    EstimatorAnalysis,
    PowerScenario,
    per_trial_batch,
    simulate_power,
    summarise,
    wilson,
)
from securebase.analysis.design.simulate import make_parameters
from securebase.analysis.runner import run_seeded
from securebase.errors import FieldError

N_SIMS = 10_000


def test_ancova_simulated_power_matches_closed_form_at_10000() -> None:
    # normal, unrounded scores without clustering or dropout: the closed form's own model
    params = make_parameters(n_participants=300, missing_mechanism="none", round_scores=False, site_icc=0.0,
                             therapist_icc=0.0)
    sc = PowerScenario(params=params, analysis="ancova", outcome="sdq_total", covariates=())
    res = simulate_power(sc, n_sims=N_SIMS, seed=42, batch_size=2500)
    o = params.outcomes["sdq_total"]
    closed = ContinuousOutcome(o.effect_points, o.sd, o.rho, ancova="exact").power(150, 150, 0.05)
    mcse = math.sqrt(closed * (1 - closed) / N_SIMS)
    # Monte Carlo tolerance: 3.5 Monte Carlo SE (about 0.017 here)
    assert abs(res.power - closed) < 3.5 * mcse
    assert abs(res.type_one_error - 0.05) < 3.5 * math.sqrt(0.05 * 0.95 / N_SIMS)
    assert abs(res.bias) < 3.5 * res.bias_mcse
    assert abs(res.coverage - 0.95) < 3.5 * math.sqrt(0.95 * 0.05 / N_SIMS)
    assert res.model_se == pytest.approx(res.empirical_se, rel=0.03)
    assert res.power_ci[0] < res.power < res.power_ci[1]
    assert "Power by simulation" in res.summary() and res.to_dict()["n_sims"] == N_SIMS


@pytest.mark.parametrize("analysis,outcome,protocol,cov", [
    ("logistic", "maltreatment_12", "ng26-maltreatment", ("age", "sdq_total_0")),
    ("logistic", "persistent_absence_12", "ng26-care", ("age", "female")),
    ("cox", "placement", "ng26-care", ("sdq_total_0", "age")),
    ("ttest", "rpq_total", "ng26-care", ()),
])
def test_other_analyses_hold_type_one_error(analysis: str, outcome: str, protocol: str, cov: tuple) -> None:
    sc = PowerScenario(params=make_parameters(protocol=protocol, n_participants=300), analysis=analysis,
                       outcome=outcome, covariates=cov)
    res = simulate_power(sc, n_sims=2000, seed=5, batch_size=1000)
    # 2000 null trials: tolerance 3.5 Monte Carlo SE = 0.017
    assert abs(res.type_one_error - 0.05) < 3.5 * math.sqrt(0.05 * 0.95 / 2000)
    assert res.power > res.type_one_error
    if res.true_effect is not None:
        assert abs(res.bias) < 4 * res.bias_mcse + 0.02  # small non-collapsibility allowed (stated on result)


def test_same_seed_same_result_and_cache(tmp_path) -> None:
    sc = PowerScenario(params=make_parameters(n_participants=100))
    a = simulate_power(sc, n_sims=300, seed=3, batch_size=100, cache_dir=tmp_path)
    b = simulate_power(sc, n_sims=300, seed=3, batch_size=100, cache_dir=tmp_path)
    c = simulate_power(sc, n_sims=300, seed=3, batch_size=100)
    assert not a.from_cache and b.from_cache and not c.from_cache
    assert a.power == b.power == c.power and a.bias == b.bias == c.bias
    d = simulate_power(sc, n_sims=300, seed=4, batch_size=100, cache_dir=tmp_path)
    assert not d.from_cache


def test_power_curve_table_and_plot(tmp_path) -> None:
    base = PowerScenario(params=make_parameters(n_participants=100))
    grid = parse_grid("n_participants=100,300;effect_d=0.3")
    curve = power_curve(base, grid, n_sims=200, seed=1, batch_size=200)
    t = curve.table
    assert list(t["n_participants"]) == [100, 300] and t["power"].is_monotonic_increasing
    assert t["closed_form"].notna().all()
    png = curve.plot(tmp_path / "curve.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(FieldError, match="grid"):
        parse_grid("n_participants")
    with pytest.raises(FieldError, match="grid"):
        apply_point(base, {"no_such": 1.0})


def _per_trial_analysis(trial):
    import statsmodels.formula.api as smf

    df = trial.participants.dropna(subset=["sdq_total_12"])
    fit = smf.ols("sdq_total_12 ~ treat + sdq_total_0", df).fit()
    return fit.params["treat"], fit.bse["treat"], fit.pvalues["treat"]


def test_per_trial_fallback_agrees_with_batched_kernel_on_the_same_trials() -> None:
    params = make_parameters(n_participants=80)
    out = run_seeded(per_trial_batch, seed=1, n_total=6, batch_size=3, progress=False,
                     args=(params.model_dump(mode="json"), _per_trial_analysis))
    assert len(out) == 2 and len(out[0]["alt_p"]) == 3
    for batch in out:
        assert all(np.isfinite(batch["alt_est"])) and all(0 <= p <= 1 for p in batch["alt_p"])
    again = run_seeded(per_trial_batch, seed=1, n_total=6, batch_size=3, progress=False,
                       args=(params.model_dump(mode="json"), _per_trial_analysis))
    assert again == out


def test_effectiveness_ancova_on_simulated_frames_equals_the_batched_kernel() -> None:
    # the per-trial engine (securebase.analysis.effectiveness.Ancova) and the batched kernel give the same
    # estimate, SE and p-value on the same simulated frames (tolerance 1e-8)
    from securebase.analysis.effectiveness import Ancova
    from securebase.analysis.kernels import fit_ols

    params = make_parameters(n_participants=120)
    analysis = EstimatorAnalysis(Ancova("sdq_total_12", ["sdq_total_0", "age_years"]))
    out = run_seeded(per_trial_batch, seed=9, n_total=4, batch_size=4, progress=False,
                     args=(params.model_dump(mode="json"), analysis))[0]
    from securebase.analysis.design.simulate import simulate
    rng = np.random.default_rng(np.random.SeedSequence(9).spawn(1)[0])
    for k in range(4):
        p = simulate(params, rng).participants
        X = np.c_[np.ones(len(p)), p["treat"], p["sdq_total_0"], p["age_years"]][None]
        fit = fit_ols(X, p["sdq_total_12"].to_numpy()[None])
        assert fit.coef[0, 1] == pytest.approx(out["alt_est"][k], abs=1e-8)
        assert fit.se[0, 1] == pytest.approx(out["alt_se"][k], abs=1e-8)
        assert fit.pvalue[0, 1] == pytest.approx(out["alt_p"][k], abs=1e-8)


def test_wilson_and_summary_edge_cases() -> None:
    lo, hi = wilson(0, 100)
    assert lo == pytest.approx(0, abs=1e-12) and 0 < hi < 0.05
    sc = PowerScenario(params=make_parameters(n_participants=50))
    res = summarise([{"alt_est": [np.nan], "alt_se": [np.nan], "alt_p": [np.nan], "alt_lo": [np.nan],
                      "alt_hi": [np.nan], "alt_ok": [0.0], "null_p": [0.5]}], sc, 1, 1)
    assert res.power == 0 and res.n_failed == 1 and any("failed" in w for w in res.warnings)


def test_bad_scenarios() -> None:
    with pytest.raises(FieldError, match="analysis"):
        PowerScenario(analysis="probit")
    with pytest.raises(FieldError, match="ng26-maltreatment"):
        PowerScenario(analysis="logistic", outcome="maltreatment_12")
    with pytest.raises(FieldError, match="covariates"):
        PowerScenario(covariates=("shoe_size",))
