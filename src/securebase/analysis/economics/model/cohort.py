"""Cohort (Markov) state-transition model, vectorised over probabilistic samples.

A cohort starts in the states with proportions ``init`` (m_0). Each cycle t = 1..T moves it by that cycle's
transition matrix: ``m_t = m_{t-1} P_t`` (rows: from-state, columns: to-state; each row sums to 1). A payoff
(costs, QALYs, life years) is a value per state per cycle, ``r_t[s]`` (already scaled to the cycle length), and
the cycle's reward is the discounted occupancy times the payoff. How occupancy is counted (``method``):

* ``end``: cycle t counts m_t (after its transition), discounted at time t (Briggs, Claxton & Sculpher 2006,
  ch. 2: the HIV model of Chancellor et al. 1997; heemod ``method = "end"``);
* ``beginning``: cycle t counts m_{t-1}, discounted at time t-1;
* ``half_cycle``: half-cycle correction by the trapezoid rule, 0.5 (m_{t-1} d_{t-1} + m_t d_t) r_t, each
  occupancy discounted at its own time (Naimark et al. 2008; equal to the life-table method).

Discount factor at time t cycles: ``d_t = (1 + rate)^-(t x cycle_years)`` (NICE: 3.5% a year; 1.5% as
sensitivity). Shapes: ``P`` is (S, S) (constant) or (..., T, S, S) where the time axis has length T or 1
(constant) and ``...`` are sample dimensions; a payoff is (S,) or (..., T or 1, S). Every sample runs at
once with batched matrix products.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from securebase.errors import DataError

Method = Literal["end", "beginning", "half_cycle"]
TOL = 1e-8


def check_transitions(P: np.ndarray, states: Sequence[str], tol: float = TOL, what: str = "transition matrix") -> None:
    """Raise a :class:`DataError` naming state, cycle (and sample) when a row is not a probability vector."""
    P = np.asarray(P, dtype=float)
    S = len(states)
    if P.shape[-2:] != (S, S):
        raise DataError(f"{what} must be {S} x {S} for states {list(states)} (got shape {P.shape[-2:]})")
    bad_range = (P < -tol) | (P > 1 + tol) | ~np.isfinite(P)
    sums = P.sum(axis=-1)
    bad_sum = np.abs(sums - 1) > tol
    for bad, kind in ((bad_range.any(axis=-1), "range"), (bad_sum, "sum")):
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            row = idx[-1]
            where = _where(idx[:-1], P.ndim)
            vals = P[idx]
            shown = ", ".join(f"{states[j]} {vals[j]:.6g}" for j in range(S) if vals[j] != 0)
            if kind == "sum":
                raise DataError(f"{what}: transition probabilities from state '{states[row]}'{where} sum to "
                                f"{sums[idx]:.6g}, not 1 ({shown}); every row must sum to 1 "
                                f"(within {tol:g}): correct the probabilities out of '{states[row]}'")
            raise DataError(f"{what}: a transition probability from state '{states[row]}'{where} is outside "
                            f"[0, 1] ({shown}); correct it")


def _where(lead: tuple[int, ...], ndim: int) -> str:
    """Words for the position of a bad row: lead indexes P's leading dims (samples..., time)."""
    if not lead:
        return ""
    *samp, t = lead
    s = f" in cycle {t + 1}" if ndim >= 3 else ""
    return s + (f", PSA sample {samp[0]}" if samp else "")


@dataclass(frozen=True)
class CohortResult:
    """Totals per payoff (shape = the sample dims), the trace (..., T+1, S) and per-cycle rewards (..., T)."""

    states: tuple[str, ...]
    trace: np.ndarray = field(repr=False)
    totals: dict[str, np.ndarray]
    per_cycle: dict[str, np.ndarray] = field(repr=False)


def run_cohort(P: np.ndarray, init: Sequence[float] | np.ndarray, payoffs: Mapping[str, np.ndarray], *,
               states: Sequence[str], cycles: int, discount: Mapping[str, float] | None = None,
               cycle_years: float = 1.0, method: Method = "half_cycle", check: bool = True) -> CohortResult:
    """Run the cohort for ``cycles`` cycles; ``discount`` maps payoff name -> annual rate (0 if absent)."""
    S = len(states)
    P = np.asarray(P, dtype=float)
    if P.ndim < 2:
        raise DataError("the transition matrix must have at least two dimensions")
    if P.ndim >= 3 and P.shape[-3] not in (1, cycles):
        raise DataError(f"the transition array's time axis (axis -3) has length {P.shape[-3]}; expected "
                        f"{cycles} (one matrix per cycle) or 1 (constant)")
    if check:
        check_transitions(P, states)
    init = np.asarray(init, dtype=float)
    if init.shape[-1] != S:
        raise DataError(f"the initial distribution has {init.shape[-1]} values for {S} states {list(states)}")
    if np.abs(init.sum(axis=-1) - 1).max() > 1e-6:
        raise DataError(f"the initial distribution must sum to 1 (got {init.sum(axis=-1).ravel()[0]:.6g})")
    if method not in ("end", "beginning", "half_cycle"):
        raise DataError(f"method must be end, beginning or half_cycle (got {method!r})")
    P4 = P if P.ndim >= 3 else P[None]
    batch = P4.shape[:-3]
    rs = {}
    for name, r in payoffs.items():
        r = np.asarray(r, dtype=float)
        r = r[None] if r.ndim == 1 else r
        if r.shape[-2] not in (1, cycles) or r.shape[-1] != S:
            raise DataError(f"payoff '{name}' must have shape (..., {cycles} or 1, {S}) or ({S},) (got {r.shape})")
        rs[name] = r
        batch = np.broadcast_shapes(batch, r.shape[:-2])
    m = np.broadcast_to(init, (*batch, S)).copy()
    trace = np.empty((*batch, cycles + 1, S))
    trace[..., 0, :] = m
    for t in range(cycles):
        Pt = P4[..., t if P4.shape[-3] > 1 else 0, :, :]
        m = np.matmul(m[..., None, :], Pt)[..., 0, :]  # batched (1 x S) @ (S x S)
        trace[..., t + 1, :] = m
    discount = discount or {}
    totals, per_cycle = {}, {}
    tt = np.arange(cycles + 1) * cycle_years
    for name, r in rs.items():
        d = (1 + discount.get(name, 0.0)) ** -tt  # (T+1,)
        occ = trace * d[:, None]
        if method == "end":
            counted = occ[..., 1:, :]
        elif method == "beginning":
            counted = occ[..., :-1, :]
        else:
            counted = 0.5 * (occ[..., :-1, :] + occ[..., 1:, :])
        pc = (counted * r).sum(axis=-1)
        pc = np.broadcast_to(pc, (*batch, cycles))
        per_cycle[name] = pc
        totals[name] = pc.sum(axis=-1)
    return CohortResult(tuple(states), trace, totals, per_cycle)
