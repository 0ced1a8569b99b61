"""Bootstrap replicates written out, with percentile and bias-corrected (BC) intervals.

For a statistic with point estimate theta_hat and bootstrap replicates theta*_r (r = 1..R; with multiple
imputation, the replicates of all imputed sets stacked):

* percentile interval: the alpha/2 and 1 - alpha/2 quantiles of theta*;
* bias-corrected interval (Efron & Tibshirani 1993, sec. 14.3, BCa with acceleration 0): z0 =
  Phi^-1(#{theta*_r < theta_hat} / R); the interval is the Phi(2 z0 + z_{alpha/2}) and
  Phi(2 z0 + z_{1-alpha/2}) quantiles of theta*;
* the bootstrap mean of the incremental net benefit INB(k) = k dQ - dC at each threshold.
Statistics: incremental cost, incremental QALYs and INB at each threshold (intervention minus usual care).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats


def percentile_interval(x: np.ndarray, alpha: float = 0.05) -> tuple[float, float]:
    return float(np.quantile(x, alpha / 2)), float(np.quantile(x, 1 - alpha / 2))


def bc_interval(x: np.ndarray, estimate: float, alpha: float = 0.05) -> tuple[float, float]:
    x = np.asarray(x, dtype=float)
    share = np.clip(np.mean(x < estimate), 1 / (2 * len(x)), 1 - 1 / (2 * len(x)))
    z0 = stats.norm.ppf(share)
    lo = stats.norm.cdf(2 * z0 + stats.norm.ppf(alpha / 2))
    hi = stats.norm.cdf(2 * z0 + stats.norm.ppf(1 - alpha / 2))
    return float(np.quantile(x, lo)), float(np.quantile(x, hi))


def replicate_frame(replicates: Sequence[np.ndarray], thresholds: Sequence[float]) -> pd.DataFrame:
    rows = []
    for i, rep in enumerate(replicates):
        rep = np.asarray(rep, dtype=float)
        d = pd.DataFrame({"imputation": i + 1, "replicate": np.arange(1, len(rep) + 1),
                          "incremental_cost": rep[:, 0], "incremental_qaly": rep[:, 1]})
        for k in thresholds:
            d[f"inb_{k:.0f}"] = k * rep[:, 1] - rep[:, 0]
        rows.append(d)
    return pd.concat(rows, ignore_index=True)


def intervals(replicates: Sequence[np.ndarray], estimate: Sequence[float], thresholds: Sequence[float],
              alpha: float = 0.05) -> list[dict[str, Any]]:
    rep = np.vstack([np.asarray(r, dtype=float) for r in replicates])
    rep = rep[np.all(np.isfinite(rep), axis=1)]
    dc, dq = float(estimate[0]), float(estimate[1])
    stats_ = [("incremental_cost", rep[:, 0], dc), ("incremental_qaly", rep[:, 1], dq)]
    stats_ += [(f"inb_{k:.0f}", k * rep[:, 1] - rep[:, 0], k * dq - dc) for k in thresholds]
    out = []
    for name, x, est in stats_:
        p, b = percentile_interval(x, alpha), bc_interval(x, est, alpha)
        out.append({"statistic": name, "estimate": est, "bootstrap_mean": float(x.mean()),
                    "percentile_low": p[0], "percentile_high": p[1], "bc_low": b[0], "bc_high": b[1],
                    "replicates": int(len(x)), "direction": "intervention minus usual care"})
    return out


def write_replicates(replicates: Sequence[np.ndarray], estimate: Sequence[float], thresholds: Sequence[float],
                     out_dir: Path, prefix: str, parquet: bool = False) -> list[Path]:
    """``<prefix>bootstrap_replicates.csv`` (or .parquet) and ``<prefix>bootstrap_intervals.csv``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    frame = replicate_frame(replicates, thresholds)
    rp = out_dir / f"{prefix}bootstrap_replicates.{'parquet' if parquet else 'csv'}"
    if parquet:
        frame.to_parquet(rp, index=False)
    else:
        frame.to_csv(rp, index=False)
    ip = out_dir / f"{prefix}bootstrap_intervals.csv"
    pd.DataFrame(intervals(replicates, estimate, thresholds)).to_csv(ip, index=False)
    return [rp, ip]
