"""Questionnaires submitted through their links by many respondents at once: p50/p95 latency of one submission
with 200 concurrent respondents, against one respondent submitting alone, on SQLite (and PostgreSQL with --pg).

The server is the real app under uvicorn in its own process (one worker, its thread pool); each respondent is a
thread with its own HTTP connection that opens its link (GET) and sends the whole questionnaire (POST, scored,
audited, voucher recorded). The world (children with carers, teachers, young people; invitations through the file
mailer) is built through the services first, not timed.

    .venv/bin/python benchmarks/bench_respond.py [--respondents 200] [--pg] [--quick]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import socket
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "trial"), str(ROOT / "tests" / "people")]
PG_ADMIN = os.environ.get("SECUREBASE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(url: str, key: str, port: int) -> None:
    import uvicorn

    from securebase.settings import Settings
    from securebase.web import create_app

    app = create_app(Settings(database_url=url, encryption_key=key, secret_key="bench"), secure_cookies=False)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def _submit(base: str, link: dict[str, Any], form: dict[str, str]) -> float:
    import httpx

    with httpx.Client(base_url=base, timeout=600) as c:
        path = "/respond/" + link["token"]
        t = time.perf_counter()
        r = c.get(path)
        assert r.status_code == 200, r.status_code
        r = c.post(path, data={**form, "action": "submit"})
        assert r.status_code == 303, (r.status_code, r.text[:300])
        return time.perf_counter() - t


def _forms(links: list[dict[str, Any]]) -> list[dict[str, str]]:
    from trial_world import valid_responses

    return [{f"item-{k}": str(v) for k, v in valid_responses(x["instrument"]).items()} for x in links]


def run(url: str, label: str, respondents: int, tmp: Path) -> None:
    from people_world import KEY
    from respond_world import build_respond_world

    baseline_n = 10
    children = (respondents + baseline_n) // 4 + 2
    t0 = time.perf_counter()
    w = build_respond_world(tmp, url=url, children=children)
    links = [x for xs in w["links"].values() for x in xs]
    w["store"].dispose()
    print(f"[{label}] built {children} children, {len(links)} links in {time.perf_counter() - t0:.0f} s")
    assert len(links) >= respondents + baseline_n, len(links)
    forms = _forms(links)
    port = _port()
    server = mp.get_context("spawn").Process(target=_serve, args=(url, KEY, port), daemon=True)
    server.start()
    base = f"http://127.0.0.1:{port}"
    import httpx

    for _ in range(300):
        try:
            if httpx.get(base + "/respond/thanks").status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    try:
        one = [_submit(base, links[i], forms[i]) for i in range(baseline_n)]
        lat: list[float | None] = [None] * respondents
        barrier = threading.Barrier(respondents)

        def go(i: int) -> None:
            barrier.wait()
            try:
                lat[i] = _submit(base, links[baseline_n + i], forms[baseline_n + i])
            except Exception as exc:  # a timed-out or refused submission is counted, not given a latency
                print(f"respondent {i}: {type(exc).__name__}: {exc}", file=sys.stderr)

        threads = [threading.Thread(target=go, args=(i,)) for i in range(respondents)]
        t = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - t
    finally:
        server.terminate()
        server.join()
    p50_1, p95_1 = np.percentile(one, [50, 95])
    ok = [x for x in lat if x is not None]
    failed = respondents - len(ok)
    p50, p95 = np.percentile(ok, [50, 95]) if ok else (float("nan"), float("nan"))
    print(f"[{label}] one respondent:  p50 {p50_1 * 1000:.0f} ms, p95 {p95_1 * 1000:.0f} ms (open + send, n={baseline_n})")
    print(f"[{label}] {respondents} at once: p50 {p50 * 1000:.0f} ms ({p50 / p50_1:.1f}x), "
          f"p95 {p95 * 1000:.0f} ms ({p95 / p95_1:.1f}x); all sent in {wall:.1f} s "
          f"({len(ok) / wall:.1f} questionnaires/s); {failed} not sent")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--respondents", type=int, default=200)
    ap.add_argument("--pg", action="store_true", help="also run on PostgreSQL (SECUREBASE_TEST_PG)")
    ap.add_argument("--quick", action="store_true", help="40 respondents")
    a = ap.parse_args()
    n = 40 if a.quick else a.respondents
    with tempfile.TemporaryDirectory() as d:
        run(f"sqlite:///{Path(d) / 'bench.db'}", "SQLite", n, Path(d))
    if a.pg:
        from sqlalchemy import create_engine, text

        name = f"sb_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            with tempfile.TemporaryDirectory() as d:
                run(PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", "PostgreSQL", n, Path(d))
        finally:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
