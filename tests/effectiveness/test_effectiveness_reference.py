"""Every estimator against R on the committed synthetic reference data.

The R scripts and the JSON they wrote are in tests/reference/effectiveness/ (rerun instructions in each
script's header). Tolerances, from the issue: lm, glm, coxph, glm.nb, ivreg and p.adjust agree to
1e-6 relative in estimates and 1e-5 relative in standard errors; nlme::gls (MMRM) and nlme::lme
(partially nested) to 1e-4 relative.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

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
    aalen_johansen,
    adjust,
    kaplan_meier,
)

REF = Path(__file__).resolve().parents[1] / "reference" / "effectiveness"
COVS = ["sdq_total_0", "site", "age_band", "care_status"]
EST_TOL, SE_TOL = 1e-6, 1e-5   # lm, glm, coxph, glm.nb, ivreg, p.adjust
NLME_TOL = 1e-4                # gls, lme


def ref(name: str) -> dict:
    return json.loads((REF / f"{name}.json").read_text())


@pytest.fixture(scope="module")
def trial() -> pd.DataFrame:
    return pd.read_csv(REF / "trial.csv")


def check_coefs(result, r: dict, est_tol: float, se_tol: float, rename: dict | None = None) -> None:
    rename = rename or {}
    for name, coef, se in zip(r["names"], r["coef"], r["se"], strict=True):
        ours = result.coefficients[rename.get(name, name)]
        np.testing.assert_allclose(ours[0], coef, rtol=est_tol, atol=1e-12, err_msg=name)
        np.testing.assert_allclose(ours[1], se, rtol=se_tol, err_msg=name)


def test_ancova_matches_lm(trial):
    r = ref("ancova")
    res = Ancova("sdq_total_12", COVS).fit(trial)
    check_coefs(res, r["coefficients"], EST_TOL, SE_TOL)
    np.testing.assert_allclose(res.ci, r["ci"], rtol=EST_TOL)
    np.testing.assert_allclose(res.p_value, r["p_treat"], rtol=1e-6)
    assert sum(res.n_analysed.values()) == r["n"]
    assert res.warnings  # rows dropped for a missing outcome are reported


def test_ancova_interaction_matches_lm_anova(trial):
    r = ref("ancova")["interaction_age_band"]
    res = Ancova("sdq_total_12", COVS, interaction="age_band").fit(trial)
    check_coefs(res, r["coefficients"], EST_TOL, SE_TOL, rename={"treat:age_band5-10": "treat:age_band5-10"})
    test = res.details["interaction_test"]
    np.testing.assert_allclose([test["statistic"], test["p_value"]], [r["F"], r["p"]], rtol=1e-6)


def test_logistic_matches_glm(trial):
    r = ref("logistic")
    res = Logistic("maltreatment_12", COVS).fit(trial)
    check_coefs(res, r["coefficients"], EST_TOL, SE_TOL)
    np.testing.assert_allclose(res.p_value, r["p_treat"], rtol=1e-6)
    np.testing.assert_allclose(res.ci, r["ci_or"], rtol=EST_TOL)
    rd = res.get("risk difference")
    np.testing.assert_allclose(rd.coef, r["rd"], rtol=EST_TOL)
    np.testing.assert_allclose(rd.se, r["rd_se"], rtol=SE_TOL)


def test_negative_binomial_matches_glm_nb(trial):
    r = ref("counts")["negbin"]
    res = NegativeBinomial("exclusions_12", COVS).fit(trial)
    check_coefs(res, r["coefficients"], EST_TOL, SE_TOL)
    np.testing.assert_allclose(res.details["theta"], r["theta"], rtol=EST_TOL)
    np.testing.assert_allclose(res.details["theta_se"], r["theta_se"], rtol=SE_TOL)


def test_poisson_matches_glm(trial):
    r = ref("counts")["poisson"]
    res = Poisson("exclusions_12", COVS).fit(trial)
    check_coefs(res, r["coefficients"], EST_TOL, SE_TOL)
    assert any("overdispersed" in w for w in res.warnings)


@pytest.mark.parametrize("kind,strata", [("unstratified", ()), ("stratified", ("site",))])
def test_cox_matches_coxph(trial, kind, strata):
    r = ref("cox")[kind]
    res = Cox("placement_end_time", "placement_end_event", ["sdq_total_0", "age_band", "care_status"],
              strata=strata).fit(trial)
    check_coefs(res, r["coefficients"], EST_TOL, SE_TOL)
    np.testing.assert_allclose(res.details["log_partial_likelihood"], r["loglik"], rtol=1e-9)


def test_kaplan_meier_matches_survfit(trial):
    r = ref("cox")["km"]
    ev = (trial.placement_end_event == 1).to_numpy(float)
    strata = np.array(r["strata"])
    for arm in (0, 1):
        m = trial.treat.to_numpy() == arm
        km = kaplan_meier(trial.placement_end_time.to_numpy(float)[m], ev[m])
        sel = strata == f"treat={arm}"
        np.testing.assert_allclose(km.time, np.array(r["time"])[sel])
        np.testing.assert_allclose(km.survival, np.array(r["surv"])[sel], rtol=1e-10)
        np.testing.assert_allclose(km.se, np.array(r["se"])[sel], rtol=1e-8)


def test_aalen_johansen_matches_cuminc(trial):
    r = ref("cox")["cuminc"]
    for row, est in zip(r["rows"], r["est"], strict=True):
        arm, cause = (int(x) for x in row.split())
        m = trial.treat.to_numpy() == arm
        aj = aalen_johansen(trial.placement_end_time.to_numpy(float)[m],
                            trial.placement_end_event.to_numpy(int)[m], cause)
        ours = [aj.cumulative_incidence[aj.time <= t].iloc[-1] if (aj.time <= t).any() else 0.0 for t in r["times"]]
        np.testing.assert_allclose(ours, est, rtol=1e-10)


def test_cace_matches_ivreg(trial):
    r = ref("ivreg")
    res = Cace("sdq_total_12", COVS).fit(trial)
    check_coefs(res, r["coefficients"], EST_TOL, SE_TOL)
    np.testing.assert_allclose(res.p_value, r["p"], rtol=1e-6)
    assert res.primary.df == r["df"]


def test_holm_hochberg_match_p_adjust():
    r = ref("padjust")
    for method in ("holm", "hochberg", "bonferroni"):
        np.testing.assert_allclose(adjust(r["p"], method), r[method], rtol=EST_TOL, err_msg=method)


def test_mmrm_matches_gls():
    r = ref("mmrm")
    visits = pd.read_csv(REF / "visits.csv")
    res = Mmrm("sdq_total", visits=(6, 12), baseline="sdq_total_0",
               covariates=["site", "age_band", "care_status"]).fit(visits)
    check_coefs(res, r["coefficients"], NLME_TOL, NLME_TOL)
    np.testing.assert_allclose(res.details["covariance"], r["sigma"], rtol=NLME_TOL)
    # Satterthwaite df: emmeans' numerical ("appx-satterthwaite") derivatives, so a looser 1e-2
    for visit, df in zip(r["satterthwaite"]["visit"], r["satterthwaite"]["df"], strict=True):
        np.testing.assert_allclose(res.get(f"month {visit}").df, df, rtol=1e-2)


def test_partially_nested_matches_lme(trial):
    r = ref("partially_nested")
    res = PartiallyNested("sdq_total_12", COVS).fit(trial)
    check_coefs(res, r["coefficients"], NLME_TOL, NLME_TOL)
    np.testing.assert_allclose(res.details["therapist_sd"], r["tau"], rtol=1e-3)
    np.testing.assert_allclose(res.details["residual_sd"]["usual_care"], r["sigma"], rtol=NLME_TOL)
    np.testing.assert_allclose(res.details["residual_sd"]["intervention"], r["sigma"] * r["sigma_ratio"],
                               rtol=NLME_TOL)
    assert [res.details["df"][n] for n in r["coefficients"]["names"]] == r["df"]


def test_multiple_imputation_pooled_estimate_within_mc_tolerance_of_mice(trial):
    """mice (m = 200, norm, by arm) vs ours (m = 200, norm, by arm, different random numbers): the pooled
    estimates differ by Monte Carlo error only, SD sqrt(B/m_R + B/m_ours); tolerance 4 SD. Within-imputation
    variance agrees to 1% and the total SE to 3% (B itself has relative MC error sqrt(2/(m-1)) = 10%)."""
    r = ref("mice")
    mi = MultipleImputation(Ancova("sdq_total_12", COVS), impute=["sdq_total_6", "sdq_total_12"],
                            predictors=COVS, m=200, iterations=10, seed=3)
    res = mi.fit(trial)
    rub = res.details["rubin"]
    mc_sd = np.sqrt(r["between"] / r["m"] + rub["between"] / rub["m"])
    assert abs(res.estimate - r["estimate"]) < 4 * mc_sd
    np.testing.assert_allclose(rub["within"], r["within"], rtol=0.01)
    np.testing.assert_allclose(res.se, r["se"], rtol=0.03)
    np.testing.assert_allclose(res.primary.df, r["df"], rtol=0.15)


def test_mmrm_satterthwaite_df_is_exact_in_the_balanced_complete_case():
    """Complete data and every term interacted with visit: GLS is OLS per visit, the REML covariance is
    E'E/(n - q) and the Satterthwaite df must equal n - q exactly (q = 3: intercept, treat, baseline)."""
    rng = np.random.default_rng(4)
    n = 80
    treat = np.arange(n) % 2
    x = rng.normal(size=n)
    e = rng.multivariate_normal([0, 0], [[4, 2], [2, 5]], n)
    wide = pd.DataFrame({"participant_id": np.arange(n), "treat": treat, "x": x,
                         "y6": 1 + x - treat + e[:, 0], "y12": 2 + x - 2 * treat + e[:, 1]})
    long = pd.concat([wide.assign(visit_month=6, y=wide.y6), wide.assign(visit_month=12, y=wide.y12)])
    res = Mmrm("y", baseline="x").fit(long)
    for v in (6, 12):
        ols = Ancova(f"y{v}", ["x"]).fit(wide)
        est = res.get(f"month {v}")
        np.testing.assert_allclose([est.coef, est.se], [ols.estimate, ols.se], rtol=1e-6)
        np.testing.assert_allclose(est.df, n - 3, rtol=1e-3)
