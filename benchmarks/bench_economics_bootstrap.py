"""Benchmark: 10,000 stratified bootstrap replicates of the cost-QALY SUR on 400 participants.

Three implementations measured in one run on the same synthetic data (seeded):
* batched numpy (securebase: all replicates of a batch fitted at once from their Gram matrices);
* a plain Python loop calling the single-fit SUR per replicate (timed on fewer replicates, extrapolated);
* R ``boot`` with ``systemfit(method = "SUR")`` (timed on 200 replicates, extrapolated linearly).
Figures are printed as ratios against the batched implementation.

    .venv/bin/python benchmarks/bench_economics_bootstrap.py [--quick]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from securebase.analysis.economics.bootstrap import bootstrap_batch, make_problem, run_batches
from securebase.analysis.economics.sur import Equation, design_matrices, fit_sur_arrays

N, REPS = 400, 10_000
EQS = (Equation("cost", "cost", ("treat", "cost0", "age", "sex")),
       Equation("qaly", "qaly", ("treat", "u0", "age", "sex")))

R_SCRIPT = r"""
suppressPackageStartupMessages({library(systemfit); library(boot)})
args <- commandArgs(TRUE); d <- read.csv(args[1]); R <- as.integer(args[2])
f <- function(x, i) {
  fit <- systemfit(list(cost = cost ~ treat + cost0 + age + sex, qaly = qaly ~ treat + u0 + age + sex),
                   "SUR", data = x[i, ])
  coef(fit)[c("cost_treat", "qaly_treat")]
}
set.seed(1)
t0 <- proc.time()[["elapsed"]]
b <- boot(d, f, R = R, strata = d$treat)
cat(proc.time()[["elapsed"]] - t0, "\n")
"""


def synthetic(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    treat = np.arange(n) % 2
    age, sex = rng.uniform(5, 17, n), rng.integers(0, 2, n)
    cost0 = rng.gamma(2, 500, n)
    u0 = np.clip(rng.normal(0.75, 0.12, n), -0.2, 1)
    cost = rng.gamma(2, 1500, n) + 800 * treat + 0.3 * cost0
    qaly = 0.2 + 0.6 * u0 + 0.01 * treat + rng.normal(0, 0.06, n)
    return pd.DataFrame({"treat": treat, "age": age, "sex": sex, "cost0": cost0, "u0": u0, "cost": cost, "qaly": qaly})


def time_batched(d: pd.DataFrame, reps: int) -> float:
    xs, ys = design_matrices(EQS, d)
    prob = make_problem(xs, ys, (1, 6), d["treat"].to_numpy())
    t = time.perf_counter()
    out = run_batches(bootstrap_batch, seed=1, n_total=reps, batch_size=2500, args=(prob, False))
    el = time.perf_counter() - t
    assert out.shape == (reps, 2) and np.isfinite(out).all()
    return el


def time_loop(d: pd.DataFrame, reps: int) -> float:
    xs, ys = design_matrices(EQS, d)
    rng = np.random.default_rng(1)
    arms = [np.flatnonzero(d["treat"].to_numpy() == a) for a in (0, 1)]
    t = time.perf_counter()
    for _ in range(reps):
        idx = np.concatenate([rng.choice(a, size=len(a), replace=True) for a in arms])
        fit_sur_arrays([x[idx] for x in xs], [y[idx] for y in ys])
    return time.perf_counter() - t


def time_r(d: pd.DataFrame, reps: int) -> float | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        csv, script = Path(tmp) / "d.csv", Path(tmp) / "b.R"
        d.to_csv(csv, index=False)
        script.write_text(R_SCRIPT)
        res = subprocess.run(["Rscript", str(script), str(csv), str(reps)], capture_output=True, text=True,
                             timeout=600)
        if res.returncode != 0:
            print("R failed:", res.stderr.strip()[-300:])
            return None
        return float(res.stdout.split()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="fewer loop and R replicates (noisier extrapolation)")
    a = ap.parse_args()
    loop_reps, r_reps = (200, 50) if a.quick else (1000, 200)
    d = synthetic(N)
    time_batched(d, 500)  # warm-up (imports, BLAS threads)
    tb = time_batched(d, REPS)
    tl = time_loop(d, loop_reps) * REPS / loop_reps
    tr = time_r(d, r_reps)
    print(f"SUR bootstrap, n = {N} participants, {REPS:,} replicates (stratified by arm)")
    print(f"  batched numpy (securebase)   {tb:8.2f} s   (measured on all {REPS:,})")
    print(f"  plain Python loop            {tl:8.2f} s   (extrapolated from {loop_reps} replicates)"
          f"   batched is {tl / tb:6.1f}x faster")
    if tr is None:
        print("  R boot + systemfit           not available (Rscript, systemfit or boot missing)")
    else:
        tr_full = tr * REPS / r_reps
        print(f"  R boot + systemfit           {tr_full:8.2f} s   (extrapolated from {r_reps} replicates)"
              f"   batched is {tr_full / tb:6.1f}x faster (target >= 100x)")


if __name__ == "__main__":
    main()
