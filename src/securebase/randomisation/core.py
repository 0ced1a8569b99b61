"""Shared pieces of the allocation methods: reproducible random streams, stratum keys and the
diagnostic record every allocation returns.

Randomness is always passed in. A trial stores one seed; the generator for allocation number ``n``
is ``default_rng(SeedSequence([seed, n]))`` and the generator for version ``v`` of a stratum's
permuted-block list is ``default_rng(SeedSequence([seed, stable_hash(stratum), v]))``, so replaying a
trial from its seed reproduces every draw (numpy ``SeedSequence`` mixes the entropy words; Python's
``hash`` is salted per process, hence the SHA-256 based stable hash).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Stream tags keep the allocation and list streams apart even for equal integers.
_ALLOCATION_STREAM = 1
_LIST_STREAM = 2


def stable_hash(text: str) -> int:
    """A 63-bit integer from SHA-256 of ``text``: the same in every process and on every machine."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big") >> 1


def allocation_rng(seed: int, sequence_number: int) -> np.random.Generator:
    """The generator used for the trial's allocation number ``sequence_number`` (1-based)."""
    if sequence_number < 1:
        raise ValueError(f"sequence_number must be 1 or more (got {sequence_number})")
    return np.random.default_rng(np.random.SeedSequence([int(seed), _ALLOCATION_STREAM, int(sequence_number)]))


def list_rng(seed: int, stratum: str, version: int) -> np.random.Generator:
    """The generator of version ``version`` of the permuted-block list of ``stratum``."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), _LIST_STREAM, stable_hash(stratum), int(version)]))


def stratum_key(values: Mapping[str, str], factor_names: Sequence[str]) -> str:
    """``site=LA01|age_band=5-10|care_status=foster``: the factor values in protocol order."""
    return "|".join(f"{name}={values[name]}" for name in factor_names)


def parse_stratum_key(key: str) -> dict[str, str]:
    if not key:
        return {}
    return dict(part.split("=", 1) for part in key.split("|"))


def target_proportions(ratios: Sequence[int]) -> np.ndarray:
    r = np.asarray(ratios, dtype=float)
    if r.ndim != 1 or len(r) < 2 or np.any(r <= 0):
        raise ValueError(f"allocation ratios must be two or more positive integers (got {list(ratios)})")
    return r / r.sum()


def draw_arm(probabilities: np.ndarray, u: np.ndarray | float) -> np.ndarray:
    """Inverse-CDF choice: the first arm whose cumulative probability exceeds the uniform draw ``u``.

    Works on one row (``probabilities`` shape (K,), scalar ``u``) or a batch ((B, K), (B,)).
    """
    probs = np.asarray(probabilities, dtype=float)
    cum = np.cumsum(probs, axis=-1)
    u_arr = np.asarray(u, dtype=float)
    idx = (u_arr[..., None] >= cum).sum(axis=-1)
    # guard against cumulative rounding (sum slightly below 1): fall back to the last arm with mass
    last = probs.shape[-1] - 1 - np.argmax(probs[..., ::-1] > 0, axis=-1)
    return np.minimum(idx, last)


@dataclass(frozen=True)
class Decision:
    """One allocation and why: the method's diagnostic record.

    ``imbalance`` is the total imbalance if the participant went to each arm (minimisation), or the
    stratum imbalance after each candidate arm (permuted blocks); ``probabilities`` the probability
    of each arm used for this allocation; ``draw`` the uniform random number that chose the arm
    (None for a permuted-block list, whose draws were made when the list was generated: see
    ``list_version`` and ``position``).
    """

    arm: str
    method: str
    phase: str
    probabilities: dict[str, float]
    draw: float | None
    imbalance: dict[str, float] = field(default_factory=dict)
    preferred: tuple[str, ...] = ()
    p_preferred: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "arm": self.arm, "method": self.method, "phase": self.phase,
            "probabilities": {k: round(float(v), 12) for k, v in self.probabilities.items()},
            "draw": None if self.draw is None else float(self.draw),
            "imbalance": {k: round(float(v), 12) for k, v in self.imbalance.items()},
            "preferred": list(self.preferred), "p_preferred": self.p_preferred,
        }
        out.update(self.extra)
        return out

    def summary(self) -> str:
        probs = ", ".join(f"{k} {v:.3f}" for k, v in self.probabilities.items())
        imb = ", ".join(f"{k} {v:.3f}" for k, v in self.imbalance.items())
        draw = "list" if self.draw is None else f"{self.draw:.4f}"
        return (f"{self.method} ({self.phase}): {self.arm}; probabilities {probs}; draw {draw}"
                + (f"; imbalance {imb}" if imb else ""))
