"""Write closed_form_cases.csv: the design scenarios that closed_form.R evaluates in R.

Rerun: .venv/bin/python tests/reference/design/make_cases.py (deterministic: a seeded draw of scenarios
around the NG26 planning values plus the published examples of shared reference section 4).
"""

from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(20261126)
rows = []
# published examples (shared reference README section 4)
rows += [dict(kind="ttest_n", d=0.5, power=0.8, alpha=0.05), dict(kind="ttest_power", n=30, d=0.5, alpha=0.05),
         dict(kind="powert_power", n=100, delta=1, sd=2.5, alpha=0.05),
         dict(kind="p2_n", h=0.2, power=0.8, alpha=0.05), dict(kind="p2_n_esh", p1=0.55, p2=0.50, power=0.8, alpha=0.05),
         dict(kind="p2n_power", h=0.2, n1=543, n2=675, alpha=0.05)]
for _ in range(6):
    d = round(float(rng.uniform(0.15, 0.6)), 3)
    pw = round(float(rng.uniform(0.75, 0.95)), 3)
    rows.append(dict(kind="ttest_n", d=d, power=pw, alpha=0.05))
    rows.append(dict(kind="powert_n", delta=d * 7, sd=7.0, power=pw, alpha=0.05))
    rows.append(dict(kind="ttest_power", n=int(rng.integers(40, 400)), d=d, alpha=0.05))
    rows.append(dict(kind="t2n_power", n1=int(rng.integers(40, 300)), n2=int(rng.integers(40, 300)), d=d, alpha=0.05))
    rows.append(dict(kind="ancova_n", delta=d * 7, sd=7.0, rho=round(float(rng.uniform(0.3, 0.7)), 3), power=pw,
                     alpha=0.05))
    rows.append(dict(kind="ancova_power", n=int(rng.integers(50, 300)), delta=d * 7, sd=7.0,
                     rho=round(float(rng.uniform(0.3, 0.7)), 3), alpha=0.05))
    p2 = round(float(rng.uniform(0.1, 0.4)), 3)
    p1 = round(p2 * float(rng.uniform(0.5, 0.8)), 3)
    rows.append(dict(kind="prop_n", p1=p1, p2=p2, power=pw, alpha=0.05))
    rows.append(dict(kind="prop_power", n=int(rng.integers(80, 600)), p1=p1, p2=p2, alpha=0.05))
    rows.append(dict(kind="p2_n_esh", p1=p1, p2=p2, power=pw, alpha=0.05))
    rows.append(dict(kind="p2n_power", h=round(float(rng.uniform(0.1, 0.4)), 3), n1=int(rng.integers(50, 500)),
                     n2=int(rng.integers(50, 500)), alpha=0.05))
    hr = round(float(rng.uniform(0.5, 0.85)), 3)
    ratio = float(rng.choice([1.0, 1.5, 2.0]))
    rows.append(dict(kind="schoenfeld_events", hr=hr, power=pw, alpha=0.05, ratio=ratio))
    rows.append(dict(kind="freedman_events", hr=hr, power=pw, alpha=0.05, ratio=ratio))
    rows.append(dict(kind="event_prob", hazard=round(float(rng.uniform(0.05, 0.4)), 3),
                     competing=round(float(rng.uniform(0, 0.2)), 3), accrual=round(float(rng.uniform(0, 2)), 2),
                     follow_up=round(float(rng.uniform(0.5, 2)), 2)))
    rows.append(dict(kind="count_n", rate=round(float(rng.uniform(0.1, 3)), 3), rr=round(float(rng.uniform(0.6, 0.9)), 3),
                     exposure=round(float(rng.uniform(0.5, 2)), 2), k=round(float(rng.choice([0, 0.5, 2])), 2),
                     power=pw, alpha=0.05, ratio=ratio))
    rows.append(dict(kind="design_effect", m=int(rng.integers(4, 15)), icc=round(float(rng.uniform(0.01, 0.05)), 3),
                     cv=round(float(rng.uniform(0, 0.8)), 2)))
    rows.append(dict(kind="holm2_all", d=d, d2=round(float(rng.uniform(0.15, 0.6)), 3), n=int(rng.integers(60, 300)),
                     alpha=0.05))
rows.append(dict(kind="lifelines_freedman", power=0.8, ratio=1, pe=0.25, pc=0.35, hr=0.7, alpha=0.05))
df = pd.DataFrame(rows)
df.insert(0, "case", range(1, len(df) + 1))
df.to_csv(Path(__file__).with_name("closed_form_cases.csv"), index=False)
print(len(df), "cases")
