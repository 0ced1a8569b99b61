"""MMRM fit time (300 children, 2 follow-up visits, unstructured covariance, REML) against
statsmodels MixedLM and R nlme::gls(corSymm, varIdent), measured in the same run.

Run: .venv/bin/python benchmarks/bench_effectiveness_mmrm.py [--quick]
Prints the median time per fit of each and the ratios (ours / baseline; below 1 means we are faster).
statsmodels has no unstructured residual covariance: its baseline is MixedLM with a random intercept
per child (REML), the nearest model it fits. R is timed inside one Rscript process (startup excluded).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd


def make_data(n: int = 300, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    treat = rng.permutation(np.arange(n) % 2)
    base = rng.normal(18, 6.5, n)
    site = rng.choice(["S1", "S2", "S3", "S4"], n)
    e = rng.multivariate_normal([0, 0], [[25, 15], [15, 30]], n)
    y6 = 4 + 0.6 * base - 1 * treat + e[:, 0]
    y12 = 3 + 0.55 * base - 2 * treat + e[:, 1]
    y12[rng.random(n) < 0.15] = np.nan
    d = pd.DataFrame({"participant_id": np.arange(n), "treat": treat, "sdq_total_0": base, "site": site})
    long = pd.concat([d.assign(visit_month=6, sdq_total=y6), d.assign(visit_month=12, sdq_total=y12)])
    return long.dropna().sort_values(["participant_id", "visit_month"]).reset_index(drop=True)


def median_time(fn, reps: int) -> float:
    fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def time_ours(d: pd.DataFrame, reps: int) -> float:
    from securebase.analysis.effectiveness import Mmrm

    m = Mmrm("sdq_total", visits=(6, 12), baseline="sdq_total_0", covariates=["site"])
    return median_time(lambda: m.fit(d), reps)


def time_statsmodels(d: pd.DataFrame, reps: int) -> float:
    import statsmodels.formula.api as smf

    dd = d.assign(visit=d.visit_month.astype(str))

    def fit() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            smf.mixedlm("sdq_total ~ 0 + visit + visit:treat + visit:sdq_total_0 + site", dd,
                        groups=dd["participant_id"]).fit(reml=True)

    return median_time(fit, reps)


R_SCRIPT = """
suppressPackageStartupMessages(library(nlme))
v <- read.csv("{csv}")
v$visit <- factor(v$visit_month, levels = c(6, 12)); v$vidx <- as.integer(v$visit); v$site <- factor(v$site)
f <- function() gls(sdq_total ~ 0 + visit + site + visit:treat + visit:sdq_total_0, data = v,
                   correlation = corSymm(form = ~ vidx | participant_id), weights = varIdent(form = ~ 1 | visit),
                   method = "REML")
invisible(f())
t <- sapply(seq_len({reps}), function(i) system.time(f())[["elapsed"]])
cat(median(t), "\\n")
"""


def time_r(d: pd.DataFrame, reps: int) -> float | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "v.csv"
        d.to_csv(csv, index=False)
        script = Path(tmp) / "bench.R"
        script.write_text(R_SCRIPT.format(csv=csv.as_posix(), reps=reps))
        out = subprocess.run(["Rscript", str(script)], capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            print("R failed:", out.stderr.strip()[:300])
            return None
        return float(out.stdout.split()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = ap.parse_args()
    reps = 5 if args.quick else 30
    d = make_data()
    print(f"MMRM, 300 children, 2 visits ({len(d)} observations), median of {reps} fits")
    ours = time_ours(d, reps)
    sm = time_statsmodels(d, reps)
    r = time_r(d, reps)
    print(f"  securebase Mmrm (REML, unstructured, Satterthwaite df): {ours * 1000:8.1f} ms")
    print(f"  statsmodels MixedLM (random intercept, REML):           {sm * 1000:8.1f} ms   ratio ours/statsmodels = {ours / sm:.2f}")
    if r is not None:
        print(f"  R nlme::gls(corSymm, varIdent, REML):                   {r * 1000:8.1f} ms   ratio ours/nlme = {ours / r:.2f}")
    else:
        print("  R nlme::gls: Rscript not available; ratio not measured")


if __name__ == "__main__":
    main()
