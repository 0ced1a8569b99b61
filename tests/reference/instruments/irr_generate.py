"""Generate synthetic double-coded sensitivity ratings for the inter-rater reliability reference.

Rerun: .venv/bin/python tests/reference/instruments/irr_generate.py  (seeded; writes irr_ratings.csv,
irr_pairs.csv), then Rscript tests/reference/instruments/irr_reference.R (writes irr_reference.json).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent


def main(seed: int = 4242) -> None:
    rng = np.random.default_rng(seed)
    # 40 recordings rated by 3 coders on the 1-9 sensitivity scale; coder 3 rates a little higher.
    true = rng.normal(5, 1.6, size=40)
    bias = np.array([0.0, 0.3, 0.8])
    ratings = np.clip(np.round(true[:, None] + bias[None, :] + rng.normal(0, 0.9, size=(40, 3))), 1, 9)
    with (HERE / "irr_ratings.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["recording_id", "coder_a", "coder_b", "coder_c"])
        for i, row in enumerate(ratings.astype(int).tolist()):
            w.writerow([f"REC-{i:03d}"] + row)
    # 80 recordings double-coded (primary and second coder) on a 1-5 scale for weighted kappa.
    true2 = rng.integers(1, 6, size=80)
    second = np.clip(true2 + rng.choice([-1, 0, 0, 0, 1], size=80), 1, 5)
    primary = np.clip(true2 + rng.choice([-1, 0, 0, 1], size=80), 1, 5)
    with (HERE / "irr_pairs.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["recording_id", "primary", "second"])
        for i, (a, b) in enumerate(zip(primary.tolist(), second.tolist(), strict=True)):
            w.writerow([f"REC-{i:03d}", a, b])


if __name__ == "__main__":
    main()
