"""Coverage of the 95% confidence intervals on simulated trials with known effects.

1,000 seeded trials per model; the coverage must lie within 3 Monte Carlo standard errors of 0.95:
|coverage - 0.95| <= 3 * sqrt(0.95 * 0.05 / 1000) = 0.0207. Data are generated here with small seeded
generators that satisfy each model's assumptions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special

from securebase.analysis.effectiveness import (
    Ancova,
    Cace,
    Cox,
    Logistic,
    Mmrm,
    MultipleImputation,
    NegativeBinomial,
    PartiallyNested,
    Poisson,
    adjust,
)

TRIALS = 1000
MC_TOL = 3 * np.sqrt(0.95 * 0.05 / TRIALS)  # 0.0207


def covered(results, truth: float, name: str | None = None) -> float:
    hits = []
    for r in results:
        est = r.primary if name is None else r.get(name)
        lo, hi = est.ci
        t = np.exp(truth) if est.transform == "exp" else truth
        hits.append(lo <= t <= hi)
    return float(np.mean(hits))


def base_frame(rng: np.random.Generator, n: int) -> pd.DataFrame:
    treat = rng.permutation(np.arange(n) % 2)
    return pd.DataFrame({"treat": treat, "x": rng.normal(0, 1, n),
                         "site": rng.choice(["A", "B", "C"], n)})


def assert_coverage(cov: float) -> None:
    assert abs(cov - 0.95) <= MC_TOL, f"coverage {cov:.3f} outside 0.95 +/- {MC_TOL:.4f}"


def test_ancova_coverage():
    rng = np.random.default_rng(101)
    res = []
    for _ in range(TRIALS):
        d = base_frame(rng, 80)
        d["y"] = 10 + 3 * d.x - 2 * d.treat + d.site.map({"A": 0, "B": 1, "C": -1}) + rng.normal(0, 4, 80)
        res.append(Ancova("y", ["x", "site"]).fit(d))
    assert_coverage(covered(res, -2.0))


def test_logistic_coverage_odds_ratio_and_risk_difference():
    rng = np.random.default_rng(202)
    b0, bx, bt = -0.5, 0.8, np.log(0.6)
    # true standardised risk difference over x ~ N(0, 1), by Gauss-Hermite quadrature
    z, w = np.polynomial.hermite_e.hermegauss(60)
    w = w / w.sum()
    rd_true = float(np.sum(w * (special.expit(b0 + bx * z + bt) - special.expit(b0 + bx * z))))
    res = []
    for _ in range(TRIALS):
        d = base_frame(rng, 200)
        d["y"] = (rng.random(200) < special.expit(b0 + bx * d.x + bt * d.treat)).astype(float)
        res.append(Logistic("y", ["x"]).fit(d))
    assert_coverage(covered(res, bt))
    assert_coverage(covered(res, rd_true, "risk difference"))


@pytest.mark.parametrize("model", [NegativeBinomial, Poisson])
def test_count_coverage(model):
    rng = np.random.default_rng(303)
    res = []
    for _ in range(TRIALS):
        d = base_frame(rng, 150)
        mu = np.exp(0.2 + 0.3 * d.x + np.log(0.7) * d.treat)
        d["y"] = rng.negative_binomial(1.5, 1.5 / (1.5 + mu)) if model is NegativeBinomial else rng.poisson(mu)
        res.append(model("y", ["x"]).fit(d))
    assert_coverage(covered(res, np.log(0.7)))


def test_cox_coverage_cause_specific_stratified():
    rng = np.random.default_rng(404)
    res = []
    for _ in range(TRIALS):
        d = base_frame(rng, 150)
        base_h = d.site.map({"A": 0.002, "B": 0.004, "C": 0.001}).to_numpy()
        t1 = rng.exponential(1 / (base_h * np.exp(np.log(0.7) * d.treat + 0.5 * d.x)))
        t2 = rng.exponential(1 / 0.001, 150)
        tc = rng.uniform(100, 600, 150)
        d["time"] = np.minimum.reduce([t1, t2, tc])
        d["event"] = np.select([t1 == d.time, t2 == d.time], [1, 2], 0)
        res.append(Cox("time", "event", ["x"], strata=["site"]).fit(d))
    assert_coverage(covered(res, np.log(0.7)))


def test_cace_coverage():
    rng = np.random.default_rng(505)
    res = []
    for _ in range(TRIALS):
        d = base_frame(rng, 200)
        complier_type = rng.random(200) < special.expit(0.8 + 0.8 * d.x)  # compliance depends on prognosis
        d["complier"] = (complier_type & (d.treat == 1)).astype(int)
        d["y"] = 20 + 3 * d.x + 2 * complier_type - 3 * d.complier + rng.normal(0, 4, 200)
        res.append(Cace("y", ["x"]).fit(d))
    assert_coverage(covered(res, -3.0))


def test_partially_nested_coverage():
    rng = np.random.default_rng(606)
    frames = []
    for _ in range(TRIALS):
        n = 144
        d = base_frame(rng, n)
        t = d.treat.to_numpy() == 1
        th = np.where(t, rng.integers(0, 12, n), -1)
        u = rng.normal(0, 1.5, 12)
        d["therapist"] = np.where(t, np.char.add("T", th.astype(str)), None)
        sd = np.where(t, 5.0, 4.0)
        d["y"] = 10 + 2 * d.x - 2 * d.treat + np.where(t, u[th], 0) + rng.normal(0, 1, n) * sd
        frames.append(d)
    res = PartiallyNested("y", ["x"]).fit_many(frames)
    assert_coverage(covered(res, -2.0))


def test_mmrm_coverage_under_mar_dropout():
    rng = np.random.default_rng(707)
    L = np.linalg.cholesky(np.array([[25.0, 15.0], [15.0, 30.0]]))
    frames = []
    for _ in range(TRIALS):
        n = 100
        d = base_frame(rng, n)
        e = rng.standard_normal((n, 2)) @ L.T
        y6 = 10 + 2 * d.x - 1 * d.treat + e[:, 0]
        y12 = 9 + 2.5 * d.x - 2 * d.treat + e[:, 1]
        drop = rng.random(n) < special.expit(-2 + 0.15 * (y6 - 10))  # MAR: dropout depends on month 6
        y12 = np.where(drop, np.nan, y12)
        d["participant_id"] = np.arange(n)
        long = pd.concat([d.assign(visit_month=6, y=y6), d.assign(visit_month=12, y=y12)])
        frames.append(long)
    res = Mmrm("y", visits=(6, 12), baseline="x").fit_many(frames)
    assert_coverage(covered(res, -2.0, "month 12"))
    assert_coverage(covered(res, -1.0, "month 6"))


def test_multiple_imputation_coverage_under_mar():
    rng = np.random.default_rng(808)
    res = []
    for i in range(TRIALS):
        n = 120
        d = base_frame(rng, n)
        y = 10 + 3 * d.x - 2 * d.treat + rng.normal(0, 3, n)
        miss = rng.random(n) < special.expit(-1 + 1.0 * d.x)  # MAR given x: complete cases stay unbiased
        d["y"] = np.where(miss, np.nan, y)
        res.append(MultipleImputation(Ancova("y", ["x"]), impute=["y"], predictors=["x"], m=5, seed=i).fit(d))
    assert_coverage(covered(res, -2.0))


def test_holm_hochberg_fixed_sequence_control_familywise_error():
    rng = np.random.default_rng(909)
    p = rng.random((20000, 3))  # global null, independent tests
    for method in ("holm", "hochberg", "fixed_sequence"):
        fwer = np.mean([(adjust(row, method) <= 0.05).any() for row in p[:4000]])
        assert fwer <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 4000), method
