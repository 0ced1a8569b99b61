"""Web load benchmark: 50 concurrent simulated users doing realistic reads and writes through the JSON API.

The server runs in its own process (uvicorn, one worker) over a store holding a synthetic trial (SQLite file,
then PostgreSQL when a server answers on 127.0.0.1:5432). Users are a mix of assessors (visit lists, forms,
saving SDQ answers), recruiters (screening log, screening a child), data managers (dashboard, queries,
raising a query) and trial managers (participants, dashboard). Printed per backend: p50 and p95 latency and
throughput, each as a ratio against the named baseline "one user", measured in the same run with the same mix.

    .venv/bin/python benchmarks/bench_web_load.py [--quick] [--users 50] [--sqlite-only] [--pg-workers 2]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "trial"))
PG_ADMIN = os.environ.get("SECUREBASE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
T = "/api/trials/ng26-care"
ROLES = [("outcome_assessor", 20), ("site_recruiter", 15), ("data_manager", 10), ("trial_manager", 5)]


def build(url: str, n_participants: int) -> dict[str, Any]:
    """A trial with randomised participants and one API token per simulated user."""
    import trial_world as tw

    from securebase.protocol import load_protocol
    from securebase.store import open_store
    from securebase.store.tables import User
    from securebase.trial.accounts import create_api_token
    from securebase.trial.setup import create_trial, grant_role

    store = open_store(url)
    with store.unit_of_work(actor="bench-setup") as uow:
        create_trial(uow, load_protocol("ng26-care"), seed=7)
        uow.commit()
    tw.add_users(store)
    pids = []
    for i in range(n_participants):
        site, rec = ("LA01", "rec1") if i % 2 == 0 else ("LA02", "rec2")
        pids.append((tw.enrol_and_randomise(store, rec, site, age=6 + i % 11)[0], site))
    users: list[tuple[str, str, str]] = []
    with store.unit_of_work(actor="bench-setup") as uow:
        for role, n in ROLES:
            for k in range(n):
                name = f"{role}-{k}"
                u = User(username=name, display_name=name, password_hash=tw.password_hash(), active=True, failed_logins=0)
                uow.session.add(u)
                uow.session.flush()
                site = None if role in ("data_manager", "trial_manager") else ("LA01", "LA02")[k % 2]
                grant_role(uow, u, "ng26-care", role, site)
                users.append((role, site or "", create_api_token(uow, name)))
        uow.commit()
    store.dispose()
    return {"pids": pids, "users": users, "answers": tw.valid_responses("sdq_parent")}


def serve(url: str, port: int, workers: int = 1) -> subprocess.Popen[bytes]:
    env = dict(os.environ, SECUREBASE_SECRET_KEY="bench-" + "x" * 40, SECUREBASE_DATABASE_URL=url)
    proc = subprocess.Popen([sys.executable, "-m", "securebase.cli", "serve", "--host", "127.0.0.1", "--port",
                             str(port), "--workers", str(workers)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/openapi.json", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the server did not start")


def one_user(base: str, role: str, site: str, token: str, world: dict[str, Any], ops: int, seed: int,
             lat: list[float], errors: list[str]) -> None:
    rng = random.Random(seed)
    mine = [p for p, s in world["pids"] if not site or s == site]
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120) as c:
        for _ in range(ops):
            pid = rng.choice(mine)
            if role == "outcome_assessor":
                choice = rng.choice(["upcoming", "visits", "form", "save"])
                req = {"upcoming": ("GET", f"{T}/visits/upcoming", None),
                       "visits": ("GET", f"{T}/participants/{pid}/visits", None),
                       "form": ("GET", f"{T}/participants/{pid}/visits/m6/forms/sdq_parent", None),
                       "save": ("POST", f"{T}/participants/{pid}/visits/m6/forms/sdq_parent",
                                {"responses": world["answers"], "complete": True})}[choice]
            elif role == "site_recruiter":
                dob = (date.today() - timedelta(days=rng.randint(6 * 365, 16 * 365))).isoformat()
                req = rng.choice([("GET", f"{T}/screening", None), ("GET", f"{T}/participants/{pid}", None),
                                  ("POST", f"{T}/screening", {"site_code": site, "answers": {
                                      "date_of_birth": dob, "care_status": "foster", "carer_available": True,
                                      "placement_ending_planned": False}})])
            elif role == "data_manager":
                req = rng.choice([("GET", f"{T}/dashboard", None), ("GET", f"{T}/queries", None),
                                  ("GET", f"{T}/participants/{pid}/scores", None)])
            else:
                req = rng.choice([("GET", f"{T}/participants", None), ("GET", f"{T}/dashboard", None),
                                  ("GET", f"{T}/events", None)])
            t0 = time.perf_counter()
            r = c.request(req[0], req[1], json=req[2])
            lat.append(time.perf_counter() - t0)
            if r.status_code >= 400:
                errors.append(f"{req[0]} {req[1]} {r.status_code} {r.text[:120]}")


def run(base: str, world: dict[str, Any], n_users: int, ops: int) -> dict[str, float]:
    lat: list[float] = []
    errors: list[str] = []
    users = (world["users"] * (n_users // len(world["users"]) + 1))[:n_users]
    if n_users == 1:  # the baseline user walks through every role's mix in turn
        users = [world["users"][i] for i in (0, 20, 35, 45)]
    threads = [threading.Thread(target=one_user, args=(base, role, site, tok, world, ops, i, lat, errors))
               for i, (role, site, tok) in enumerate(users)]
    t0 = time.perf_counter()
    if n_users == 1:
        for t in threads:  # sequential: one user at a time
            t.start()
            t.join()
    else:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    wall = time.perf_counter() - t0
    if errors:
        print(f"  {len(errors)} requests failed, e.g. {errors[0]}")
    q = statistics.quantiles(lat, n=100)
    return {"p50": q[49] * 1000, "p95": q[94] * 1000, "rps": len(lat) / wall, "n": len(lat)}


def bench(label: str, url: str, n_users: int, ops: int, n_participants: int, workers: int = 1) -> None:
    world = build(url, n_participants)
    port = _free_port()
    proc = serve(url, port)
    base = f"http://127.0.0.1:{port}"
    try:
        run(base, world, 1, 2)  # warm-up: first parse of the protocol and instrument definitions
        one = run(base, world, 1, ops)
        many = run(base, world, n_users, ops)
    finally:
        proc.terminate()
        proc.wait(10)
    extra = None
    if workers > 1:
        port = _free_port()
        proc = serve(url, port, workers)
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(workers):
                run(base, world, 1, 2)
            extra = run(base, world, n_users, ops)
        finally:
            proc.terminate()
            proc.wait(20)
    print(f"{label}: baseline 'one user' ({one['n']} requests): p50 {one['p50']:.1f} ms, p95 {one['p95']:.1f} ms, "
          f"{one['rps']:.1f} req/s")
    print(f"{label}: {n_users} concurrent users ({many['n']} requests): p50 {many['p50']:.1f} ms "
          f"(x{many['p50'] / one['p50']:.2f} baseline), p95 {many['p95']:.1f} ms (x{many['p95'] / one['p95']:.2f}), "
          f"throughput {many['rps']:.1f} req/s (x{many['rps'] / one['rps']:.2f})")
    if extra:
        print(f"{label}: {n_users} concurrent users, {workers} worker processes ({extra['n']} requests): p50 "
              f"{extra['p50']:.1f} ms (x{extra['p50'] / one['p50']:.2f}), p95 {extra['p95']:.1f} ms "
              f"(x{extra['p95'] / one['p95']:.2f}), throughput {extra['rps']:.1f} req/s (x{extra['rps'] / one['rps']:.2f})")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer requests per user (CI smoke run)")
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--sqlite-only", action="store_true")
    ap.add_argument("--pg-workers", type=int, default=2, help="also measure PostgreSQL with this many worker processes")
    args = ap.parse_args()
    ops, n_participants = (6, 10) if args.quick else (20, 24)
    with tempfile.TemporaryDirectory() as tmp:
        bench("SQLite", f"sqlite:///{tmp}/bench.db", args.users, ops, n_participants)
    if args.sqlite_only:
        return
    from sqlalchemy import create_engine, text

    name = f"sb_bench_{uuid.uuid4().hex[:8]}"
    try:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no server: say so (the SQLite figures stand)
        print(f"PostgreSQL: not measured ({type(exc).__name__}: no server at {PG_ADMIN})")
        return
    try:
        bench("PostgreSQL", PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", args.users, ops, n_participants,
              workers=args.pg_workers)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
