"""Bang's blinding index (Bang, Ni and Davis 2004, Controlled Clinical Trials 25:143-156).

For arm *i* of a two-arm trial, assessors guess each participant's allocation as the arm itself (correct),
the other arm (incorrect) or "don't know". With n_i guesses, c correct and w incorrect, Bang's index in the
2x3 form is

    BI_i = (2 * c / (c + w) - 1) * (c + w) / n_i  =  (c - w) / n_i

ranging from -1 (every guess wrong: opposite guessing) through 0 (consistent with random guessing, or all
"don't know") to 1 (every guess right: complete unblinding). Its variance is that of a difference of two
multinomial proportions, p_c = c / n_i and p_w = w / n_i (Bang et al. 2004, section 3.2):

    Var(BI_i) = [p_c (1 - p_c) + p_w (1 - p_w) + 2 p_c p_w] / n_i

and the 95% interval is BI_i +/- 1.96 SE. "Don't know" answers count in n_i: they pull the index to 0.
Bang suggests suspecting unblinding when the interval lies wholly above 0 (assessors guess the arm better than
chance) and opposite guessing when it lies wholly below.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from securebase.errors import DataError

Z95 = 1.959963984540054


@dataclass(frozen=True)
class BlindingIndex:
    arm: str
    n: int
    correct: int
    incorrect: int
    dont_know: int
    index: float
    se: float
    ci_lower: float
    ci_upper: float

    @property
    def verdict(self) -> str:
        if self.n == 0:
            return "no guesses"
        if self.ci_lower > 0:
            return "guesses better than chance: blinding may be compromised"
        if self.ci_upper < 0:
            return "opposite guessing (wrong more often than chance)"
        return "consistent with blinding"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "verdict": self.verdict}


def bang_index(arm: str, correct: int, incorrect: int, dont_know: int) -> BlindingIndex:
    """Bang's index and its 95% interval for one arm from counts of correct, incorrect and don't-know guesses."""
    for name, v in (("correct", correct), ("incorrect", incorrect), ("dont_know", dont_know)):
        if int(v) != v or v < 0:
            raise DataError(f"{name} must be a count, a whole number >= 0 (got {v!r}) for arm '{arm}'")
    n = correct + incorrect + dont_know
    if n == 0:
        return BlindingIndex(arm, 0, 0, 0, 0, math.nan, math.nan, math.nan, math.nan)
    pc, pw = correct / n, incorrect / n
    bi = pc - pw
    se = math.sqrt(max(pc * (1 - pc) + pw * (1 - pw) + 2 * pc * pw, 0.0) / n)
    return BlindingIndex(arm, n, correct, incorrect, dont_know, bi, se, bi - Z95 * se, bi + Z95 * se)


def blinding_indices(guesses: list[tuple[str, str]], arms: list[str]) -> list[BlindingIndex]:
    """Bang's index per arm from (true arm, guess) pairs; a guess is an arm id or ``dont_know``."""
    if len(arms) != 2:
        raise DataError(f"Bang's index here is for two arms (got {len(arms)}: {arms}); compare each pair of arms")
    out = []
    for arm in arms:
        mine = [g for a, g in guesses if a == arm]
        correct = sum(1 for g in mine if g == arm)
        dk = sum(1 for g in mine if g == "dont_know")
        out.append(bang_index(arm, correct, len(mine) - correct - dk, dk))
    return out


__all__ = ["BlindingIndex", "bang_index", "blinding_indices"]
