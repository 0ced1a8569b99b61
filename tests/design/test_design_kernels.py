"""Batched kernels against statsmodels (1e-8), R (kernels.json) and lifelines, and their type I error."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import special
from statsmodels.duration.hazard_regression import PHReg

from securebase.analysis.kernels import fit_cox, fit_logistic, fit_ols
from securebase.errors import DataError

REF = Path(__file__).parents[1] / "reference" / "design"
TOL_SM = 1e-8   # agreement with statsmodels on the same data (absolute, coefficients, SEs and p-values)
TOL_R = 1e-7    # agreement with R (relative); R's own convergence tolerance was set to 1e-14


def _data(B: int = 30, n: int = 200, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    treat = rng.permutation(np.tile(np.r_[np.ones(n // 2), np.zeros(n // 2)], (B, 1)).T).T
    age = rng.uniform(5, 18, (B, n))
    base = rng.normal(18.5, 7, (B, n))
    female = (rng.random((B, n)) < 0.5).astype(float)
    X = np.stack([np.ones((B, n)), treat, age, base, female], axis=-1)
    y = 10 + 0.5 * base - 1.4 * treat + rng.normal(0, 6, (B, n))
    yb = (rng.random((B, n)) < special.expit(-1 + 0.05 * (base - 18) - 0.3 * treat)).astype(float)
    t = np.round(rng.exponential(1 / (0.3 * np.exp(-0.3 * treat + 0.03 * (base - 18)))), 1) + 0.1
    ev = (rng.random((B, n)) < 0.7).astype(float)
    mask = rng.random((B, n)) > 0.15
    return dict(X=X, y=y, yb=yb, t=t, ev=ev, mask=mask)


def test_ols_matches_statsmodels() -> None:
    d = _data()
    fit = fit_ols(d["X"], d["y"], d["mask"])
    for b in range(d["X"].shape[0]):
        m = d["mask"][b]
        ref = sm.OLS(d["y"][b][m], d["X"][b][m]).fit()
        np.testing.assert_allclose(fit.coef[b], ref.params, atol=TOL_SM, rtol=0)
        np.testing.assert_allclose(fit.se[b], ref.bse, atol=TOL_SM, rtol=0)
        np.testing.assert_allclose(fit.pvalue[b], ref.pvalues, atol=TOL_SM, rtol=0)
        assert fit.df[b] == ref.df_resid
        lo, hi = fit.conf_int()
        np.testing.assert_allclose(np.c_[lo[b], hi[b]], ref.conf_int(), atol=TOL_SM)


def test_ols_matches_statsmodels_formula() -> None:
    d = _data(B=3)
    fit = fit_ols(d["X"], d["y"])
    for b in range(3):
        df = pd.DataFrame(d["X"][b][:, 1:], columns=["treat", "age", "base", "female"]).assign(y=d["y"][b])
        ref = sm.formula.ols("y ~ treat + age + base + female", df).fit()
        np.testing.assert_allclose(fit.coef[b], ref.params.to_numpy(), atol=TOL_SM, rtol=0)


def test_logistic_matches_statsmodels() -> None:
    d = _data()
    fit = fit_logistic(d["X"], d["yb"], d["mask"])
    assert fit.converged.all()
    for b in range(d["X"].shape[0]):
        m = d["mask"][b]
        ref = sm.Logit(d["yb"][b][m], d["X"][b][m]).fit(method="newton", tol=1e-14, maxiter=100, disp=0)
        np.testing.assert_allclose(fit.coef[b], ref.params, atol=TOL_SM, rtol=0)
        np.testing.assert_allclose(fit.se[b], ref.bse, atol=TOL_SM, rtol=0)
        np.testing.assert_allclose(fit.pvalue[b], ref.pvalues, atol=TOL_SM, rtol=0)


def test_cox_breslow_matches_statsmodels_with_ties() -> None:
    d = _data()
    X = d["X"][..., 1:]
    fit = fit_cox(X, d["t"], d["ev"], d["mask"])
    assert fit.converged.all()
    n_tied = 0
    for b in range(X.shape[0]):
        m = d["mask"][b]
        n_tied += len(d["t"][b][m]) - len(np.unique(d["t"][b][m]))
        ref = PHReg(d["t"][b][m], X[b][m], status=d["ev"][b][m], ties="breslow").fit()
        np.testing.assert_allclose(fit.coef[b], ref.params, atol=TOL_SM, rtol=0)
        np.testing.assert_allclose(fit.se[b], ref.bse, atol=TOL_SM, rtol=0)
        np.testing.assert_allclose(fit.pvalue[b], ref.pvalues, atol=TOL_SM, rtol=0)
    assert n_tied > 100  # the data really have tied times


def test_cox_matches_lifelines_without_ties() -> None:
    lifelines = pytest.importorskip("lifelines")
    rng = np.random.default_rng(3)
    n = 150
    X = np.c_[rng.integers(0, 2, n), rng.normal(size=n)]
    t = rng.exponential(1 / np.exp(0.4 * X[:, 0] - 0.2 * X[:, 1]))
    ev = (rng.random(n) < 0.8).astype(float)
    fit = fit_cox(X[None], t[None], ev[None])
    df = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "T": t, "E": ev})
    ref = lifelines.CoxPHFitter().fit(df, "T", "E")  # Efron, which equals Breslow without ties
    np.testing.assert_allclose(fit.coef[0], ref.params_.to_numpy(), atol=1e-6)
    np.testing.assert_allclose(fit.se[0], ref.standard_errors_.to_numpy(), atol=1e-6)


def test_kernels_match_r() -> None:
    data = pd.read_csv(REF / "kernels_data.csv")
    ref = json.loads((REF / "kernels.json").read_text())["fits"]
    groups = [g for _, g in data.groupby("dataset")]
    X = np.stack([np.c_[np.ones(len(g)), g[["treat", "age", "base", "female"]].to_numpy(float)] for g in groups])
    ols = fit_ols(X, np.stack([g["y"].to_numpy(float) for g in groups]))
    lg = fit_logistic(X, np.stack([g["ybin"].to_numpy(float) for g in groups]))
    cx = fit_cox(X[..., 1:], np.stack([g["time"].to_numpy(float) for g in groups]),
                 np.stack([g["status"].to_numpy(float) for g in groups]))
    for b, r in enumerate(ref):
        for fit, key in ((ols, "ols"), (lg, "logit"), (cx, "cox")):
            np.testing.assert_allclose(fit.coef[b], r[f"{key}_coef"], rtol=TOL_R, atol=1e-12)
            np.testing.assert_allclose(fit.se[b], r[f"{key}_se"], rtol=TOL_R)
            np.testing.assert_allclose(fit.pvalue[b], r[f"{key}_p"], rtol=1e-6, atol=1e-14)


# Type I error under the null: 4000 datasets each; Monte Carlo tolerance 3.5 SE of a proportion 0.05
# (3.5 * sqrt(0.05 * 0.95 / 4000) = 0.012).
B_NULL = 4000
MC_TOL = 3.5 * math.sqrt(0.05 * 0.95 / B_NULL)


def _null_design(n: int, seed: int) -> tuple[np.random.Generator, np.ndarray]:
    rng = np.random.default_rng(seed)
    treat = np.argsort(rng.random((B_NULL, n)), axis=1) < n // 2
    X = np.stack([np.ones((B_NULL, n)), treat, rng.normal(size=(B_NULL, n)), rng.normal(size=(B_NULL, n))], -1)
    return rng, X


def test_type_one_error_ols() -> None:
    rng, X = _null_design(60, 11)
    y = X[..., 2] * 0.5 + rng.standard_normal(X.shape[:2])
    rate = np.mean(fit_ols(X, y).pvalue[:, 1] < 0.05)
    assert abs(rate - 0.05) < MC_TOL


def test_type_one_error_logistic() -> None:
    rng, X = _null_design(200, 12)
    y = (rng.random(X.shape[:2]) < special.expit(-1 + 0.5 * X[..., 2])).astype(float)
    fit = fit_logistic(X, y)
    rate = np.mean(np.nan_to_num(fit.pvalue[:, 1] < 0.05))
    assert fit.converged.mean() > 0.999
    assert abs(rate - 0.05) < MC_TOL


def test_type_one_error_cox() -> None:
    rng, X = _null_design(200, 13)
    X = X[..., 1:]
    t = rng.exponential(1 / np.exp(0.5 * X[..., 1]))
    ev = (t < 1.0).astype(float)
    fit = fit_cox(X, np.minimum(t, 1.0), ev)
    rate = np.mean(np.nan_to_num(fit.pvalue[:, 0] < 0.05))
    assert fit.converged.all()
    assert abs(rate - 0.05) < MC_TOL


def test_singular_and_separated_datasets_are_flagged() -> None:
    d = _data(B=3, n=50)
    X = d["X"].copy()
    X[1, :, 4] = 1.0  # constant column = intercept: singular in dataset 1 only
    fit = fit_ols(X, d["y"])
    assert list(fit.converged) == [True, False, True] and np.isnan(fit.coef[1]).all()
    assert "singular" in fit.summary()
    yb = d["yb"].copy()
    yb[2] = d["X"][2, :, 1]  # outcome = arm: complete separation
    lg = fit_logistic(d["X"], yb)
    assert np.isnan(lg.pvalue[2, :2]).all() and lg.converged[0] and "infinite" in lg.summary()
    with pytest.raises(DataError, match="shape"):
        fit_ols(d["X"], d["y"][:, :10])
    with pytest.raises(DataError, match="event must be 0"):
        fit_cox(d["X"][..., 1:], d["t"], d["ev"] * 2)


def test_cox_level_without_events_keeps_the_arm_estimate() -> None:
    # a covariate level with no events: its coefficient runs to -infinity (monotone likelihood); as R's
    # coxph does, the arm coefficient is still estimated; its value matches a fit dropping that level's rows
    d = _data(B=5, n=300)
    X = d["X"][..., 1:3].copy()
    level = np.zeros(X.shape[:2])
    level[:, :40] = 1.0
    ev = d["ev"].copy()
    ev[:, :40] = 0.0
    fit = fit_cox(np.concatenate([X, level[..., None]], -1), d["t"], ev)
    assert fit.converged.all() and np.isfinite(fit.pvalue[:, 0]).all()
    assert (np.nan_to_num(fit.pvalue[:, 2], nan=1.0) > 0.99).all() and (fit.coef[:, 2] < -10).all()
    keep = np.ones(X.shape[:2], dtype=bool)
    keep[:, :40] = False
    ref = fit_cox(X, d["t"], ev, keep)
    np.testing.assert_allclose(fit.coef[:, :2], ref.coef, atol=1e-5)


def test_cox_without_tied_events_matches_statsmodels() -> None:
    # continuous times take the fast path (no tie-group gathers); censored rows may share times
    d = _data(B=10, seed=4)
    rng = np.random.default_rng(4)
    t = rng.exponential(1.0, d["t"].shape)
    t[:, :30] = 5.0  # administrative censoring at one time
    ev = d["ev"].copy()
    ev[:, :30] = 0.0
    X = d["X"][..., 1:]
    fit = fit_cox(X, t, ev, d["mask"])
    for b in range(10):
        m = d["mask"][b]
        ref = PHReg(t[b][m], X[b][m], status=ev[b][m], ties="breslow").fit()
        np.testing.assert_allclose(fit.coef[b], ref.params, atol=TOL_SM, rtol=0)
        np.testing.assert_allclose(fit.se[b], ref.bse, atol=TOL_SM, rtol=0)
