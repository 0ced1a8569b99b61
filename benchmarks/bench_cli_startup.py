"""Start-up time of `securebase --help` against `python -c pass` (the interpreter alone).

Prints the median of N runs of each and their ratio. Issue 17 asks for `--help` under 0.5 s; this prints
the figure rather than asserting it (timing depends on the machine and its load).

    PYTHONPATH=src python benchmarks/bench_cli_startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def median_seconds(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    runs = ap.parse_args().runs
    base = median_seconds([sys.executable, "-c", "pass"], runs)
    cli = median_seconds([sys.executable, "-m", "securebase.cli", "--help"], runs)
    print(f"python -c pass:      {base:.3f} s (median of {runs})")
    print(f"securebase --help:   {cli:.3f} s (median of {runs})")
    print(f"ratio:               {cli / base:.1f}x  (target: --help under 0.5 s -> {'met' if cli < 0.5 else 'NOT met'})")


if __name__ == "__main__":
    main()
