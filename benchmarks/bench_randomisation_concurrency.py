"""Randomisations per second and p50/p95 latency with 16 concurrent clients, on SQLite and PostgreSQL.

Baseline (same run, same store): one client randomising sequentially. Each figure is printed with its
ratio to the baseline. Then, in the same run, 16 concurrent clients with minimisation's marginal totals
recounted from every allocation ("before", ``INCREMENTAL_MINIMISATION = False``) and kept incrementally
in ``randomisation_state`` ("after"), on a trial that already holds ``--prefill`` allocations, with the
after/before ratio of p50 and p95. The trial is the built-in ng26-care (minimisation); participants are bulk
enrolled first (not timed). PostgreSQL is the server named by SECUREBASE_TEST_PG (default
postgresql+psycopg://postgres@127.0.0.1:5432/test); it is skipped with a note when unreachable.

    .venv/bin/python benchmarks/bench_randomisation_concurrency.py [--quick] [--clients 16] [--prefill 1000]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "randomisation"))
from randomisation_fixtures import admin, bulk_enrol, make_trial  # noqa: E402

from securebase.protocol import load_protocol  # noqa: E402
from securebase.store import open_store  # noqa: E402
from securebase.trial.randomise import randomise, trial_scheme  # noqa: E402

PG_ADMIN = os.environ.get("SECUREBASE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _client(url: str, trial_id: str, pids: list[str], start, out, incremental: bool = True) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy.exc import OperationalError

    import securebase.trial.randomise as rz

    rz.INCREMENTAL_MINIMISATION = incremental

    store = open_store(url, migrate=False)
    actor = admin(trial_id)
    lat = []
    with store.unit_of_work(actor="admin", write=False) as uow:  # a long-lived client has parsed the protocol
        trial_scheme(uow, uow.trial(trial_id))
    start.wait()
    for pid in pids:
        t = time.perf_counter()
        while True:
            try:
                with store.unit_of_work(actor="admin") as uow:
                    randomise(uow, actor, pid)
                    uow.commit()
                break
            except OperationalError as err:  # SQLite lock wait timed out: a client retries
                if "locked" not in str(err):
                    raise
        lat.append(time.perf_counter() - t)
    store.dispose()
    out.put(lat)


def _run(url: str, trial_id: str, chunks: list[list[str]], incremental: bool = True) -> tuple[float, float, float]:
    ctx = mp.get_context("fork")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_client, args=(url, trial_id, c, start, out, incremental)) for c in chunks]
    for p in procs:
        p.start()
    time.sleep(0.5)
    t0 = time.perf_counter()
    start.set()
    lat = np.concatenate([out.get(timeout=3600) for _ in procs])
    wall = time.perf_counter() - t0
    for p in procs:
        p.join()
    return len(lat) / wall, float(np.median(lat)) * 1000, float(np.quantile(lat, 0.95)) * 1000


def bench(url: str, label: str, n: int, clients: int, prefill: int = 0) -> None:
    proto = load_protocol("ng26-care")
    store = open_store(url)
    make_trial(store, proto)
    with store.unit_of_work(actor="bench") as uow:
        ids = bulk_enrol(uow, proto, prefill + 4 * n)
        uow.commit()
    store.dispose()
    if prefill:  # a trial well under way (not timed)
        _run(url, proto.id, [ids[i:prefill:clients] for i in range(clients)])
        ids = ids[prefill:]
    base = _run(url, proto.id, [ids[:n]])
    conc = _run(url, proto.id, [ids[n + i: 2 * n: clients] for i in range(clients)])
    before = _run(url, proto.id, [ids[2 * n + i: 3 * n: clients] for i in range(clients)], incremental=False)
    after = _run(url, proto.id, [ids[3 * n + i:: clients] for i in range(clients)], incremental=True)
    print(f"{label}: baseline = 1 client sequential, {n} randomisations: {base[0]:.1f}/s, p50 {base[1]:.1f} ms, "
          f"p95 {base[2]:.1f} ms")
    print(f"{label}: {clients} concurrent clients, {n} randomisations: {conc[0]:.1f}/s "
          f"(x{conc[0] / base[0]:.2f} baseline), p50 {conc[1]:.1f} ms (x{conc[1] / base[1]:.2f}), "
          f"p95 {conc[2]:.1f} ms (x{conc[2] / base[2]:.2f})")
    print(f"{label}: {clients} clients, minimisation totals recounted (before): p50 {before[1]:.1f} ms, "
          f"p95 {before[2]:.1f} ms, {before[0]:.1f}/s")
    print(f"{label}: {clients} clients, minimisation totals incremental (after): p50 {after[1]:.1f} ms, "
          f"p95 {after[2]:.1f} ms, {after[0]:.1f}/s; after/before p50 x{after[1] / before[1]:.2f}, "
          f"p95 x{after[2] / before[2]:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="120 randomisations per phase instead of 600")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--prefill", type=int, default=None,
                    help="allocations made before timing (default 1,000; 300 with --quick)")
    args = ap.parse_args()
    n = 120 if args.quick else 600
    prefill = args.prefill if args.prefill is not None else (300 if args.quick else 1000)
    with tempfile.TemporaryDirectory() as d:
        bench(f"sqlite:///{d}/bench.db", "SQLite", n, args.clients, prefill)
    try:
        adm = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        name = f"sb_bench_{uuid.uuid4().hex[:10]}"
        with adm.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no server: say so and stop
        print(f"PostgreSQL: skipped ({type(exc).__name__}: server not reachable at {PG_ADMIN})")
        return
    try:
        bench(PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", "PostgreSQL", n, args.clients, prefill)
    finally:
        with adm.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        adm.dispose()


if __name__ == "__main__":
    main()
