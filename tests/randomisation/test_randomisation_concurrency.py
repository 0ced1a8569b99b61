"""2,000 randomisations from 16 processes at once, on SQLite and on PostgreSQL (once per backend).

Checks: no duplicate allocation or sequence number, no lost request, asking twice (from two
processes) returns the same allocation, each stratum's sealed list consumed in order, lists extended
automatically (never "no allocations left"), and the audit chain verifies.
"""

from __future__ import annotations

import multiprocessing as mp
import time

import pytest
from randomisation_checks import check_store
from randomisation_fixtures import admin, bulk_enrol, make_trial, variant
from sqlalchemy import func, select

from securebase.protocol import load_protocol
from securebase.store import open_store
from securebase.store.tables import AuditRecord, Participant
from securebase.trial.randomise import prepare_lists, randomise, trial_scheme

N = int(__import__("os").environ.get("SB_RANDOMISATION_N", "2000"))
PROCS = 16
DUPLICATES = 6  # per process: participants also requested by another process


def _worker(url: str, trial_id: str, pids: list[str], start, out) -> None:  # type: ignore[no-untyped-def]
    """Randomise ``pids`` one by one. A client whose SQLite write lock wait times out ("database is
    locked") tries again, as a web client would; the retries are counted and reported."""
    from sqlalchemy.exc import OperationalError

    from securebase.errors import SecurebaseError

    results: list[tuple[str, str, int, object]] = []
    retries = 0
    try:
        store = open_store(url, migrate=False)
        actor = admin(trial_id)
        with store.unit_of_work(actor="admin", write=False) as uow:  # a long-lived client has parsed the protocol
            trial_scheme(uow, uow.trial(trial_id))
        start.wait()
        for pid in pids:
            for _attempt in range(20):
                try:
                    with store.unit_of_work(actor="admin") as uow:
                        v = randomise(uow, actor, pid)
                        uow.commit()
                    results.append((pid, v.arm, v.sequence_number, v.newly_allocated))
                    break
                except OperationalError as err:
                    if "locked" not in str(err):
                        raise
                    retries += 1
                except SecurebaseError as err:
                    results.append((pid, "ERROR", -1, str(err)))
                    break
        store.dispose()
    except Exception as exc:  # reported to the parent instead of hanging it
        results.append(("?", "ERROR", -1, repr(exc)))
    finally:
        out.put((results, retries))


def _randomise_concurrently(store_url: str, proto, ids: list[str]) -> tuple[list[tuple], int, float]:  # type: ignore[no-untyped-def]
    """Randomise ``ids`` from PROCS processes at once (a few asked for by two processes); checks that no
    request is lost and no participant gets two allocations; returns (results, retries, seconds)."""
    n = len(ids)

    chunks = [ids[i::PROCS] for i in range(PROCS)]
    for i in range(PROCS):  # a few participants asked for by two processes at about the same time
        other = chunks[(i + 1) % PROCS]
        half = len(chunks[i]) // 2
        chunks[i] = chunks[i][:half] + other[half: half + DUPLICATES] + chunks[i][half:]
    ctx = mp.get_context("fork")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(store_url, proto.id, c, start, out)) for c in chunks]
    for p in procs:
        p.start()
    t0 = time.perf_counter()
    start.set()
    batches = [out.get(timeout=900) for _ in procs]
    results = [r for batch, _ in batches for r in batch]
    retries = sum(n for _, n in batches)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    elapsed = time.perf_counter() - t0

    errors = [r for r in results if r[1] == "ERROR"]
    assert not errors, errors[:3]
    assert len(results) == n + PROCS * DUPLICATES  # no lost request
    by_pid: dict[str, set[tuple[str, int]]] = {}
    fresh: dict[str, int] = {}
    for pid, arm, seq, newly in results:
        by_pid.setdefault(pid, set()).add((arm, seq))
        fresh[pid] = fresh.get(pid, 0) + int(newly)
    assert set(by_pid) == set(ids)
    assert all(len(v) == 1 for v in by_pid.values()), "asking twice gave two different allocations"
    assert all(k == 1 for k in fresh.values()), "a participant was newly allocated twice"
    return results, retries, elapsed


@pytest.mark.slow
def test_2000_randomisations_from_16_processes(store_url: str) -> None:
    proto = variant(method="permuted_blocks", block_sizes=[2, 4, 6])
    store = open_store(store_url, migrate=False)
    make_trial(store, proto)
    with store.unit_of_work(actor="test-setup") as uow:
        ids = bulk_enrol(uow, proto, N)
        uow.commit()
    with store.unit_of_work(actor="admin") as uow:
        prepare_lists(uow, admin(proto.id))
        uow.commit()
    store.dispose()
    _, retries, elapsed = _randomise_concurrently(store_url, proto, ids)

    store = open_store(store_url, migrate=False)
    with store.read() as session:
        summary = check_store(session, proto.id)
        assert summary["allocations"] == N
        assert session.execute(select(func.count()).select_from(Participant)
                               .where(Participant.status == "randomised")).scalar_one() == N
        extended = session.execute(select(func.count()).where(AuditRecord.action == "list_extend")).scalar_one()
        assert extended > summary["strata"]  # lists were extended during the run (beyond version 1)
    store.dispose()
    print(f"{N} randomisations from {PROCS} processes in {elapsed:.1f} s ({N / elapsed:.0f}/s), {retries} lock-timeout retries")


@pytest.mark.slow
def test_200_minimisation_randomisations_from_16_processes(store_url: str) -> None:
    """Minimisation (the built-in ng26-care) under concurrency: sequence numbers 1..200 without gap or
    duplicate, and the incrementally kept marginal totals equal a recount of the allocations."""
    from securebase.store.tables import RandomisationState
    from securebase.trial.randomise import _minimisation_counts

    proto = load_protocol("ng26-care")
    store = open_store(store_url, migrate=False)
    make_trial(store, proto)
    with store.unit_of_work(actor="test-setup") as uow:
        ids = bulk_enrol(uow, proto, 200)
        uow.commit()
    store.dispose()
    results, _, _ = _randomise_concurrently(store_url, proto, ids)
    assert sorted({seq for _, _, seq, _ in results}) == list(range(1, 201))

    store = open_store(store_url, migrate=False)
    with store.unit_of_work(actor="admin", write=False) as uow:
        summary = check_store(uow.session, proto.id)
        assert summary["allocations"] == 200
        _, scheme = trial_scheme(uow, uow.trial(proto.id))
        state = uow.session.get(RandomisationState, proto.id)
        assert state is not None and state.allocations == 200
        assert state.counts == _minimisation_counts(uow, proto.id, scheme)
        assert sum(sum(k) for k in state.counts["age_band"].values()) == 200
    store.dispose()
