"""Properties of an allocation scheme by simulation: imbalance and predictability.

Many recruitment sequences are simulated at once (arrays over simulations; a loop over participants
only), with each factor's levels drawn independently (uniform unless ``level_probs`` says otherwise).

- Imbalance of counts ``n_k`` with ratios ``r_k``: ``D = max_k n_k/r_k − min_k n_k/r_k`` (for 1:1 the
  difference in participants), overall, within every factor level, and over recruitment (drift).
- Predictability: the expected probability that a guesser names the next arm correctly. Under the
  convergence strategy (Blackwell D, Hodges JL. Ann Math Stat 1957;28:449–460) the guess is the arm
  furthest below its share (smallest ``n_k/r_k``; ties split evenly) among earlier participants of
  the same stratum, of the same site, or of the whole trial; for minimisation also the arm the
  algorithm prefers (a guesser who knows every earlier allocation). The expectation uses the
  allocation probabilities, not the realised draw, so it has less Monte Carlo error.
- Permuted blocks: the share of allocations that are certain given the earlier allocations of the
  current block when the block size is known, and when only the set of sizes is known (the block
  start known: both are upper bounds for a recruiter who must also infer where the block began), and
  the correct-guess probability at the last slot of each block.

A permuted block is simulated by drawing each slot with probability proportional to the allocations
left in the block, which gives every ordering of the block the same probability, as a list does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from securebase.randomisation.blocks import PermutedBlocks
from securebase.randomisation.core import draw_arm
from securebase.randomisation.design import Scheme
from securebase.randomisation.minimisation import Minimisation


def _expected_correct(probs: np.ndarray, guess_mask: np.ndarray) -> np.ndarray:
    """Expected correctness when guessing uniformly among the arms of ``guess_mask``."""
    return (probs * guess_mask).sum(axis=1) / guess_mask.sum(axis=1)


def _convergence_mask(counts: np.ndarray, ratios: np.ndarray) -> np.ndarray:
    x = counts / ratios
    return x <= x.min(axis=1, keepdims=True) + 1e-12


def _stats(x: np.ndarray) -> dict[str, float]:
    return {"mean": float(np.mean(x)), "sd": float(np.std(x, ddof=1)) if x.size > 1 else 0.0,
            "median": float(np.median(x)), "p95": float(np.quantile(x, 0.95)), "max": float(np.max(x))}


@dataclass(frozen=True)
class PropertiesResult:
    """Outcome of :func:`simulate_properties`; arrays are over simulations (or over allocations)."""

    method: str
    options: dict[str, Any]
    n: int
    sims: int
    seed: int | None
    arms: tuple[str, ...]
    ratios: tuple[int, ...]
    overall: np.ndarray
    by_level: dict[tuple[str, str], np.ndarray]
    final_share: np.ndarray
    trajectory_mean: np.ndarray
    trajectory_p95: np.ndarray
    share_trajectory: np.ndarray
    guess: dict[str, np.ndarray]
    blocks: dict[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def table(self) -> list[dict[str, Any]]:
        """One row per quantity: imbalance overall / per factor level / worst level of each factor and the
        arm shares (statistics over simulations); correct-guess probabilities (statistics over allocation
        numbers of the mean over simulations); block predictability (shares of all allocations)."""
        rows = [{"quantity": "imbalance", "group": "overall", **_stats(self.overall)}]
        for (f, lv), x in self.by_level.items():
            rows.append({"quantity": "imbalance", "group": f"{f}={lv}", **_stats(x)})
        factors = sorted({f for f, _ in self.by_level}, key=[f for f, _ in self.by_level].index)
        for f in factors:
            worst = np.max(np.stack([x for (g, _), x in self.by_level.items() if g == f]), axis=0)
            rows.append({"quantity": "imbalance (worst level)", "group": f, **_stats(worst)})
        for k, a in enumerate(self.arms):
            rows.append({"quantity": "share", "group": a, **_stats(self.final_share[:, k]),
                         "target": self.ratios[k] / sum(self.ratios)})
        for name, g in self.guess.items():
            rows.append({"quantity": "correct guess", "group": name, "mean": float(np.mean(g)),
                         "sd": float("nan"), "median": float(np.median(g)), "p95": float(np.quantile(g, 0.95)),
                         "max": float(np.max(g))})
        for name, v in self.blocks.items():
            rows.append({"quantity": "blocks", "group": name, "mean": v, "sd": float("nan"), "median": float("nan"),
                         "p95": float("nan"), "max": float("nan")})
        return rows

    def summary(self) -> str:
        opts = ", ".join(f"{k}={v}" for k, v in self.options.items())
        lines = [f"{self.method} ({opts}); {self.sims} simulated trials of {self.n} participants, seed {self.seed}",
                 f"{'quantity':<26}{'group':<34}{'mean':>8}{'median':>8}{'p95':>8}{'max':>8}"]
        for r in self.table():
            lines.append(f"{r['quantity']:<26}{r['group']:<34}{r['mean']:>8.3f}{r['median']:>8.3f}{r['p95']:>8.3f}"
                         f"{r['max']:>8.3f}")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "options": self.options, "n": self.n, "sims": self.sims, "seed": self.seed,
                "arms": list(self.arms), "ratios": list(self.ratios), "table": self.table(),
                "trajectory_mean": self.trajectory_mean.tolist(), "trajectory_p95": self.trajectory_p95.tolist(),
                "guess_by_allocation": {k: v.tolist() for k, v in self.guess.items()}, "blocks": self.blocks,
                "warnings": list(self.warnings)}


def simulate_properties(scheme: Scheme, n: int, sims: int, rng: np.random.Generator, *,
                        level_probs: Mapping[str, Sequence[float]] | None = None,
                        seed: int | None = None) -> PropertiesResult:
    """Simulate ``sims`` recruitment sequences of ``n`` participants under ``scheme``."""
    if n < 1 or sims < 2:
        raise ValueError(f"need n >= 1 and sims >= 2 (got n={n}, sims={sims})")
    method = scheme.method
    k = len(scheme.arms)
    r = np.asarray(scheme.ratios, dtype=float)
    rho = r / r.sum()
    f_n = len(scheme.factors)
    n_levels = [len(lv) for lv in scheme.levels]
    l_max = max(n_levels, default=1)
    levels = np.zeros((sims, n, f_n), dtype=np.int64)
    for i, f in enumerate(scheme.factors):
        probs = np.asarray(level_probs[f], float) if level_probs and f in level_probs else np.full(n_levels[i], 1 / n_levels[i])
        levels[:, :, i] = rng.choice(n_levels[i], size=(sims, n), p=probs / probs.sum())
    mult = np.cumprod([1] + n_levels[::-1])[:-1][::-1] if f_n else np.array([], dtype=np.int64)
    strata = (levels * mult).sum(axis=2) if f_n else np.zeros((sims, n), dtype=np.int64)
    n_strata = int(np.prod(n_levels)) if f_n else 1
    site_f = scheme.factors.index("site") if "site" in scheme.factors else None

    s_idx = np.arange(sims)
    f_idx = np.arange(f_n)
    counts = np.zeros((sims, f_n, l_max, k))
    overall = np.zeros((sims, k))
    st_counts = np.zeros((sims, n_strata, k))
    traj_mean, traj_p95 = np.zeros(n), np.zeros(n)
    share_traj = np.zeros((n, k))
    guess_names = ["stratum (convergence)", "overall (convergence)"]
    if site_f is not None:
        guess_names.insert(1, "site (convergence)")
    if isinstance(method, Minimisation):
        guess_names.append("preferred arm (knows all)")
    guess = {g: np.zeros(n) for g in guess_names}
    is_blocks = isinstance(method, PermutedBlocks)
    block_sizes: tuple[int, ...] = method.block_sizes if isinstance(method, PermutedBlocks) else ()
    if is_blocks:
        sizes = np.asarray(block_sizes)
        rem = np.zeros((sims, n_strata, k))
        elapsed = np.zeros((sims, n_strata, k))
        forced_known = forced_unknown = 0.0
        end_correct, end_count = 0.0, 0
    for t in range(n):
        lv = levels[:, t, :]
        stt = strata[:, t]
        c = counts[s_idx[:, None], f_idx[None, :], lv, :]
        tied = None
        if isinstance(method, Minimisation):
            if t < method.initial_random:
                probs = np.broadcast_to(rho, (sims, k))
                tied = np.ones((sims, k), dtype=bool)
            else:
                _, tied, probs = method.probabilities(c)
        elif is_blocks:
            cur = rem[s_idx, stt]
            new = cur.sum(axis=1) == 0
            if new.any():
                b = rng.choice(sizes, size=int(new.sum()))
                cur[new] = b[:, None] * r / r.sum()
                rem[s_idx[new], stt[new]] = cur[new]
                elapsed[s_idx[new], stt[new]] = 0
            probs = cur / cur.sum(axis=1, keepdims=True)
            forced_known += float(np.mean(probs.max(axis=1) >= 1 - 1e-12))
            e = elapsed[s_idx, stt]
            m = e.sum(axis=1)
            all_forced = np.ones(sims, dtype=bool)
            forced_arm = np.full(sims, -1)
            for b in sizes:
                quota = b * r / r.sum()
                consistent = (b > m) & np.all(e <= quota, axis=1)
                left = (quota - e) > 0
                one = left.sum(axis=1) == 1
                arm_b = np.argmax(left, axis=1)
                ok = ~consistent | (one & ((forced_arm < 0) | (forced_arm == arm_b)))
                forced_arm = np.where(consistent & one & (forced_arm < 0), arm_b, forced_arm)
                all_forced &= ok
            forced_unknown += float(np.mean(all_forced & (forced_arm >= 0)))
            last = cur.sum(axis=1) == 1
            if last.any():
                g = _convergence_mask(st_counts[s_idx, stt], r)
                end_correct += float(_expected_correct(probs[last], g[last]).sum())
                end_count += int(last.sum())
        else:
            probs = np.broadcast_to(rho, (sims, k))
        guess["stratum (convergence)"][t] = _expected_correct(probs, _convergence_mask(st_counts[s_idx, stt], r)).mean()
        guess["overall (convergence)"][t] = _expected_correct(probs, _convergence_mask(overall, r)).mean()
        if site_f is not None:
            guess["site (convergence)"][t] = _expected_correct(probs, _convergence_mask(c[:, site_f, :], r)).mean()
        if tied is not None:
            guess["preferred arm (knows all)"][t] = _expected_correct(probs, tied).mean()
        arm = draw_arm(probs, rng.random(sims))
        counts[s_idx[:, None], f_idx[None, :], lv, arm[:, None]] += 1
        overall[s_idx, arm] += 1
        st_counts[s_idx, stt, arm] += 1
        if is_blocks:
            rem[s_idx, stt, arm] -= 1
            elapsed[s_idx, stt, arm] += 1
        d = (overall / r).max(axis=1) - (overall / r).min(axis=1)
        traj_mean[t] = d.mean()
        traj_p95[t] = np.quantile(d, 0.95)
        share_traj[t] = (overall / (t + 1)).mean(axis=0)
    x = overall / r
    by_level: dict[tuple[str, str], np.ndarray] = {}
    for i, f in enumerate(scheme.factors):
        for j, name in enumerate(scheme.levels[i]):
            y = counts[:, i, j, :] / r
            by_level[(f, name)] = y.max(axis=1) - y.min(axis=1)
    options: dict[str, Any] = {"ratio": ":".join(map(str, scheme.ratios))}
    blocks: dict[str, float] = {}
    if isinstance(method, Minimisation):
        options.update(p=method.p, imbalance=method.imbalance, initial_random=method.initial_random)
    if is_blocks:
        options["block_sizes"] = ",".join(map(str, block_sizes))
        blocks = {"certain, block size known": forced_known / n, "certain, sizes known (start known)": forced_unknown / n,
                  "correct guess at block end (stratum convergence)": end_correct / max(end_count, 1)}
    warnings = []
    if is_blocks and n_strata > n / 4:
        warnings.append(f"{n_strata} strata for {n} participants: many strata end part-way through a block, so "
                        "blocks balance within strata but margins and the whole trial can still be imbalanced")
    return PropertiesResult(method.method, options, n, sims, seed, scheme.arms, scheme.ratios, x.max(axis=1) - x.min(axis=1),
                            by_level, overall / n, traj_mean, traj_p95, share_traj, guess, blocks, tuple(warnings))
