"""Cost-effectiveness with more than two options: the incremental analysis and the acceptability frontier.

- ``incremental_analysis(names, costs, effects)``: sort by cost (ties: more effect first); remove options
  that are strongly dominated (another costs no more and gives no less effect, one of them strictly); then
  repeatedly remove extendedly dominated options (an option whose ICER against the previous frontier
  option exceeds the ICER of the next one: a mix of its neighbours gives more effect for the same cost);
  ICERs along the frontier are each option against the previous frontier option (Drummond et al. 2015,
  Methods for the Economic Evaluation of Health Care Programmes, 4th ed., chapter 4; NICE DSU).
- ``nmb_ranking``: net monetary benefit ``lambda E - C`` and its rank at each threshold.
- ``acceptability``: from probabilistic samples (sims x options) of cost and effect, the multi-option
  cost-effectiveness acceptability curves (probability each option has the highest NMB), the
  acceptability frontier (the option with the highest *expected* NMB and its probability; Fenwick et al.
  2001) and the expected value of perfect information ``E[max_j NMB_j] - max_j E[NMB_j]`` per person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from securebase.errors import DataError


@dataclass(frozen=True)
class OptionRow:
    option: str
    cost: float
    effect: float
    status: str  # "frontier", "dominated", "extendedly dominated"
    comparator: str | None
    incremental_cost: float | None
    incremental_effect: float | None
    icer: float | None
    dominated_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _check(names: Sequence[str], costs: Sequence[float], effects: Sequence[float]) -> tuple[list[str], np.ndarray, np.ndarray]:
    n = list(map(str, names))
    c, e = np.asarray(costs, dtype=float), np.asarray(effects, dtype=float)
    if len(n) < 2 or c.shape != (len(n),) or e.shape != (len(n),):
        raise DataError(f"incremental analysis needs two or more options with one cost and one effect each "
                        f"(got {len(n)} names, {c.shape} costs, {e.shape} effects)")
    if len(set(n)) != len(n):
        raise DataError(f"option names must be unique (got {n})")
    if not (np.isfinite(c).all() and np.isfinite(e).all()):
        raise DataError("costs and effects must be finite numbers")
    return n, c, e


def incremental_analysis(names: Sequence[str], costs: Sequence[float], effects: Sequence[float]) -> list[OptionRow]:
    """The incremental table in order of cost (see the module docstring)."""
    n, c, e = _check(names, costs, effects)
    order = sorted(range(len(n)), key=lambda i: (c[i], -e[i]))
    status: dict[int, tuple[str, str | None]] = {}
    for i in order:
        for j in order:
            if j != i and c[j] <= c[i] and e[j] >= e[i] and (c[j] < c[i] or e[j] > e[i]):
                status[i] = ("dominated", n[j])
                break
    frontier = [i for i in order if i not in status]
    changed = True
    while changed and len(frontier) > 2:
        changed = False
        icers = [(c[frontier[k]] - c[frontier[k - 1]]) / (e[frontier[k]] - e[frontier[k - 1]])
                 for k in range(1, len(frontier))]
        for k in range(len(icers) - 1):
            if icers[k] > icers[k + 1]:
                i = frontier[k + 1]
                status[i] = ("extendedly dominated", f"{n[frontier[k]]} and {n[frontier[k + 2]]}")
                frontier.remove(i)
                changed = True
                break
    rows = []
    for i in order:
        if i in status:
            rows.append(OptionRow(n[i], float(c[i]), float(e[i]), status[i][0], None, None, None, None, status[i][1]))
            continue
        k = frontier.index(i)
        if k == 0:
            rows.append(OptionRow(n[i], float(c[i]), float(e[i]), "frontier", None, None, None, None))
            continue
        p = frontier[k - 1]
        dc, de = float(c[i] - c[p]), float(e[i] - e[p])
        rows.append(OptionRow(n[i], float(c[i]), float(e[i]), "frontier", n[p], dc, de, dc / de))
    return rows


def optimal_at(rows: Sequence[OptionRow], threshold: float) -> str:
    """The frontier option a decision maker with this threshold chooses (largest ICER not above it)."""
    best = next(r.option for r in rows if r.status == "frontier")
    for r in rows:
        if r.status == "frontier" and r.icer is not None and r.icer <= threshold:
            best = r.option
    return best


def nmb_ranking(names: Sequence[str], costs: Sequence[float], effects: Sequence[float],
                thresholds: Sequence[float]) -> list[dict[str, Any]]:
    """Net monetary benefit of each option and its rank (1 = highest) at each threshold."""
    n, c, e = _check(names, costs, effects)
    out = []
    for lam in thresholds:
        nmb = lam * e - c
        ranks = (-nmb).argsort(kind="stable").argsort() + 1
        out.append({"threshold": float(lam), "nmb": dict(zip(n, nmb.tolist(), strict=True)),
                    "rank": dict(zip(n, ranks.tolist(), strict=True)), "best": n[int(np.argmax(nmb))]})
    return out


@dataclass(frozen=True)
class Acceptability:
    options: tuple[str, ...]
    thresholds: np.ndarray
    ceac: np.ndarray  # (thresholds, options): probability each option has the highest NMB
    frontier_option: tuple[str, ...]  # option with the highest expected NMB at each threshold
    frontier_probability: np.ndarray
    evpi: np.ndarray  # per person, in money

    def to_dict(self) -> dict[str, Any]:
        return {"options": list(self.options), "thresholds": self.thresholds.tolist(),
                "ceac": {o: self.ceac[:, j].tolist() for j, o in enumerate(self.options)},
                "frontier_option": list(self.frontier_option),
                "frontier_probability": self.frontier_probability.tolist(), "evpi": self.evpi.tolist()}


def acceptability(names: Sequence[str], costs: np.ndarray, effects: np.ndarray,
                  thresholds: Sequence[float]) -> Acceptability:
    """Multi-option CEAC, acceptability frontier and EVPI from (sims x options) samples."""
    costs, effects = np.asarray(costs, dtype=float), np.asarray(effects, dtype=float)
    if costs.ndim != 2 or costs.shape != effects.shape or costs.shape[1] != len(names):
        raise DataError(f"costs and effects must be (simulations x {len(names)} options) arrays "
                        f"(got {costs.shape} and {effects.shape})")
    lam = np.asarray(thresholds, dtype=float)
    nmb = lam[:, None, None] * effects[None] - costs[None]  # (T, S, K)
    k = nmb.shape[2]
    best = nmb.argmax(axis=2)
    ceac = np.stack([(best == j).mean(axis=1) for j in range(k)], axis=1)
    mean_nmb = nmb.mean(axis=1)
    chosen = mean_nmb.argmax(axis=1)
    evpi = nmb.max(axis=2).mean(axis=1) - mean_nmb.max(axis=1)
    return Acceptability(tuple(names), lam, ceac, tuple(names[j] for j in chosen),
                         ceac[np.arange(len(lam)), chosen], evpi)
