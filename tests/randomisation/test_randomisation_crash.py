"""Crash test (SQLite): a process randomising 200 participants is killed with SIGKILL at random moments.

After every kill: each participant has zero or one allocation, every allocation is complete (visits,
status, list entry, audit records) and nothing exists for the others, lists are consumed in order,
and `securebase audit verify` passes. Finally a run to completion allocates everyone exactly once.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from randomisation_checks import check_store
from randomisation_fixtures import admin, bulk_enrol, make_trial, variant

from securebase.store import open_store
from securebase.trial.randomise import prepare_lists

N = 200
KILLS = 4
CHILD = Path(__file__).with_name("randomisation_crash_child.py")


def _verify_cli(url: str) -> subprocess.CompletedProcess[str]:
    # --no-data: the set-up bulk-loads participants, screening and consents with Core inserts (not audited),
    # which the data replay would rightly report; this test is about the chain and the randomisation rows
    return subprocess.run([sys.executable, "-m", "securebase.cli", "audit", "verify", "--no-data", "--db", url],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_sigkill_during_randomisation_leaves_nothing_half_written(tmp_path: Path) -> None:
    # SQLite only: a killed client's transaction on PostgreSQL is rolled back by the server, while
    # SQLite's recovery (WAL) happens in the next client, which is what this test exercises.
    store_url = f"sqlite:///{tmp_path / 'crash.db'}"
    proto = variant(method="permuted_blocks", block_sizes=[2, 4])
    store = open_store(store_url)
    make_trial(store, proto)
    with store.unit_of_work(actor="test-setup") as uow:
        ids = bulk_enrol(uow, proto, N, seed=21)
        uow.commit()
    with store.unit_of_work(actor="admin") as uow:
        prepare_lists(uow, admin(proto.id), blocks_per_stratum=1)  # small lists: extensions happen mid-run
        uow.commit()
    store.dispose()
    rng = random.Random(20261126)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    killed_counts = []
    for _ in range(KILLS):
        child = subprocess.Popen([sys.executable, str(CHILD), store_url, proto.id, *ids], stdout=subprocess.PIPE,
                                 text=True, env=env)
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        # Kill after a random number of committed randomisations plus a random fraction of the next one, so
        # the kill lands inside a transaction whatever the machine's speed (a fixed sleep let a fast machine
        # finish all 200 first).
        # The child walks the whole list again, passing quickly over those already allocated.
        for _ in range((killed_counts[-1] if killed_counts else 0) + rng.randint(1, 25)):
            assert child.stdout.readline().strip() == "ok"
        time.sleep(rng.uniform(0.0, 0.03))
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        assert child.returncode == -signal.SIGKILL
        store = open_store(store_url, migrate=False)
        with store.read() as session:
            killed_counts.append(check_store(session, proto.id)["allocations"])
        store.dispose()
    result = _verify_cli(store_url)  # the command line check, after the last kill (check_store verified each time)
    assert result.returncode == 0, result.stderr
    assert "audit chain intact" in result.stdout
    assert killed_counts == sorted(killed_counts) and killed_counts[-1] < N
    done = subprocess.run([sys.executable, str(CHILD), store_url, proto.id, *ids], capture_output=True, text=True,
                          env=env, timeout=600)
    assert done.returncode == 0 and "done" in done.stdout, done.stderr
    store = open_store(store_url, migrate=False)
    with store.read() as session:
        assert check_store(session, proto.id)["allocations"] == N
    store.dispose()
    assert _verify_cli(store_url).returncode == 0
