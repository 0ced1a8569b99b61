"""Benchmark: batched design kernels against per-trial loops, measured in one run.

Run: .venv/bin/python benchmarks/bench_design_kernels.py [--quick]

ANCOVA (n = 300, arm + 6 covariates, complete cases): batched OLS kernel vs a statsmodels formula loop and
an R ``lm`` loop (Rscript benchmarks/bench_design_kernels.R; targets: >= 50x faster than R).
Logistic (batched IRLS) vs statsmodels ``Logit`` and formula ``logit`` loops; Cox (batched Newton, Breslow)
vs statsmodels ``PHReg`` and lifelines ``CoxPHFitter`` loops (target: >= 20x). Every figure is a time per
simulated trial, the best of several runs (5 for the kernels, 3 for R, 1-2 for the Python loops); ratios are
against the named baseline measured here. Also checks that the p-values agree.
The data come from the NG26 simulator (seeded). BLAS threads are pinned to 1 for like-for-like timing.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from securebase.analysis.design.simulate import make_parameters  # noqa: E402
from securebase.analysis.design.simulate_core import simulate_arrays  # noqa: E402
from securebase.analysis.kernels import fit_cox, fit_logistic, fit_ols  # noqa: E402

COVS = ("sdq_total_0", "age", "female", "rpq_total_0", "kerns_mean_0", "sensitivity_0")


def _timeit(fn, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _frames(a: dict, y: np.ndarray, k: int) -> list[pd.DataFrame]:
    out = []
    for b in range(k):
        df = pd.DataFrame({"y": y[b], "treat": a["treat"][b], **{f"x{i + 1}": a[c][b] for i, c in enumerate(COVS)}})
        out.append(df.dropna())
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer trials (rougher figures)")
    args = ap.parse_args()
    n_batch = 500 if args.quick else 2000
    n_loop = 60 if args.quick else 200
    rng = np.random.default_rng(20261126)
    params = make_parameters(protocol="ng26-maltreatment", n_participants=300, missing_mechanism="MAR")
    a = simulate_arrays(params, n_batch, rng)
    X = np.stack([np.ones_like(a["treat"]), a["treat"], *[a[c] for c in COVS]], axis=-1)
    print(f"load average at start: {os.getloadavg()[0]:.2f} (2 cores shared with other jobs)")
    print(f"{n_batch} simulated trials (n=300) for batched kernels, {n_loop} for per-trial loops\n")

    # ANCOVA --------------------------------------------------------------------------------------------
    y = a["sdq_total_12"]
    t_batch = _timeit(lambda: fit_ols(X, y)) / n_batch
    frames = _frames(a, y, n_loop)
    import statsmodels.formula.api as smf

    formula = "y ~ treat + " + " + ".join(f"x{i + 1}" for i in range(6))
    t_sm = _timeit(lambda: [smf.ols(formula, f).fit().pvalues["treat"] for f in frames], 2) / n_loop
    p_sm = smf.ols(formula, frames[0]).fit().pvalues["treat"]
    p_b = fit_ols(X[:1], y[:1]).pvalue[0, 1]
    t_r = None
    if shutil.which("Rscript"):
        with tempfile.TemporaryDirectory() as td:
            path = Path(td) / "trials.csv"
            pd.concat([f.assign(trial=i) for i, f in enumerate(frames)]).to_csv(path, index=False)
            res = subprocess.run(["Rscript", str(Path(__file__).with_name("bench_design_kernels.R")), str(path)],
                                 capture_output=True, text=True, check=False)
            if res.returncode == 0:
                t_r, _, p_r = res.stdout.split()
                t_r = float(t_r)
                assert abs(float(p_r) - p_b) < 1e-8, (p_r, p_b)
            else:
                print("R timing failed:", res.stderr.strip().splitlines()[-1:])
    assert abs(p_sm - p_b) < 1e-8
    print("ANCOVA (arm + 6 covariates), time per simulated trial")
    print(f"  batched OLS kernel          {1e6 * t_batch:10.1f} us")
    print(f"  statsmodels formula loop    {1e6 * t_sm:10.1f} us   kernel is {t_sm / t_batch:7.1f}x faster")
    if t_r is not None:
        verdict = "meets" if t_r / t_batch >= 50 else "MISSES"
        print(f"  R lm loop                   {1e6 * t_r:10.1f} us   kernel is {t_r / t_batch:7.1f}x faster "
              f"({verdict} the 50x target)")
    else:
        print("  R lm loop                   (Rscript not available)")

    # logistic ------------------------------------------------------------------------------------------
    import statsmodels.api as sm

    yb = a["maltreatment_12"]
    t_batch = _timeit(lambda: fit_logistic(X, yb)) / n_batch
    fr = _frames(a, yb, n_loop)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_arr = _timeit(lambda: [sm.Logit(f["y"], sm.add_constant(f.drop(columns="y"))).fit(disp=0) for f in fr], 1)
        t_form = _timeit(lambda: [smf.logit(formula, f).fit(disp=0) for f in fr], 1)
        p_ref = smf.logit(formula, fr[0]).fit(disp=0, method="newton", tol=1e-12).pvalues["treat"]
    assert abs(fit_logistic(X[:1], yb[:1]).pvalue[0, 1] - p_ref) < 1e-8
    t_arr, t_form = t_arr / n_loop, t_form / n_loop
    print("\nLogistic regression (arm + 6 covariates), time per simulated trial")
    print(f"  batched IRLS kernel         {1e6 * t_batch:10.1f} us")
    print(f"  statsmodels Logit loop      {1e6 * t_arr:10.1f} us   kernel is {t_arr / t_batch:7.1f}x faster "
          f"({'meets' if t_arr / t_batch >= 20 else 'MISSES'} the 20x target)")
    print(f"  statsmodels formula loop    {1e6 * t_form:10.1f} us   kernel is {t_form / t_batch:7.1f}x faster")

    # Cox -----------------------------------------------------------------------------------------------
    from statsmodels.duration.hazard_regression import PHReg

    Xc = X[..., 1:]
    tt, ev = a["placement_time"], (a["placement_event"] == 1).astype(float)
    t_batch = _timeit(lambda: fit_cox(Xc, tt, ev)) / n_batch
    rows = [(tt[b], ev[b], Xc[b]) for b in range(n_loop)]
    t_ph = _timeit(lambda: [PHReg(t, x, status=e, ties="breslow").fit() for t, e, x in rows], 1) / n_loop
    ref = PHReg(rows[0][0], rows[0][2], status=rows[0][1], ties="breslow").fit()
    assert abs(fit_cox(Xc[:1], tt[:1], ev[:1]).pvalue[0, 0] - ref.pvalues[0]) < 1e-8
    line_ll = ""
    try:
        from lifelines import CoxPHFitter

        dfs = [pd.DataFrame(x, columns=[f"c{i}" for i in range(x.shape[1])]).assign(T=t, E=e) for t, e, x in rows]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t_ll = _timeit(lambda: [CoxPHFitter().fit(d, "T", "E") for d in dfs], 1) / n_loop
        line_ll = f"  lifelines CoxPHFitter loop  {1e6 * t_ll:10.1f} us   kernel is {t_ll / t_batch:7.1f}x faster"
    except ImportError:
        line_ll = "  lifelines                   (not installed)"
    print("\nCox regression, Breslow ties (arm + 6 covariates), time per simulated trial")
    print(f"  batched Newton kernel       {1e6 * t_batch:10.1f} us")
    print(f"  statsmodels PHReg loop      {1e6 * t_ph:10.1f} us   kernel is {t_ph / t_batch:7.1f}x faster "
          f"({'meets' if t_ph / t_batch >= 20 else 'MISSES'} the 20x target)")
    print(line_ll)


if __name__ == "__main__":
    main()
