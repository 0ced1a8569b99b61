"""Item-level SDQ responses consistent with simulated subscale scores, and the public scoring rule.

Scoring (sdqinfo.org; shared reference README section 1): 25 items coded 0/1/2; subscales (items)
emotional 3, 8, 13, 16, 24; conduct 5, 7, 12, 18, 22; hyperactivity 2, 10, 15, 21, 25; peer 6, 11, 14, 19, 23;
prosocial 1, 4, 9, 17, 20; items 7, 11, 14, 21, 25 reverse-scored (2 - x); a subscale is scored when at least
3 of its 5 items are present as ``floor(0.5 + mean x 5)`` (halves round up); total difficulties =
emotional + conduct + hyperactivity + peer, missing when any of the four is missing.
Only item numbers and scoring are used here, never the copyrighted wording.
"""

from __future__ import annotations

import numpy as np

SUBSCALE_ITEMS: dict[str, tuple[int, ...]] = {
    "sdq_emotional": (3, 8, 13, 16, 24),
    "sdq_conduct": (5, 7, 12, 18, 22),
    "sdq_hyperactivity": (2, 10, 15, 21, 25),
    "sdq_peer": (6, 11, 14, 19, 23),
    "sdq_prosocial": (1, 4, 9, 17, 20),
}
REVERSED: frozenset[int] = frozenset({7, 11, 14, 21, 25})
DIFFICULTIES: tuple[str, ...] = ("sdq_emotional", "sdq_conduct", "sdq_hyperactivity", "sdq_peer")


def items_from_subscales(scores: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Answers (N, 25) in 0/1/2 (column i-1 = item i) whose scored subscales equal ``scores`` (ints 0-10).

    Each subscale's score is spread over its five items uniformly at random: the item contributions are
    the counts of ``score`` randomly chosen slots among ten (two per item); reverse-scored items store
    ``2 - contribution``.
    """
    n = len(next(iter(scores.values())))
    out = np.zeros((n, 25), dtype=int)
    for name, items in SUBSCALE_ITEMS.items():
        s = np.asarray(scores[name], dtype=int)
        if np.any((s < 0) | (s > 10)):
            raise ValueError(f"{name} scores must be 0-10 to build items")
        ranks = np.argsort(np.argsort(rng.random((n, 10)), axis=1), axis=1)
        chosen = ranks < s[:, None]
        contrib = chosen[:, 0::2].astype(int) + chosen[:, 1::2].astype(int)
        for j, item in enumerate(items):
            out[:, item - 1] = 2 - contrib[:, j] if item in REVERSED else contrib[:, j]
    return out


def score_items(items: np.ndarray) -> dict[str, np.ndarray]:
    """Score answers (N, 25), NaN = missing: the five subscales and total difficulties (NaN when unscorable)."""
    items = np.asarray(items, dtype=float)
    out: dict[str, np.ndarray] = {}
    for name, idx in SUBSCALE_ITEMS.items():
        cols = items[:, [i - 1 for i in idx]].copy()
        for j, item in enumerate(idx):
            if item in REVERSED:
                cols[:, j] = 2 - cols[:, j]
        present = np.isfinite(cols).sum(axis=1)
        with np.errstate(invalid="ignore"):
            mean = np.nanmean(np.where(present[:, None] > 0, cols, 0.0), axis=1)
        out[name] = np.where(present >= 3, np.floor(0.5 + mean * 5 + 1e-9), np.nan)
    out["sdq_total"] = out["sdq_emotional"] + out["sdq_conduct"] + out["sdq_hyperactivity"] + out["sdq_peer"]
    return out
