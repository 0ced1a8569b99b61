"""Scale benchmark: one user's latency on the JSON API routes as the trial grows, and with 20 trials in one store.

Stores of 500, 1,500 and 5,000 bulk-loaded children (loading is not timed; see tests/scale_world.py) are read
through the real app (FastAPI TestClient, bearer token) as a trial manager, a data manager and an assessor.
Printed per route: p50 and p95 over repeated requests at each size, and the ratio of the largest size's p50
to the smallest's (the baseline, measured in the same run). A last block puts 20 trials of 500 children in one
store and compares each route with the one-trial store of 500 (baseline). SQLite by default; ``--pg`` adds
PostgreSQL on 127.0.0.1:5432.

    .venv/bin/python benchmarks/bench_scale.py [--quick] [--pg]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("SECUREBASE_PROGRESS", "false")
PG_ADMIN = os.environ.get("SECUREBASE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
T = "/api/trials/ng26-care"
ROUTES = [
    ("tm", "dashboard", f"{T}/dashboard"),
    ("dm", "dashboard (data manager)", f"{T}/dashboard"),
    ("assessor", "upcoming visits", f"{T}/visits/upcoming"),
    ("assessor", "overdue visits", f"{T}/visits/overdue"),
    ("tm", "participants (whole list)", f"{T}/participants"),
    ("tm", "one participant's visits", None),
]


def _store(backend: str, tmp: Path) -> tuple[str, Any]:
    if backend == "sqlite":
        return f"sqlite:///{tmp / f'scale-{uuid.uuid4().hex[:6]}.db'}", None
    from sqlalchemy import create_engine, text

    name = f"sb_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", (admin, name)


def _drop(handle: Any) -> None:
    if handle is None:
        return
    from sqlalchemy import text

    admin, name = handle
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def measure(url: str, n: int, reps: int, trials: int = 1) -> dict[str, list[float]]:
    from fastapi.testclient import TestClient

    from scale_world import bulk_trial
    from securebase.settings import Settings
    from securebase.store import open_store
    from securebase.trial.accounts import create_api_token
    from securebase.web import create_app

    store = open_store(url)
    info = bulk_trial(store, n, seed=11)
    if trials > 1:  # other trials in the same store: same protocol under other ids is not allowed, so
        # the other 19 trials are bulk-loaded copies with their own ids (see scale_world.copy_trial)
        from scale_world import copy_trial

        for k in range(1, trials):
            copy_trial(store, info["trial_id"], f"other-{k:02d}", n, seed=100 + k)
    with store.unit_of_work(actor="bench") as uow:
        tokens = {u: create_api_token(uow, u, label="bench") for u in ("tm", "dm", "assessor")}
        uow.commit()
    app = create_app(Settings(database_url=url, secret_key="bench-" + "k" * 40), store=store, secure_cookies=False)
    out: dict[str, list[float]] = {}
    clients = {u: TestClient(app, headers={"Authorization": f"Bearer {t}"}) for u, t in tokens.items()}
    one = clients["tm"].get(f"{T}/participants").json()
    pid = one[len(one) // 2]["participant_id"] if isinstance(one, list) else one["items"][0]["participant_id"]
    for user, name, path in ROUTES:
        path = path or f"{T}/participants/{pid}/visits"
        c = clients[user]
        r = c.get(path)
        assert r.status_code == 200, (name, r.status_code, r.text[:200])
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            c.get(path)
            times.append(time.perf_counter() - t0)
        out[name] = times
    store.dispose()
    return out


def _p(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))] * 1000


def run(backend: str, sizes: list[int], reps: int, tmp: Path, many: int) -> None:
    print(f"\n== {backend}: one user, JSON API, {reps} requests per route and size")
    results = {}
    for n in sizes:
        url, handle = _store(backend, tmp)
        try:
            results[n] = measure(url, n, reps)
        finally:
            _drop(handle)
    head = "route".ljust(28) + "".join(f"{f'n={n} p50/p95 ms':>22}" for n in sizes) + f"{'ratio p50 ' + str(sizes[-1]) + '/' + str(sizes[0]):>20}"
    print(head)
    for _, name, _ in ROUTES:
        cells = "".join(f"{_p(results[n][name], .5):>12.1f}/{_p(results[n][name], .95):<9.1f}" for n in sizes)
        ratio = statistics.median(results[sizes[-1]][name]) / statistics.median(results[sizes[0]][name])
        print(name.ljust(28) + cells + f"{ratio:>20.2f}")
    if many > 1:
        url, handle = _store(backend, tmp)
        try:
            multi = measure(url, sizes[0], reps, trials=many)
        finally:
            _drop(handle)
        print(f"\n{many} trials of {sizes[0]} children in one store vs one trial of {sizes[0]} (baseline)")
        for _, name, _ in ROUTES:
            ratio = statistics.median(multi[name]) / statistics.median(results[sizes[0]][name])
            print(f"{name.ljust(28)}{_p(multi[name], .5):>10.1f} ms p50  {_p(multi[name], .95):>8.1f} ms p95   ratio {ratio:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="sizes 500 and 1,500, 5 trials, fewer requests")
    ap.add_argument("--pg", action="store_true", help="also measure PostgreSQL on 127.0.0.1:5432")
    args = ap.parse_args()
    sizes = [500, 1500] if args.quick else [500, 1500, 5000]
    reps = 10 if args.quick else 30
    many = 5 if args.quick else 20
    with tempfile.TemporaryDirectory() as d:
        run("sqlite", sizes, reps, Path(d), many)
        if args.pg:
            run("postgresql", sizes, reps, Path(d), many)


if __name__ == "__main__":
    main()
