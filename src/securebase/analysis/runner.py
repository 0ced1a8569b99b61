"""Seeded batch runner: in-process, on a local Dask cluster, or on any Dask scheduler.

Simulation-heavy work (power by simulation, bootstrap, multiple imputation) is cut into batches.
Batch ``i`` of ``ceil(n_total / batch_size)`` gets the ``i``-th child of
``numpy.random.SeedSequence(seed).spawn(n_batches)`` and ``batch_size`` replicates (the last batch the
remainder), and results come back in batch order, so they depend only on ``seed`` and ``batch_size``,
never on the number of workers or the scheduler. Batches should take at least about a second each
(ARCHITECTURE.md, "Scale-out") so that scheduling overhead stays small.

This is the only analysis module that imports Dask, and it does so lazily.

:class:`ResultCache` keeps results on disk under the settings' ``cache_dir``, keyed by a SHA-256 hash of
the scenario (everything that determines the result: parameters, seed, batch size, code version).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from securebase.errors import ConfigurationError, FieldError

CACHE_FORMAT = 1
CONNECT_TIMEOUT = "20s"  # waiting for an existing scheduler to answer


def _batches(n_total: int, batch_size: int) -> list[int]:
    if n_total < 1:
        raise FieldError("n_total", n_total, "a positive number of replicates")
    if batch_size < 1:
        raise FieldError("batch_size", batch_size, "a positive batch size")
    k = math.ceil(n_total / batch_size)
    return [batch_size] * (k - 1) + [n_total - batch_size * (k - 1)]


def _progress_bar(total: int, enabled: bool, desc: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not enabled, desc=desc, unit="batch", leave=False)


def run_seeded(task: Callable[..., Any], *, seed: int, n_total: int, batch_size: int, scheduler: str | None = None,
               workers: int = 1, progress: bool = True, args: tuple = ()) -> list:
    """Run ``task(seed_seq, n, *args)`` over seeded batches; return the batch results in batch order.

    ``workers == 1`` and no ``scheduler``: run in this process. ``workers > 1``: start a
    ``dask.distributed.LocalCluster`` of that many single-threaded worker processes. ``scheduler``
    ("tcp://host:8786"): connect to an existing Dask scheduler (for example a dask-jobqueue SLURM
    cluster, docs/design.md). ``task`` must be importable by the workers (a module-level function).
    """
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise FieldError("seed", seed, "a non-negative integer")
    if workers < 1:
        raise FieldError("workers", workers, "at least 1")
    sizes = _batches(n_total, batch_size)
    seqs = np.random.SeedSequence(int(seed)).spawn(len(sizes))
    if not scheduler and workers == 1:
        out = []
        with _progress_bar(len(sizes), progress, "batches") as bar:
            for ss, n in zip(seqs, sizes, strict=True):
                out.append(task(ss, n, *args))
                bar.update(1)
        return out
    return _run_dask(task, seqs, sizes, scheduler, workers, progress, args)


def worker_environ() -> dict[str, Any]:
    """Environment for local worker processes: Dask's defaults with glibc malloc thresholds raised.

    Dask sets ``MALLOC_TRIM_THRESHOLD_=65536``, which also switches off glibc's dynamic mmap threshold, so
    every large numpy temporary is mmap-ed and page-faulted afresh; for the batched kernels this doubled
    the CPU time per batch (measured: about 260,000 minor page faults and 0.9 s system time per
    1000-trial batch, against 8,000 and 0.05 s with the values below: trim above 256 MiB, mmap above
    32 MiB). BLAS threads stay at 1 per worker. docs/design.md shows the same setting for a SLURM cluster.
    """
    import dask

    env = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
    env.update(MALLOC_TRIM_THRESHOLD_=268435456, MALLOC_MMAP_THRESHOLD_=33554432)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env.setdefault(var, 1)
    return env


def _run_dask(task: Callable[..., Any], seqs: list, sizes: list[int], scheduler: str | None, workers: int,
              progress: bool, args: tuple) -> list:
    try:
        import dask
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as exc:  # pragma: no cover - dask is a dependency
        raise ConfigurationError("dask[distributed] is needed for workers > 1; pip install 'dask[distributed]'") from exc
    cluster = None
    try:
        if scheduler:
            try:
                client = Client(scheduler, timeout=CONNECT_TIMEOUT)
            except OSError as exc:
                raise ConfigurationError(f"could not connect to the Dask scheduler {scheduler!r} ({exc}); "
                                         "check the address (tcp://host:8786) and that the scheduler is running") from exc
        else:
            with dask.config.set({"distributed.nanny.pre-spawn-environ": worker_environ()}):
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=40)
            client = Client(cluster)
        try:
            futures = [client.submit(task, ss, n, *args, pure=False) for ss, n in zip(seqs, sizes, strict=True)]
            with _progress_bar(len(futures), progress, "batches") as bar:
                for _ in as_completed(futures):
                    bar.update(1)
            return client.gather(futures)
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()


def scenario_hash(scenario: Any) -> str:
    """SHA-256 of the scenario's canonical JSON (keys sorted; numpy values and paths as text)."""
    text = json.dumps(scenario, sort_keys=True, default=_json_default, separators=(",", ":"))
    return hashlib.sha256(f"v{CACHE_FORMAT}:{text}".encode()).hexdigest()


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return {"__ndarray__": obj.tolist(), "dtype": str(obj.dtype)}
    if isinstance(obj, np.generic):
        return obj.item()
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    return str(obj)


def _json_hook(obj: dict) -> Any:
    if "__ndarray__" in obj:
        return np.asarray(obj["__ndarray__"], dtype=obj["dtype"])
    return obj


class ResultCache:
    """JSON files under ``cache_dir/runner``, one per scenario hash (JSON, never pickle: a cache is data)."""

    def __init__(self, cache_dir: Path | str) -> None:
        self.root = Path(cache_dir) / "runner"

    def path(self, key: str) -> Path:
        return self.root / f"{key}.json"

    def get(self, key: str) -> Any | None:
        p = self.path(key)
        if not p.exists():
            return None
        try:
            return json.loads(p.read_text(), object_hook=_json_hook)
        except (OSError, json.JSONDecodeError):
            return None  # a damaged entry is recomputed

    def put(self, key: str, value: Any) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.path(key).with_suffix(".tmp")
        tmp.write_text(json.dumps(value, default=_json_default))
        tmp.replace(self.path(key))


def run_cached(task: Callable[..., Any], scenario: dict[str, Any], *, cache_dir: Path | str | None, seed: int,
               n_total: int, batch_size: int, scheduler: str | None = None, workers: int = 1,
               progress: bool = True, args: tuple = ()) -> tuple[list, bool]:
    """:func:`run_seeded` through a :class:`ResultCache`; returns (results, came_from_cache).

    The key hashes ``scenario`` together with the task's qualified name, seed, n_total and batch_size;
    the number of workers and the scheduler are left out because they do not change the result.
    """
    key = scenario_hash({"scenario": scenario, "task": f"{task.__module__}.{task.__qualname__}",
                         "seed": seed, "n_total": n_total, "batch_size": batch_size})
    cache = ResultCache(cache_dir) if cache_dir is not None else None
    if cache is not None:
        hit = cache.get(key)
        if hit is not None:
            return hit, True
    out = run_seeded(task, seed=seed, n_total=n_total, batch_size=batch_size, scheduler=scheduler,
                     workers=workers, progress=progress, args=args)
    if cache is not None:
        cache.put(key, out)
    return out, False
