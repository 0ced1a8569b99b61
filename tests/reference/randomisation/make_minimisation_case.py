"""Generate the synthetic allocation sequence used by minimisation.R (seeded; rerun to regenerate).

    .venv/bin/python tests/reference/randomisation/make_minimisation_case.py

Writes minimisation_case.csv: 150 synthetic participants (site, age band, care status) and the arm
each was given by securebase's minimisation (2:1, p = 0.8, range), which provides realistic states
at which R recomputes the imbalance scores and allocation probabilities independently.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from securebase.randomisation import Minimisation, allocation_rng

SITES = ("LA01", "LA02", "LA03", "LA04")
BANDS = ("5-10", "11-17")
CARE = ("adopted", "special_guardianship", "foster", "kinship", "residential")


def main() -> None:
    rng = np.random.default_rng(20261126)
    m = Minimisation(("intervention", "usual_care"), (2, 1), ("site", "age_band", "care_status"), (SITES, BANDS, CARE),
                     (1.0, 0.5, 2.0), p=0.8, imbalance="range")
    counts: dict[str, dict[str, list[int]]] = {}
    rows = []
    for seq in range(1, 151):
        values = {"site": SITES[rng.integers(4)], "age_band": BANDS[rng.integers(2)], "care_status": CARE[rng.integers(5)]}
        d = m.allocate(m.counts_at(counts, values), seq, allocation_rng(99, seq))
        for f, lv in values.items():
            counts.setdefault(f, {}).setdefault(lv, [0, 0])[m.arms.index(d.arm)] += 1
        rows.append({"seq": seq, **values, "arm": d.arm})
    with (Path(__file__).parent / "minimisation_case.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["seq", "site", "age_band", "care_status", "arm"])
        w.writeheader()
        w.writerows(rows)


if __name__ == "__main__":
    main()
