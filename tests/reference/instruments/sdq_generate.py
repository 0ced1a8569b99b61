"""Generate synthetic SDQ response patterns (with missing items and missing-value codes).

Rerun: .venv/bin/python tests/reference/instruments/sdq_generate.py  (seeded; writes sdq_patterns.csv)
Then:  Rscript tests/reference/instruments/sdq_reference.R           (writes sdq_reference.json)
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
IMPACT = ["distress", "impact_home", "impact_friends", "impact_classroom", "impact_leisure", "impact_peers"]
TEACHER_IMPACT = ["distress", "impact_peers", "impact_classroom"]
PARENT_IMPACT = ["distress", "impact_home", "impact_friends", "impact_classroom", "impact_leisure"]
MISSING_CODES = [-99, -98, -97]


def main(n_per_form: int = 200, seed: int = 20261126) -> None:
    rng = np.random.default_rng(seed)
    rows = []
    for form in ("sdq_parent", "sdq_teacher", "sdq_self"):
        impact_items = TEACHER_IMPACT if form == "sdq_teacher" else PARENT_IMPACT
        for k in range(n_per_form):
            p_miss = rng.choice([0.0, 0.1, 0.25, 0.4, 0.6])
            level = rng.uniform(0.2, 1.8)  # person-level tendency so scores spread over all bands
            row: dict[str, object] = {"form": form, "id": f"{form}-{k:03d}"}
            for i in range(1, 26):
                if rng.random() < p_miss:
                    row[f"item_{i}"] = "" if rng.random() < 0.6 else int(rng.choice(MISSING_CODES))
                else:
                    row[f"item_{i}"] = int(np.clip(np.round(rng.normal(level, 0.8)), 0, 2))
            u = rng.random()
            overall = "" if u < 0.08 else (0 if u < 0.35 else int(rng.integers(1, 4)))
            row["overall"] = overall
            for c in IMPACT:
                if c not in impact_items:
                    row[c] = ""
                elif overall == 0 and rng.random() < 0.7:
                    row[c] = ""  # skipped after answering "no"
                elif rng.random() < p_miss / 2:
                    row[c] = "" if rng.random() < 0.5 else int(rng.choice(MISSING_CODES))
                else:
                    row[c] = int(rng.integers(0, 4))
            rows.append(row)
    cols = ["form", "id"] + [f"item_{i}" for i in range(1, 26)] + ["overall"] + IMPACT
    with (HERE / "sdq_patterns.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)


if __name__ == "__main__":
    main()
