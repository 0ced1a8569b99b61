"""Non-parametric bootstrap of the cost-QALY SUR, batched: every replicate is a row of frequency weights.

* Stratified by arm (Efron & Tibshirani 1993, ch. 6; Ben et al. 2023): in each arm, n_a participants are
  drawn with replacement from that arm, so every replicate keeps the trial's arm sizes. The counts of a
  replicate are Multinomial(n_a, 1/n_a) in each arm.
* Two-stage cluster bootstrap (Davison & Hinkley 1997, sec. 3.8; Ng, Grieve & Carpenter 2013, Stata J
  13:141) when therapists or sites cluster: within each arm, draw the arm's K_a clusters with replacement,
  then resample participants with replacement inside each drawn cluster. A cluster drawn m times gets
  Multinomial(m n_c, 1/n_c) counts over its n_c members. Participants with no cluster (usual care under
  partial nesting) are their own single-member clusters. No shrinkage correction is applied.

The SUR for all replicates of a batch is fitted at once from their Gram matrices
(:func:`securebase.analysis.economics.sur.sur_from_gram`). Batches are seeded from
``numpy.random.SeedSequence`` and can run on Dask through :mod:`securebase.analysis.runner`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from securebase.analysis.economics.sur import GramLayout, gram_batch, stack_system, sur_from_gram


@dataclass(frozen=True)
class BootstrapProblem:
    """Everything a batch needs: the scaled system, where the arm effects sit, and the resampling units."""

    z: np.ndarray
    layout: GramLayout
    effect_index: tuple[int, ...]  # positions of the treatment coefficients in the coefficient vector
    groups: tuple[tuple[np.ndarray, ...], ...]  # per arm: tuple of member-index arrays, one per cluster

    @property
    def n(self) -> int:
        return int(self.z.shape[0])


def make_problem(xs: list[np.ndarray], ys: list[np.ndarray], effect_index: Sequence[int], arm: np.ndarray,
                 cluster: np.ndarray | None = None) -> BootstrapProblem:
    """Build a :class:`BootstrapProblem`; ``cluster`` holds a label per participant (None/NaN = own cluster)."""
    z, layout = stack_system(xs, ys)
    groups: list[tuple[np.ndarray, ...]] = []
    for a in np.unique(arm):
        idx = np.flatnonzero(arm == a)
        if cluster is None:
            groups.append((idx,))  # one pseudo-group: plain stratified resampling
            continue
        labels = np.asarray(cluster, dtype=object)[idx]
        members: dict[Any, list[int]] = {}
        for i, lab in zip(idx, labels, strict=False):
            key = ("__own__", int(i)) if lab is None or (isinstance(lab, float) and np.isnan(lab)) else lab
            members.setdefault(key, []).append(int(i))
        groups.append(tuple(np.array(v) for v in members.values()))
    return BootstrapProblem(z, layout, tuple(effect_index), tuple(groups))


def bootstrap_counts(problem: BootstrapProblem, rng: np.random.Generator, n_rep: int,
                     clustered: bool) -> np.ndarray:
    """Frequency weights (n_rep x n) of stratified (clustered: two-stage) bootstrap replicates."""
    w = np.zeros((n_rep, problem.n))
    for arm_groups in problem.groups:
        if not clustered:
            idx = arm_groups[0] if len(arm_groups) == 1 else np.concatenate(arm_groups)
            w[:, idx] = _draw_counts(rng, n_rep, len(idx))
            continue
        k = len(arm_groups)
        picks = _draw_counts(rng, n_rep, k)  # times each cluster is drawn
        for c, members in enumerate(arm_groups):
            if len(members) == 1:
                w[:, members[0]] = picks[:, c]
            else:
                w[:, members] = rng.multinomial(picks[:, c] * len(members),
                                                np.full(len(members), 1.0 / len(members)))
    return w


def _draw_counts(rng: np.random.Generator, n_rep: int, k: int) -> np.ndarray:
    """Counts of k items when k draws are made with replacement, per replicate: (n_rep x k).

    Equivalent to Multinomial(k, 1/k) rows; drawn as indices and counted with one ``bincount``
    (much faster than ``Generator.multinomial`` for many replicates).
    """
    idx = rng.integers(0, k, size=(n_rep, k)) + (np.arange(n_rep) * k)[:, None]
    return np.bincount(idx.ravel(), minlength=n_rep * k).reshape(n_rep, k)


def bootstrap_batch(seed_seq: np.random.SeedSequence, n: int, problem: BootstrapProblem,
                    clustered: bool = False) -> np.ndarray:
    """One seeded batch (runner contract): the arm-effect coefficients of ``n`` replicates, shape (n, 2)."""
    rng = np.random.default_rng(seed_seq)
    w = bootstrap_counts(problem, rng, n, clustered)
    beta = sur_from_gram(gram_batch(problem.z, w), problem.layout, w.sum(axis=1))
    return beta[:, list(problem.effect_index)]


def run_batches(task: Callable[..., np.ndarray], *, seed: int, n_total: int, batch_size: int,
                args: tuple = (), scheduler: str | None = None, workers: int = 1,
                progress: bool = False) -> np.ndarray:
    """Run seeded batches through the project runner (Dask capable) and stack their rows.

    Uses :func:`securebase.analysis.runner.run_seeded`; when that module is not installed the batches
    run in this process with the same contract (``SeedSequence(seed).spawn`` one child per batch).
    """
    try:
        from securebase.analysis.runner import run_seeded  # lazy: Dask only when asked for
    except ImportError:
        children = np.random.SeedSequence(seed).spawn(-(-n_total // batch_size))
        sizes = [min(batch_size, n_total - i * batch_size) for i in range(len(children))]
        parts = [task(ss, k, *args) for ss, k in zip(children, sizes, strict=False)]
    else:
        parts = run_seeded(task, seed=seed, n_total=n_total, batch_size=batch_size, scheduler=scheduler,
                           workers=workers, progress=progress, args=args)
    return np.vstack(parts)
