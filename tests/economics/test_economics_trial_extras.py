"""Complete-case option, bootstrap replicates written with percentile and BC intervals, labels, CLI robustness."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from economics_synth import make_trial

from securebase.analysis.economics.analysis import CostEffectivenessAnalysis, write_outputs
from securebase.analysis.economics.intervals import bc_interval, intervals, percentile_interval
from securebase.analysis.economics.plan import load_plan


def test_percentile_and_bias_corrected_intervals_by_hand():
    x = np.arange(1.0, 1001.0)  # replicates 1..1000
    assert percentile_interval(x) == pytest.approx((np.quantile(x, 0.025), np.quantile(x, 0.975)))
    # estimate at the replicates' median: z0 = 0, BC = percentile
    assert bc_interval(x, 500.5) == pytest.approx(percentile_interval(x))
    # estimate below 30% of the replicates: z0 = Phi^-1(0.3), the interval moves down
    from scipy import stats

    z0 = stats.norm.ppf(0.3)
    lo, hi = stats.norm.cdf(2 * z0 - 1.959964), stats.norm.cdf(2 * z0 + 1.959964)
    assert bc_interval(x, 300.5) == pytest.approx((np.quantile(x, lo), np.quantile(x, hi)), rel=1e-6)
    rows = {r["statistic"]: r for r in intervals([np.column_stack([x, x / 1000])], (500.5, 0.5005), (20_000,))}
    assert rows["inb_20000"]["bootstrap_mean"] == pytest.approx(20_000 * 0.5005 - 500.5)


def test_complete_case_and_replicates_written(tmp_path: Path):
    p, ru, dl = make_trial(n=60, seed=4, missing=0.2)
    p["age_years"] = p["age_years"].clip(lower=7.5)
    cc = CostEffectivenessAnalysis(load_plan("ng26-care"), n_boot=120, m=2, complete_case=True).fit(p, ru, dl)
    observed = p["utility_12"].notna().sum()
    assert cc.n == observed and cc.m == 1
    assert "observed data (nothing imputed)" in cc.summary() and "imputed set" not in cc.summary()
    assert set(cc.cost_consequence["source"]) <= {"observed (nothing imputed)", "observed cases"}
    assert any("complete-case analysis" in w for w in cc.warnings)
    paths = write_outputs(cc, tmp_path)
    rep = pd.read_csv(tmp_path / "nhs_pss_bootstrap_replicates.csv")
    assert len(rep) == 120 and list(rep.columns[:4]) == ["imputation", "replicate", "incremental_cost",
                                                         "incremental_qaly"]
    np.testing.assert_allclose(rep["inb_20000"], 20_000 * rep["incremental_qaly"] - rep["incremental_cost"])
    iv = pd.read_csv(tmp_path / "nhs_pss_bootstrap_intervals.csv").set_index("statistic")
    assert iv.loc["inb_20000", "bootstrap_mean"] == pytest.approx(rep["inb_20000"].mean())
    assert iv.loc["incremental_cost", "percentile_low"] < iv.loc["incremental_cost", "percentile_high"]
    assert tmp_path / "societal_bootstrap_intervals.csv" in paths


def test_cli_without_sessions_attended_or_therapist(tmp_path: Path):
    from securebase.cli import main

    p, ru, dl = make_trial(n=40, seed=6, missing=0.0)
    p["age_years"] = p["age_years"].clip(lower=7.5)
    sess = p[p["treat"] == 1][["participant_id", "arm", "treat", "sessions_attended"]].assign(
        period_start_days=0, period_end_days=182, item="intervention_session").rename(
        columns={"sessions_attended": "quantity"})
    ru2 = pd.concat([ru, sess[ru.columns]], ignore_index=True)
    p2 = p.drop(columns=["sessions_attended", "therapist"])
    p2.to_csv(tmp_path / "p.csv", index=False)
    ru2.to_csv(tmp_path / "ru.csv", index=False)
    rc = main(["economics", "--plan", "ng26-care", "--data", str(tmp_path / "p.csv"), "--resource-use",
               str(tmp_path / "ru.csv"), "--out", str(tmp_path / "out"), "--n-boot", "100", "--imputations", "2"])
    assert rc == 0 and (tmp_path / "out" / "economics.json").exists()
    ru.to_csv(tmp_path / "ru_nosess.csv", index=False)  # no sessions anywhere: a clear message, no traceback
    rc = main(["economics", "--plan", "ng26-care", "--data", str(tmp_path / "p.csv"), "--resource-use",
               str(tmp_path / "ru_nosess.csv"), "--out", str(tmp_path / "out2"), "--n-boot", "100"])
    assert rc != 0 and not (tmp_path / "out2").exists()
