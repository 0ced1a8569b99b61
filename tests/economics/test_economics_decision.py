"""Decision outputs against an independent R implementation of BCEA's definitions (bcea_definitions.R)
on a committed simulated replicate matrix (bcea_replicates.csv)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from securebase.analysis.economics.decision import (
    ceac,
    decide,
    describe_icer,
    eib,
    evpi,
    kstar,
    population_multiplier,
)

REF = Path(__file__).parents[1] / "reference" / "economics"
R = json.loads((REF / "bcea_definitions.json").read_text())
REP = pd.read_csv(REF / "bcea_replicates.csv")
DC = (REP.c1 - REP.c0).to_numpy()
DE = (REP.e1 - REP.e0).to_numpy()
K = np.array(R["k"], dtype=float)
TOL = 1e-9  # deterministic functions of the same matrix: only floating-point summation order differs


def test_eib_ceac_evpi_icer_kstar_match_r():
    np.testing.assert_allclose(eib(DC, DE, K), R["eib"], rtol=TOL, atol=1e-9)
    np.testing.assert_allclose(ceac(DC, DE, K), R["ceac"], atol=0)
    np.testing.assert_allclose(evpi(DC, DE, K), R["evpi"], rtol=TOL, atol=1e-8)
    assert DC.mean() / DE.mean() == pytest.approx(R["icer"], rel=TOL)
    assert kstar(K, eib(DC, DE, K)) == pytest.approx(R["kstar"] if isinstance(R["kstar"], list) else [R["kstar"]])


def test_decide_curves_and_normal_approximation_match_r():
    est = [DC.mean(), DE.mean()]
    v = np.array(R["cov"])
    res = decide(est, v, np.column_stack([DC, DE]), K, thresholds=(25_000,))
    np.testing.assert_allclose(res.ceac_bootstrap, R["ceac"], atol=0)
    np.testing.assert_allclose(res.ceaf, R["ceaf"], atol=0)
    np.testing.assert_allclose(res.inmb, R["eib"], rtol=TOL, atol=1e-9)
    np.testing.assert_allclose(res.inmb_se, R["inmb_normal_se"], rtol=TOL)
    np.testing.assert_allclose(res.ceac_normal, R["ceac_normal"], rtol=1e-8, atol=1e-12)
    at = res.at(25_000)
    assert at["inmb"] == pytest.approx(R["at_25000"]["eib"], rel=TOL)
    assert at["prob_cost_effective_bootstrap"] == R["at_25000"]["ceac"]
    assert at["evpi_per_person"] == pytest.approx(R["at_25000"]["evpi"], rel=TOL)
    assert res.to_dict()["direction"] == "intervention minus usual care"
    assert "intervention minus usual care" in res.summary()


def test_population_evpi():
    assert population_multiplier(1000, 3, 0.035) == pytest.approx(1000 * (1 + 1 / 1.035 + 1 / 1.035 ** 2))
    res = decide([100.0, 0.01], np.diag([50.0 ** 2, 0.005 ** 2]), np.column_stack([DC, DE]), K,
                 thresholds=(20_000,), population=(1000, 3, 0.035))
    a = res.at(20_000)
    assert a["evpi_population"] == pytest.approx(a["evpi_per_person"] * res.population_multiplier)


@pytest.mark.parametrize("dc,de,words", [(-100, 0.01, "dominates"), (100, -0.01, "dominated by usual care"),
                                         (100, 0.01, "per QALY gained"), (-100, -0.01, "saved per QALY lost")])
def test_icer_dominance_in_words(dc, de, words):
    assert words in describe_icer(dc, de)


def test_singular_replicates_dropped_with_warning():
    rep = np.column_stack([DC, DE])
    rep[:3] = np.nan
    res = decide([1.0, 0.01], np.eye(2), rep, K)
    assert res.warnings and "3 bootstrap replicate(s)" in res.warnings[0]
    assert len(res.replicates) == len(DC) - 3
