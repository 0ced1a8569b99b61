"""Benchmark: securebase backup + restore (portable, typed JSON Lines) against SQLite's own online backup.

Run: .venv/bin/python benchmarks/bench_interop_backup.py [--quick] [--participants N]

A SQLite store holding a simulated ng26-care trial (every row audited, as in production) is (1) backed
up with ``securebase.interop.backup.backup_store`` and restored into an empty SQLite store with
``restore_store``, and (2) copied with SQLite's online backup API (``sqlite3.Connection.backup``, the
baseline: a page copy, not portable across backends). Both copies are checked (``compare_stores`` finds
no difference; the audit chain verifies). Printed: rows, seconds, and the ratio of (1) to (2). The
ODM export of the same trial is timed against the same baseline.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "interop"))

from interop_synth import build_trial  # noqa: E402

from securebase.interop.backup import backup_store, compare_stores, restore_store  # noqa: E402
from securebase.interop.odm_export import write_odm  # noqa: E402
from securebase.protocol import load_protocol  # noqa: E402
from securebase.store import open_store, verify_chain  # noqa: E402
from securebase.trial.roles import Actor  # noqa: E402
from securebase.trial.setup import create_trial  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a small trial (6 participants)")
    ap.add_argument("--participants", type=int, default=None, help="participants to simulate (default 40)")
    args = ap.parse_args()
    n = args.participants or (6 if args.quick else 40)
    tmp = Path(tempfile.mkdtemp())
    src_path = tmp / "src.db"
    st = open_store(f"sqlite:///{src_path}")
    with st.unit_of_work(actor="bench") as uow:
        create_trial(uow, load_protocol("ng26-care"), seed=1)
        uow.commit()
    t0 = time.perf_counter()
    build_trial(st, n=n, seed=7)
    print(f"simulated {n} participants in {time.perf_counter() - t0:.1f} s")

    t0 = time.perf_counter()
    res = backup_store(st, tmp / "b.zip")
    t_backup = time.perf_counter() - t0
    target = open_store(f"sqlite:///{tmp / 'restored.db'}")
    t0 = time.perf_counter()
    restore_store(target, res.path)
    t_restore = time.perf_counter() - t0
    assert compare_stores(st, target).identical
    with target.read() as s:
        verify_chain(s)

    t0 = time.perf_counter()
    with sqlite3.connect(src_path) as a, sqlite3.connect(tmp / "copy.db") as b:
        a.backup(b)
    t_base = time.perf_counter() - t0
    assert compare_stores(st, open_store(f"sqlite:///{tmp / 'copy.db'}", migrate=False)).identical

    t0 = time.perf_counter()
    write_odm(st, Actor.system("ng26-care"), tmp / "t.xml")
    t_odm = time.perf_counter() - t0

    rows = sum(res.rows.values())
    print(f"rows: {rows}; backup file {res.path.stat().st_size / 1e6:.2f} MB")
    print(f"securebase backup {t_backup:.3f} s + restore {t_restore:.3f} s = {t_backup + t_restore:.3f} s")
    print(f"baseline sqlite3 online backup {t_base:.4f} s")
    print(f"ratio (backup + restore) / sqlite3 backup: {(t_backup + t_restore) / t_base:.1f}")
    print(f"ODM export (validated) {t_odm:.3f} s; ratio to sqlite3 backup: {t_odm / t_base:.1f}")


if __name__ == "__main__":
    main()
