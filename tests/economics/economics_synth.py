"""Small seeded synthetic NG26-style trial (schema.py frames) for the economics tests. Synthetic only."""

from __future__ import annotations

import numpy as np
import pandas as pd

ITEMS = ("foster_care_week", "social_worker_hour", "camhs_contact", "gp_visit", "ae_attendance",
         "inpatient_day", "education_psychologist_hour")


def make_trial(n: int = 200, seed: int = 1, missing: float = 0.15, n_therapists: int = 8
               ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    treat = rng.permutation(np.arange(n) % 2)
    ids = [f"CARE-{i:04d}" for i in range(n)]
    age = rng.uniform(5, 17, n).round(1)
    u0 = np.clip(rng.normal(0.75, 0.1, n), 0.35, 1)
    u6 = np.clip(u0 + 0.02 * treat + rng.normal(0, 0.06, n), 0.35, 1)
    u12 = np.clip(u6 + 0.02 * treat + rng.normal(0, 0.06, n), 0.35, 1)
    therapist = np.where(treat == 1, [f"T{k}" for k in rng.integers(0, n_therapists, n)], None)
    lost = rng.random(n) < missing
    u12 = np.where(lost, np.nan, u12)
    sessions = np.where(treat == 1, rng.integers(4, 13, n), 0)
    p = pd.DataFrame({
        "participant_id": ids, "site": "S1", "arm": np.where(treat == 1, "intervention", "usual_care"),
        "treat": treat, "age_years": age, "sex": np.where(rng.random(n) < 0.5, "female", "male"),
        "therapist": therapist, "sessions_offered": np.where(treat == 1, 12, 0), "sessions_attended": sessions,
        "utility_0": u0, "utility_6": u6, "utility_12": u12, "days_0": 0.0,
        "days_6": (182 + rng.integers(-14, 15, n)).astype(float),
        "days_12": np.where(lost, np.nan, 365 + rng.integers(-20, 21, n)).astype(float),
        "placement_end_time": rng.uniform(30, 400, n), "placement_end_event": rng.choice([0, 1, 2], n, p=[.7, .2, .1]),
        "maltreatment_12": (rng.random(n) < 0.3 - 0.08 * treat).astype(float),
    })
    rows = []
    for i, pid in enumerate(ids):
        if lost[i]:
            continue
        for start, end in ((0, 182), (183, 365)):
            for item, lam in zip(ITEMS, (0.8, 4, 2, 1.5, 0.3, 0.1, 0.5), strict=False):
                q = rng.poisson(lam * (0.8 if treat[i] else 1.0))
                rows.append((pid, p.arm[i], int(treat[i]), start, end, item, float(q)))
    ru = pd.DataFrame(rows, columns=["participant_id", "arm", "treat", "period_start_days", "period_end_days",
                                     "item", "quantity"])
    log = []
    for i, pid in enumerate(ids):
        if treat[i]:
            for s in range(12):
                log.append((pid, therapist[i], int(s < sessions[i]), 90.0))
    dl = pd.DataFrame(log, columns=["participant_id", "therapist", "attended", "minutes"])
    return p, ru, dl
