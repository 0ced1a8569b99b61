"""Benchmark: ODM import as a stream (lxml iterparse) against the whole-file loader, time and peak memory.

Run: .venv/bin/python benchmarks/bench_odm_import.py [--children N] [--quick]

A SQLite store holding a simulated ng26-care trial of N children (default 200; every row audited, as in
production) is exported with ``securebase export odm`` (audit trail included). The file is then imported
into a new, empty store twice, each in its own child process so that one does not inherit the other's
memory: (1) the current whole-file loader (``import_odm(..., stream=False)``: the file read and parsed
at once, then validated) and (2) the streaming loader (``import_odm_stream``: validated and imported one
subject at a time). Printed for each: seconds, the peak resident memory of the process (``ru_maxrss``,
which counts libxml2's C allocations too), with ``--python-memory`` the Python-level peak (``tracemalloc``,
which slows both imports), and the
resident memory before the import (the peak is reset first through ``/proc/self/clear_refs`` where Linux
allows, since a new process otherwise starts with its parent's peak), so the difference is what the import
itself needed. ``--odm FILE`` imports an existing securebase ODM file instead. Both imports are
checked to give the same rows.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "interop"))

from securebase.trial.roles import Actor, Role  # noqa: E402

ADMIN = Actor("admin", "ng26-care", frozenset({Role.administrator}))


def _status_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Reset this process's peak RSS (Linux: '5' to /proc/self/clear_refs); a new process otherwise starts
    with the peak of the process that forked it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _rss_mb(peak: bool = True) -> float:
    value = _status_mb("VmHWM" if peak else "VmRSS")
    return value if value is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run(kind: str, xml: str, db: str, out: mp.Queue, python_memory: bool) -> None:  # type: ignore[type-arg]
    from conftest import new_care_store  # tests/interop/conftest.py: an empty ng26-care trial
    from securebase.interop.odm_import import import_odm
    from securebase.interop.odm_stream import import_odm_stream

    store = new_care_store(db)
    reset = _reset_peak()
    before = _rss_mb(peak=False)
    if python_memory:
        tracemalloc.start()
    t0 = time.perf_counter()
    result = import_odm(store, ADMIN, xml, stream=False) if kind == "whole" else import_odm_stream(store, ADMIN, xml)
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] if python_memory else float("nan")
    tracemalloc.stop()
    out.put({"kind": kind, "seconds": seconds, "rss_before_mb": before, "rss_peak_mb": _rss_mb(), "peak_reset": reset,
             "python_peak_mb": peak / 2**20, "result": result.to_dict()})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--children", type=int, default=None, help="children to simulate (default 200)")
    ap.add_argument("--quick", action="store_true", help="20 children")
    ap.add_argument("--odm", type=Path, default=None, help="import this securebase ODM file instead of simulating one")
    ap.add_argument("--python-memory", action="store_true",
                    help="also trace Python allocations (tracemalloc; slows both imports several times)")
    args = ap.parse_args()
    n = args.children or (20 if args.quick else 200)
    from interop_synth import build_trial

    from conftest import new_care_store
    from securebase.interop.odm_export import write_odm

    tmp = Path(tempfile.mkdtemp())
    if args.odm is not None:
        xml = args.odm
    else:
        src = new_care_store(f"sqlite:///{tmp / 'src.db'}")
        t0 = time.perf_counter()
        build_trial(src, n=n, seed=7)
        print(f"simulated {n} children in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        xml = write_odm(src, ADMIN, tmp / "trial.xml").path
        print(f"ODM export: {xml.stat().st_size / 2**20:.1f} MB in {time.perf_counter() - t0:.1f} s")
    ctx = mp.get_context("spawn")
    results = {}
    for kind in ("whole", "stream"):
        q: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
        proc = ctx.Process(target=_run, args=(kind, str(xml), f"sqlite:///{tmp / (kind + '.db')}", q,
                                                     args.python_memory))
        proc.start()
        results[kind] = q.get()
        proc.join()
    assert results["whole"]["result"] == results["stream"]["result"], "the two loaders disagree"
    print(f"{'loader':<28}{'seconds':>9}{'peak RSS MB':>13}{'RSS for import MB':>19}{'Python peak MB':>16}")
    for kind, label in (("whole", "whole file (current)"), ("stream", "stream (iterparse)")):
        r = results[kind]
        print(f"{label:<28}{r['seconds']:>9.1f}{r['rss_peak_mb']:>13.0f}"
              f"{r['rss_peak_mb'] - r['rss_before_mb']:>19.0f}{r['python_peak_mb']:>16.0f}")
    print(json.dumps({k: {x: v for x, v in r.items() if x != "result"} for k, r in results.items()}))
    print(f"same rows from both loaders: {results['stream']['result']['subjects']} subjects, "
          f"{results['stream']['result']['responses']} responses, "
          f"{results['stream']['result']['audit_records']} audit records")


if __name__ == "__main__":
    main()
