"""The full pipeline of Ben et al. (2023) against our R run of the same pipeline (mi_bootstrap_pipeline.R):
PMM by arm (m = 5), 5,000 stratified bootstrap replicates of the SUR per imputed set, Rubin's rules.
Data: ben2023_cea_tutorial.csv, CC BY 4.0, Ben et al. 2023 PharmacoEconomics 41:1403 (angelajben/R-Tutorial).

Monte Carlo tolerances (stated per test):
* on R's own imputed sets only the bootstrap differs: a bootstrap variance from 5,000 replicates has
  relative SD sqrt(2/5000) = 2% per set, 0.9% averaged over 5 sets, 1.3% for a difference of two runs;
  we allow 5% (about 4 SD). CEAC shares from 25,000 stacked replicates: SD of a difference <= 0.0045;
  we allow 0.02.
* with our own PMM imputations the pooled estimates also differ by imputation: each pooled mean has
  variance B/m, so the difference has SD sqrt((B_R + B_py)/m); we allow 4 SD. Pooled SEs within 10%
  (W dominates T here; B from 5 sets is itself noisy).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from securebase.analysis.economics import ben2023
from securebase.analysis.economics.decision import decide

REF = Path(__file__).parents[1] / "reference" / "economics"
R = json.loads((REF / "mi_bootstrap_pipeline.json").read_text())
DATA = pd.read_csv(REF / "ben2023_cea_tutorial.csv")
WTP = np.array(R["wtp"], dtype=float)


@pytest.fixture(scope="module")
def on_r_sets():
    long = pd.read_csv(REF / "ben2023_mice_imputations.csv")
    sets = [ben2023.derive(g.drop(columns=".imp").reset_index(drop=True)) for _, g in long.groupby(".imp")]
    est = ben2023.estimator(m=5, n_boot=5000, seed=20260226)
    return est.fit(DATA, sets)


@pytest.fixture(scope="module")
def own():
    return ben2023.analyse(DATA, m=5, n_boot=5000, seed=20260227, wtp=WTP)


def test_sur_estimates_and_between_variance_on_r_imputations(on_r_sets):
    # deterministic given the imputed sets: SUR to 1e-8 relative, as the complete-case check
    np.testing.assert_allclose(on_r_sets.estimates, R["estimates_per_imputation"], rtol=1e-8)
    np.testing.assert_allclose(on_r_sets.pooled.between, R["B"], rtol=1e-8)
    np.testing.assert_allclose(on_r_sets.pooled.estimate, R["pooled"], rtol=1e-8)


def test_bootstrap_within_variance_on_r_imputations(on_r_sets):
    w, wr = on_r_sets.pooled.within, np.array(R["W"])
    np.testing.assert_allclose(np.diag(w), np.diag(wr), rtol=0.05)  # 5%: see module docstring
    corr = w[0, 1] / np.sqrt(w[0, 0] * w[1, 1])
    corr_r = wr[0, 1] / np.sqrt(wr[0, 0] * wr[1, 1])
    assert abs(corr - corr_r) < 0.03  # SD of a correlation difference here is about 0.006
    dec = decide(on_r_sets.pooled.estimate, on_r_sets.pooled.total, on_r_sets.stacked, WTP)
    np.testing.assert_allclose(dec.ceac_bootstrap, R["ceac_bootstrap"], atol=0.02)
    np.testing.assert_allclose(dec.ceac_normal, R["ceac_normal"], atol=0.02)
    np.testing.assert_allclose(dec.inmb, R["inb"], rtol=1e-8)


def test_normal_ceac_formula_matches_r_exactly():
    dec = decide(R["pooled"], np.array(R["T"]), np.zeros((10, 2)), WTP)
    np.testing.assert_allclose(dec.inmb, R["inb"], rtol=1e-10)
    np.testing.assert_allclose(dec.inmb_se, R["se_inb"], rtol=1e-10)
    np.testing.assert_allclose(dec.ceac_normal, R["ceac_normal"], rtol=1e-9, atol=1e-14)


def test_full_pipeline_with_own_pmm_agrees_with_r(own):
    pooled = own.joint.pooled
    b_r, b_py = np.diag(R["B"]), np.diag(pooled.between)
    tol = 4 * np.sqrt((b_r + b_py) / 5)  # 4 SD of the imputation noise of the difference
    assert np.all(np.abs(pooled.estimate - np.array(R["pooled"])) <= tol)
    np.testing.assert_allclose(pooled.se, R["se_pooled"], rtol=0.10)
    assert own.n == 200 and own.joint.pooled.m == 5 and len(own.joint.stacked) == 25_000
    # imputed values are observed values of the same arm (PMM donors)
    sets = ben2023.estimator(m=2, seed=5).completed_sets(ben2023.check(DATA))
    for s in sets:
        for arm in (0, 1):
            obs = set(DATA.loc[DATA.Tr == arm, "Cm1"].dropna())
            assert set(s.loc[s.Tr == arm, "Cm1"]) <= obs
        assert not s[list(ben2023.FOLLOW_UP)].isna().any().any()
    assert own.decision.direction == "intervention minus usual care"
