"""Speed of instrument scoring: score() on SDQ parent forms against a plain hand-coded baseline.

Run: .venv/bin/python benchmarks/bench_instruments_scoring.py [--quick]
Baseline: the five SDQ subscales computed directly in plain Python over the same seeded responses
(no validation, no missing-code handling), measured in the same run. Prints forms per second and
the ratio score()/baseline time (how much validation and declarative rules cost).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from securebase.instruments import load_instrument, score

SUBSCALES = {
    "emotional": [3, 8, 13, 16, 24], "conduct": [5, 7, 12, 18, 22], "hyperactivity": [2, 10, 15, 21, 25],
    "peer": [6, 11, 14, 19, 23], "prosocial": [1, 4, 9, 17, 20],
}
REVERSED = {7, 11, 14, 21, 25}


def baseline(r: dict[str, int | None]) -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for name, items in SUBSCALES.items():
        vals = [(2 - r[str(i)]) if i in REVERSED else r[str(i)] for i in items if r[str(i)] is not None]  # type: ignore[operator]
        out[name] = math.floor(0.5 + sum(vals) / len(vals) * 5) if len(vals) >= 3 else None  # type: ignore[arg-type]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    n = 500 if ap.parse_args().quick else 5000
    rng = np.random.default_rng(1)
    forms = []
    for _ in range(n):
        r: dict[str, int | None] = {str(i): int(v) for i, v in enumerate(rng.integers(0, 3, 25), start=1)}
        for i in rng.choice(25, size=int(rng.integers(0, 4)), replace=False):
            r[str(i + 1)] = None
        r["overall"] = 0
        forms.append(r)
    inst = load_instrument("sdq_parent")
    t0 = time.perf_counter()
    for r in forms:
        baseline(r)
    t_base = time.perf_counter() - t0
    t0 = time.perf_counter()
    for r in forms:
        score(inst, r)
    t_score = time.perf_counter() - t0
    print(f"SDQ parent forms: {n}")
    print(f"baseline (hand-coded subscales): {n / t_base:,.0f} forms/s")
    print(f"score() (validation + 9 scales + bands): {n / t_score:,.0f} forms/s")
    print(f"ratio score()/baseline time: {t_score / t_base:.1f}x")


if __name__ == "__main__":
    main()
