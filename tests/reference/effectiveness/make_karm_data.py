"""Synthetic k-arm reference data (karm.csv): three arms of the care trial plus a fourth for a 3-contrast family.

Rerun: python tests/reference/effectiveness/make_karm_data.py (seeded; only synthetic values)."""

from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(20261202)
n = 150
arm = np.array(["usual_care", "carer_only", "intervention", "extra_arm"])[np.arange(n) % 4]
site = np.array(["LA01", "LA02", "LA03"])[rng.integers(0, 3, n)]
base = rng.normal(15, 5, n)
effect = {"usual_care": 0.0, "carer_only": -1.2, "intervention": -2.4, "extra_arm": -0.5}
y = 4 + 0.6 * base + np.vectorize(effect.get)(arm) + (site == "LA02") * 0.8 + rng.normal(0, 4, n)
pd.DataFrame({"participant_id": [f"K-{i + 1:04d}" for i in range(n)], "arm": arm, "site": site,
              "sdq_total_0": base.round(3), "sdq_total_12": y.round(3)}).to_csv(
    Path(__file__).with_name("karm.csv"), index=False)
