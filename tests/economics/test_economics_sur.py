"""SUR against R systemfit (complete cases of the Ben et al. 2023 data) and the batched kernel against the
single-fit reference. Data: ben2023_cea_tutorial.csv, CC BY 4.0, Ben et al. 2023 PharmacoEconomics 41:1403."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from securebase.analysis.economics import ben2023
from securebase.analysis.economics.bootstrap import (
    bootstrap_batch,
    bootstrap_counts,
    make_problem,
    run_batches,
)
from securebase.analysis.economics.engine import gamma_glm_cost
from securebase.analysis.economics.sur import (
    SUR,
    design_matrices,
    fit_sur_arrays,
    gram_batch,
    stack_system,
    sur_from_gram,
)

REF = Path(__file__).parents[1] / "reference" / "economics"
DATA = REF / "ben2023_cea_tutorial.csv"
R_SUR = json.loads((REF / "sur_complete_case.json").read_text())
RTOL = 1e-8  # issue 7: complete-case SUR reproduces R systemfit to 1e-8 relative


def _rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


@pytest.fixture(scope="module")
def cc():
    return ben2023.complete_case(pd.read_csv(DATA))


@pytest.fixture(scope="module")
def eqs():
    return ben2023.estimator(m=2).equations


def test_complete_case_matches_r_systemfit(cc, eqs):
    assert R_SUR["control"]["methodResidCov"] == "geomean" and R_SUR["control"]["maxiter"] == 1
    fit = SUR(eqs).fit(cc)
    assert fit.n == R_SUR["n"] == 170
    assert sorted(cc["id"]) == sorted(R_SUR["ids"])
    assert [n.replace("cost_", "costreg_").replace("qaly_", "effectreg_") for n in fit.coef_names] == R_SUR["coef_names"]
    assert _rel(fit.coefficients, R_SUR["coefficients"]) < RTOL
    assert _rel(fit.vcov, R_SUR["vcov"]) < RTOL
    assert _rel(fit.resid_cov_est, R_SUR["residCovEst"]) < RTOL
    assert _rel(fit.resid_cov, R_SUR["residCov"]) < RTOL
    assert "SUR" in fit.summary() and fit.to_dict()["n"] == 170


def test_batched_kernel_equals_single_fits(cc, eqs):
    xs, ys = design_matrices(eqs, cc)
    z, layout = stack_system(xs, ys)
    rng = np.random.default_rng(3)
    idx = rng.integers(0, len(cc), size=(6, len(cc)))
    w = np.stack([np.bincount(r, minlength=len(cc)) for r in idx]).astype(float)
    batch = sur_from_gram(gram_batch(z, w), layout, w.sum(axis=1))
    for b, r in enumerate(idx):
        ref = fit_sur_arrays([x[r] for x in xs], [y[r] for y in ys])
        assert _rel(batch[b], ref.coefficients) < 1e-8  # same algebra, different rounding paths
    one = sur_from_gram(gram_batch(z, np.ones((1, len(cc)))), layout, len(cc))
    assert _rel(one[0], R_SUR["coefficients"]) < RTOL


def test_gamma_glm_sensitivity_matches_r(cc):
    out = gamma_glm_cost([cc], "Tcosts", "Tr", ("C", "age", "sex"))
    # tolerance 1e-8 relative: both IRLS runs converged to 1e-14 (R glm.control epsilon, statsmodels tol)
    assert out["incremental_cost"] == pytest.approx(R_SUR["glm_incremental_cost"], rel=1e-8)
    assert out["se"] == pytest.approx(R_SUR["glm_incremental_cost_se"], rel=1e-8)


def test_stratified_counts_keep_arm_sizes(cc, eqs):
    xs, ys = design_matrices(eqs, cc)
    arm = cc["Tr"].to_numpy()
    prob = make_problem(xs, ys, (1, 6), arm)
    w = bootstrap_counts(prob, np.random.default_rng(1), 50, clustered=False)
    assert np.all(w[:, arm == 1].sum(axis=1) == (arm == 1).sum())
    assert np.all(w[:, arm == 0].sum(axis=1) == (arm == 0).sum())


def test_two_stage_cluster_counts(cc, eqs):
    xs, ys = design_matrices(eqs, cc)
    arm = cc["Tr"].to_numpy()
    cluster = np.where(arm == 1, np.array([f"T{i % 6}" for i in range(len(arm))], dtype=object), None)
    prob = make_problem(xs, ys, (1, 6), arm, cluster)
    assert len(prob.groups[1]) == 6 and all(len(g) == 1 for g in prob.groups[0])
    w = bootstrap_counts(prob, np.random.default_rng(2), 400, clustered=True)
    # usual care: singletons, so stage 1 alone -> arm size kept; intervention: totals vary with cluster sizes
    assert np.all(w[:, arm == 0].sum(axis=1) == (arm == 0).sum())
    assert w[:, arm == 1].sum(axis=1).std() > 0
    assert w[:, arm == 1].sum(axis=1).mean() == pytest.approx((arm == 1).sum(), rel=0.05)
    # a participant is either absent with its whole cluster or drawn within it: counts within one cluster
    # are zero together when the cluster was not drawn
    members = prob.groups[1][0]
    none = w[:, members].sum(axis=1) == 0
    assert none.any()


def test_runner_path_matches_in_process_contract(cc, eqs):
    xs, ys = design_matrices(eqs, cc)
    prob = make_problem(xs, ys, (1, 6), cc["Tr"].to_numpy())
    a = run_batches(bootstrap_batch, seed=11, n_total=250, batch_size=100, args=(prob, False))
    children = np.random.SeedSequence(11).spawn(3)
    b = np.vstack([bootstrap_batch(s, k, prob, False) for s, k in zip(children, (100, 100, 50), strict=True)])
    assert a.shape == (250, 2)
    np.testing.assert_array_equal(a, b)
