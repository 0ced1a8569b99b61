"""Benchmark: 10,000 PSA samples of the NG26 placement-state Markov model (both arms, 10 annual cycles).

Two implementations on the same seeded parameter samples, in one run:
* vectorised numpy (``MarkovModel.evaluate``: every sample's cohort advanced at once with batched products);
* a plain Python loop over samples, states and cycles (``MarkovModel.evaluate_loop``).
The two give the same costs and QALYs (checked here to 1e-9 relative); the ratio of times is printed.
``--quick`` times the loop on 1,000 samples and extrapolates linearly (the loop is linear in samples).

    .venv/bin/python benchmarks/bench_model.py [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from securebase.analysis.economics.model.markov import load_model

N = 10_000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="time the loop on 1,000 samples and extrapolate")
    args = ap.parse_args()
    model = load_model("ng26-placement")
    samples = model.params.sample(N, 20261202)
    t0 = time.perf_counter()
    vec = model.evaluate(samples, "care")
    t_vec = time.perf_counter() - t0
    n_loop = 1_000 if args.quick else N
    sub = {k: v[:n_loop] for k, v in samples.items()}
    t0 = time.perf_counter()
    loop = model.evaluate_loop(sub, "care")
    t_loop = (time.perf_counter() - t0) * N / n_loop
    for arm in ("usual_care", "intervention"):
        np.testing.assert_allclose(vec[arm].cost[:n_loop], loop[f"cost_{arm}"], rtol=1e-9)
        np.testing.assert_allclose(vec[arm].qaly[:n_loop], loop[f"qaly_{arm}"], rtol=1e-9)
    inc = vec["intervention"].cost - vec["usual_care"].cost
    print(f"NG26 placement model, {N:,} PSA samples x 2 arms x {model.spec.cycles} cycles x {len(model.states)} states")
    print(f"  vectorised numpy : {t_vec:8.2f} s  (1.0x)")
    print(f"  plain Python loop: {t_loop:8.2f} s  ({t_loop / t_vec:.1f}x slower)"
          + (f"  [timed on {n_loop:,} samples, extrapolated]" if n_loop < N else ""))
    print(f"  same results (rtol 1e-9); mean incremental cost £{inc.mean():,.0f} (intervention minus usual care)")


if __name__ == "__main__":
    main()
