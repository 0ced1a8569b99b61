"""EVPI, regression EVPPI and EVSI against closed forms (linear-normal model) and R mgcv on committed samples."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from securebase.analysis.economics.model.voi import evpi, evppi, evppi_groups, evsi, normal_expected_max0
from securebase.errors import DataError

REF = Path(__file__).parents[1] / "reference" / "economics"
N = 4000
A, B1, B2 = 200.0, 400.0, 300.0  # INB = A + B1 x1 + B2 x2, x1, x2 ~ N(0, 1) independent


@pytest.fixture(scope="module")
def linear():
    rng = np.random.default_rng(7)
    x1, x2 = rng.normal(0, 1, N), rng.normal(0, 1, N)
    return x1, x2, A + B1 * x1 + B2 * x2


def _mc_se(g):
    return float(np.std(np.maximum(0, g)) / np.sqrt(len(g)))


def test_evpi_closed_form(linear):
    x1, x2, inb = linear
    closed = normal_expected_max0(A, np.hypot(B1, B2))
    est = evpi(np.column_stack([np.zeros(N), inb]))
    assert abs(est - closed) < 4 * _mc_se(inb)
    assert evpi(inb) == est  # a vector is the INB against option 0


def test_regression_evppi_agrees_with_closed_form_within_monte_carlo_error(linear):
    x1, x2, inb = linear
    for x, b in ((x1, B1), (x2, B2)):
        closed = normal_expected_max0(A, b)
        g_true = A + b * x  # E[INB | x] on these very samples: removes the sampling noise of x
        on_sample = float(np.mean(np.maximum(0, g_true)) - max(0, g_true.mean()))
        est = evppi(inb, x)
        assert abs(est - on_sample) < 2 * _mc_se(g_true)  # regression (estimation) error only
        assert abs(est - closed) < 4 * _mc_se(g_true)  # and Monte Carlo error
    both = evppi(inb, np.column_stack([x1, x2]))
    assert both == pytest.approx(evpi(inb), rel=1e-6)  # all the parameters: EVPPI = EVPI
    assert evppi(inb, np.random.default_rng(3).normal(size=N)) < 0.03 * evpi(inb)  # noise: about 0


def test_regression_evsi_agrees_with_closed_form(linear):
    x1, x2, inb = linear
    n, tau = 10, 2.0
    xbar = x1 + np.random.default_rng(11).normal(0, tau / np.sqrt(n), N)  # the proposed study's estimate
    s = B1 / np.sqrt(1 + tau ** 2 / n)  # b1 sigma1^2 / sqrt(sigma1^2 + tau^2 / n) with sigma1 = 1
    closed = normal_expected_max0(A, s)
    est = evsi(inb, xbar)
    assert abs(est - closed) < 4 * _mc_se(A + s * (xbar - xbar.mean()) / xbar.std())
    assert est < evppi(inb, x1)  # a finite study is worth less than perfect information on x1


def test_evppi_matches_r_mgcv_on_the_committed_samples():
    d = pd.read_csv(REF / "evppi_samples.csv")
    r = json.loads((REF / "evppi_gam_r.json").read_text())
    cases = {"linear_x1": ("inb_linear", ["x1"]), "linear_x2": ("inb_linear", ["x2"]),
             "linear_x1_x2": ("inb_linear", ["x1", "x2"]), "nonlin_x1": ("inb_nonlin", ["x1"]),
             "nonlin_x2_x3_additive": ("inb_nonlin", ["x2", "x3"])}
    for key, (y, cols) in cases.items():
        # different smoothers (P-spline + GCV vs thin-plate + GCV) on the same data: within 1%
        assert evppi(d[y].to_numpy(), d[cols].to_numpy()) == pytest.approx(r[key], rel=0.01), key
    assert evppi(d["inb_nonlin"].to_numpy(), d[["x3"]].to_numpy()) == pytest.approx(r["nonlin_x3"], abs=0.5)
    assert evpi(d["inb_nonlin"].to_numpy()) == pytest.approx(r["nonlin_evpi"], rel=1e-9)


def test_groups_and_three_options(linear):
    x1, x2, inb = linear
    nb = np.column_stack([np.zeros(N), inb, 0.5 * inb + 50])
    g = evppi_groups(nb, {"a": x1, "b": x2, "ab": np.column_stack([x1, x2])}, {"x1": ["a"], "x2": ["b"],
                                                                            "all": ["ab"]})
    assert g["all"] == pytest.approx(evpi(nb), rel=1e-6)
    assert 0 < g["x2"] < g["x1"] < g["all"]
    with pytest.raises(DataError, match="differ in number"):
        evppi(nb, x1[:10])
