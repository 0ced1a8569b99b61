"""Write kernels_data.csv: 4 synthetic datasets (250 rows each) for the batched-kernel checks in kernels.R.

Rerun: .venv/bin/python tests/reference/design/make_kernels_data.py (seeded; times rounded to 0.1 so
that there are tied event times, which exercises Breslow's method).
"""

from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(5)
frames = []
for ds in range(1, 5):
    n = 250
    treat = rng.permutation(np.r_[np.ones(n // 2), np.zeros(n - n // 2)])
    age = rng.uniform(5, 18, n)
    base = rng.normal(18.5, 7, n)
    female = (rng.random(n) < 0.5).astype(float)
    y = 10 + 0.5 * base - 1.4 * treat + 0.1 * age + rng.normal(0, 6, n)
    yb = (rng.random(n) < 1 / (1 + np.exp(-(-1.2 - 0.3 * treat + 0.04 * (base - 18))))).astype(int)
    t_ev = rng.exponential(1 / (0.3 * np.exp(-0.25 * treat + 0.03 * (base - 18))))
    t_c = rng.uniform(0.2, 2.0, n)
    time = np.round(np.minimum(t_ev, t_c), 1) + 0.1
    status = (t_ev <= t_c).astype(int)
    frames.append(pd.DataFrame({"dataset": ds, "treat": treat.astype(int), "age": age.round(3), "base": base.round(3),
                                "female": female.astype(int), "y": y.round(4), "ybin": yb, "time": time.round(1),
                                "status": status}))
pd.concat(frames).to_csv(Path(__file__).with_name("kernels_data.csv"), index=False)
