"""Benchmark: power by simulation on one worker vs a two-worker local Dask cluster.

Run: .venv/bin/python benchmarks/bench_design_dask.py [--quick] [--sims N] [--batch-size B]

A job of about a minute on one process (ANCOVA power for the care trial, n = 300, alternative and null
simulated) is run (1) in-process, (2) on a one-worker LocalCluster and (3) on a two-worker LocalCluster,
with the same seed and batch size; the script checks that the three power estimates are identical and
prints the speed-up of (3) over (1) and over (2), with and without the cluster's start-up time.
The machine's load average is printed too: on a shared 2-core machine other jobs take cores away.
BLAS threads are pinned to 1 so that one process means one core.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402

from securebase.analysis.design.power import PowerScenario, power_batch, summarise  # noqa: E402
from securebase.analysis.design.simulate import make_parameters  # noqa: E402
from securebase.analysis.runner import run_seeded  # noqa: E402


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _run(sc: PowerScenario, sims: int, batch: int, workers: int, in_process: bool) -> tuple[float, ...]:
    """(power, seconds for the batches, seconds including cluster start-up, CPU seconds of the workers)."""
    sj = sc.model_dump(mode="json")
    if in_process:
        t0, c0 = time.perf_counter(), _cpu()
        res = run_seeded(power_batch, seed=2026, n_total=sims, batch_size=batch, progress=False, args=(sj,))
        el = time.perf_counter() - t0
        return summarise(res, sc, 2026, batch).power, el, el, _cpu() - c0
    import dask
    from dask.distributed import Client, LocalCluster

    from securebase.analysis.runner import worker_environ

    t0 = time.perf_counter()
    with dask.config.set({"distributed.nanny.pre-spawn-environ": worker_environ()}), LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=40) as cluster, Client(cluster) as client:
        client.wait_for_workers(workers)
        client.run(lambda: __import__("securebase.analysis.design.power"))  # warm imports on the workers
        c0 = sum(client.run(_cpu).values())
        t1 = time.perf_counter()
        res = run_seeded(power_batch, seed=2026, n_total=sims, batch_size=batch, scheduler=cluster.scheduler_address,
                         progress=False, args=(sj,))
        t2 = time.perf_counter()
        cpu = sum(client.run(_cpu).values()) - c0
    return summarise(res, sc, 2026, batch).power, t2 - t1, t2 - t0, cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="a ~10 s job instead of ~1 minute")
    ap.add_argument("--sims", type=int, default=None, help="simulated trials (each also under the null)")
    ap.add_argument("--batch-size", type=int, default=2000)
    args = ap.parse_args()
    sims = args.sims or (6000 if args.quick else 72000)
    sc = PowerScenario(params=make_parameters(n_participants=300), analysis="ancova", outcome="sdq_total",
                       covariates=("age", "female"))
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"job: {sims} simulated trials (and {sims} under the null), batches of {args.batch_size}")
    p1, t1, _, u1 = _run(sc, sims, args.batch_size, 1, True)
    print(f"  in-process, 1 worker         {t1:7.1f} s   CPU {u1:6.1f} s ({u1 / t1:.2f} cores)   power {p1:.4f}")
    pc1, tc1, tc1_all, uc1 = _run(sc, sims, args.batch_size, 1, False)
    print(f"  LocalCluster, 1 worker       {tc1:7.1f} s   CPU {uc1:6.1f} s ({uc1 / tc1:.2f} cores)   "
          f"({tc1_all:.1f} s with start-up)   power {pc1:.4f}")
    p2, t2, t2_all, u2 = _run(sc, sims, args.batch_size, 2, False)
    print(f"  LocalCluster, 2 workers      {t2:7.1f} s   CPU {u2:6.1f} s ({u2 / t2:.2f} cores)   "
          f"({t2_all:.1f} s with start-up)   power {p2:.4f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    assert p1 == pc1 == p2, "power estimates differ between worker counts"
    print("identical power estimates: yes")
    print(f"speed-up, 2 workers vs in-process:          {t1 / t2:.2f}x (with start-up {t1 / t2_all:.2f}x; target 1.6x)")
    print(f"speed-up, 2 workers vs 1-worker cluster:    {tc1 / t2:.2f}x")
    print(f"CPU seconds per 1000 trials: in-process {1000 * u1 / sims:.2f}, 2 workers {1000 * u2 / sims:.2f} "
          "(equal CPU cost means the speed-up is limited only by the cores other jobs leave free)")


if __name__ == "__main__":
    main()
