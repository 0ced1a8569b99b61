"""Scale benchmark: one user's latency on the JSON API routes as the trial grows, and with 20 trials in one store.

Stores of 500, 1,500 and 5,000 bulk-loaded children (loading is not timed; see tests/scale_world.py) are read
through the real app (FastAPI TestClient): every JSON API list and aggregate route (bearer token) and every staff
HTML list page (a logged-in session, first page of 50), as a trial manager, a data manager and an assessor.
Each route is marked against issue 24's goal: p95 under 100 ms at 5,000 and a 5,000/500 ratio of at most 2
(paged lists) or 10 (whole-trial aggregates).
Printed per route: p50 and p95 over repeated requests at each size, and the ratio of the largest size's p50
to the smallest's (the baseline, measured in the same run). A last block puts 20 trials of 500 children in one
store and compares each route with the one-trial store of 500 (baseline). SQLite by default; ``--pg`` adds
PostgreSQL on 127.0.0.1:5432.

    .venv/bin/python benchmarks/bench_scale.py [--quick] [--pg]
"""

from __future__ import annotations

import argparse
import os
import re
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
H = "/trials/ng26-care"
PID = "{pid}"  # replaced by a participant in the middle of the list
#: (user, name, path, kind): kind "list" (a page of a list: the 5,000/500 goal is a ratio of at most 2) or
#: "aggregate" (over the whole trial: at most 10); paths starting with /api are the JSON API (bearer token),
#: the others the staff HTML pages (a logged-in session).
ROUTES = [
    ("tm", "API dashboard", f"{T}/dashboard", "aggregate"),
    ("dm", "API dashboard (data manager)", f"{T}/dashboard", "aggregate"),
    ("tm", "API CONSORT counts", f"{T}/consort", "aggregate"),
    ("tm", "API participants", f"{T}/participants", "list"),
    ("tm", "API one participant", f"{T}/participants/{PID}", "list"),
    ("tm", "API participant's visits", f"{T}/participants/{PID}/visits", "list"),
    ("tm", "API participant's scores", f"{T}/participants/{PID}/scores", "list"),
    ("tm", "API participant's events", f"{T}/participants/{PID}/events", "list"),
    ("tm", "API screening log", f"{T}/screening", "list"),
    ("assessor", "API upcoming visits", f"{T}/visits/upcoming", "list"),
    ("assessor", "API overdue visits", f"{T}/visits/overdue", "list"),
    ("tm", "API events", f"{T}/events", "list"),
    ("tm", "API queries", f"{T}/queries", "list"),
    ("tm", "API adverse events", f"{T}/adverse-events", "list"),
    ("tm", "API deviations", f"{T}/deviations", "list"),
    ("tm", "page dashboard", f"{H}/dashboard", "aggregate"),
    ("tm", "page participants", f"{H}/participants", "list"),
    ("tm", "page one participant", f"{H}/participants/{PID}", "list"),
    ("tm", "page visits", f"{H}/visits", "list"),
    ("tm", "page screening log", f"{H}/screening", "list"),
    ("tm", "page events", f"{H}/events", "list"),
    ("tm", "page queries", f"{H}/queries", "list"),
]
GOAL_P95_MS = 100.0
GOAL_RATIO = {"list": 2.0, "aggregate": 10.0}
PASSWORD = "correct-horse-battery-staple"  # tests/scale_world.py


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
    _screening_rows(store)
    with store.unit_of_work(actor="bench") as uow:
        tokens = {u: create_api_token(uow, u, label="bench") for u in ("tm", "dm", "assessor")}
        uow.commit()
    app = create_app(Settings(database_url=url, secret_key="bench-" + "k" * 40, totp_required=False), store=store,
                     secure_cookies=False)
    out: dict[str, list[float]] = {}
    api = {u: TestClient(app, headers={"Authorization": f"Bearer {t}"}) for u, t in tokens.items()}
    pages = {}
    for u in tokens:
        c = TestClient(app)
        login = c.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', login.text).group(1)  # type: ignore[union-attr]
        r = c.post("/login", data={"username": u, "password": PASSWORD, "csrf_token": token, "next": "/"})
        assert r.status_code == 200 and "Your trials" in r.text, (u, r.status_code, r.text[:200])
        pages[u] = c
    one = api["tm"].get(f"{T}/participants", params={"limit": 1000}).json()
    pid = one[len(one) // 2]["participant_id"]
    for user, name, path, _ in ROUTES:
        path = path.replace(PID, pid)
        c = (api if path.startswith("/api") else pages)[user]
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


def _screening_rows(store: Any) -> None:
    """One eligible screening record per bulk-loaded child (not timed), so the screening log is as long as the trial."""
    from sqlalchemy import insert, select

    from securebase.store.tables import Participant, ScreeningRecord

    with store.engine.begin() as conn:
        rows = conn.execute(select(Participant.id, Participant.trial_id, Participant.site_code, Participant.enrolled_on)
                            .outerjoin(ScreeningRecord, ScreeningRecord.participant_pk == Participant.id)
                            .where(ScreeningRecord.id.is_(None))).all()
        if rows:
            conn.execute(insert(ScreeningRecord), [
                {"trial_id": t, "site_code": site, "screening_number": f"B{pk:07d}", "screened_on": on, "answers": {},
                 "eligible": True, "ineligible_reasons": "", "approached": True, "outcome": "enrolled",
                 "participant_pk": pk, "screened_by": "bulk-load"} for pk, t, site, on in rows])


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
    big, small = sizes[-1], sizes[0]
    head = ("route".ljust(30) + "".join(f"{f'n={n} p50/p95 ms':>20}" for n in sizes)
            + f"{f'p50 {big}/{small}':>14}   goal (p95 < {GOAL_P95_MS:.0f} ms at {big}, ratio)")
    print(head)
    met = 0
    for _, name, _, kind in ROUTES:
        cells = "".join(f"{_p(results[n][name], .5):>11.1f}/{_p(results[n][name], .95):<8.1f}" for n in sizes)
        ratio = statistics.median(results[big][name]) / statistics.median(results[small][name])
        ok = _p(results[big][name], .95) < GOAL_P95_MS and ratio <= GOAL_RATIO[kind]
        met += ok
        print(name.ljust(30) + cells + f"{ratio:>14.2f}   {'met' if ok else 'NOT met'} ({kind}: ratio <= {GOAL_RATIO[kind]:g})")
    print(f"{met} of {len(ROUTES)} routes meet the goal at {big} children")
    if many > 1:
        url, handle = _store(backend, tmp)
        try:
            multi = measure(url, small, reps, trials=many)
        finally:
            _drop(handle)
        print(f"\n{many} trials of {small} children in one store vs one trial of {small} (baseline, same run)")
        for _, name, _, _ in ROUTES:
            ratio = statistics.median(multi[name]) / statistics.median(results[small][name])
            print(f"{name.ljust(30)}{_p(multi[name], .5):>10.1f} ms p50  {_p(multi[name], .95):>8.1f} ms p95   ratio {ratio:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer requests per route (5 instead of 30); same sizes")
    ap.add_argument("--pg", action="store_true", help="also measure PostgreSQL on 127.0.0.1:5432")
    ap.add_argument("--sizes", default="500,1500,5000", help="comma-separated numbers of children (default 500,1500,5000)")
    ap.add_argument("--trials", type=int, default=20, help="trials in one store for the last block (default 20)")
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    reps = 5 if args.quick else 30
    many = args.trials
    with tempfile.TemporaryDirectory() as d:
        run("sqlite", sizes, reps, Path(d), many)
        if args.pg:
            run("postgresql", sizes, reps, Path(d), many)


if __name__ == "__main__":
    main()
