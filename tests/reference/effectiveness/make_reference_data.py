"""Generate the synthetic reference datasets for the effectiveness checks against R.

Rerun: .venv/bin/python tests/reference/effectiveness/make_reference_data.py
Writes trial.csv (one row per participant, wide), pvalues.csv and visits.csv (one row per participant and
follow-up visit) beside this script. Seeded; values are synthetic.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent


def make(seed: int = 20261126, n: int = 300) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    site = rng.choice(["S1", "S2", "S3", "S4"], n)
    age = rng.uniform(5, 18, n)
    age_band = np.where(age.astype(int) <= 10, "5-10", "11-17")
    care = rng.choice(["adopted", "foster", "kinship"], n, p=[0.4, 0.4, 0.2])
    treat = rng.permutation(np.r_[np.ones(n // 2), np.zeros(n - n // 2)]).astype(int)
    site_eff = {"S1": 0.0, "S2": 1.0, "S3": -1.0, "S4": 0.5}
    s_eff = np.array([site_eff[s] for s in site])
    base = np.clip(rng.normal(18, 6.5, n), 0, 40).round()
    # therapists nested in sites within the intervention arm (partially nested design)
    therapist = np.array([f"T{s[1]}{rng.integers(1, 4)}" if t else "" for s, t in zip(site, treat, strict=True)],
                         dtype=object)
    th_levels = sorted(set(therapist[treat == 1]))
    th_eff = dict(zip(th_levels, rng.normal(0, 1.5, len(th_levels)), strict=True))
    u = np.array([th_eff.get(t, 0.0) for t in therapist])
    sessions_offered = np.where(treat == 1, 12, 0)
    attended = np.where(treat == 1, rng.binomial(12, rng.beta(4, 2, n)), 0)
    complier = ((attended >= 8) & (treat == 1)).astype(int)
    # correlated 6- and 12-month SDQ; residual SD larger in the intervention arm (heteroscedastic)
    e = rng.multivariate_normal([0, 0], [[25, 15], [15, 30]], n) * np.where(treat == 1, 1.15, 1.0)[:, None]
    sdq6 = 4 + 0.6 * base - 1.0 * treat + s_eff + 0.8 * (age_band == "11-17") + u + e[:, 0]
    sdq12 = 3 + 0.55 * base - 2.0 * complier + s_eff + 0.8 * (age_band == "11-17") + u + e[:, 1]
    sdq6 = np.where(rng.random(n) < 0.12, np.nan, sdq6)
    p_miss12 = 1 / (1 + np.exp(-(-2.2 + 0.05 * (base - 18))))
    sdq12 = np.where(rng.random(n) < p_miss12, np.nan, sdq12)
    lp = -1.0 + 0.05 * (base - 18) - 0.5 * treat + 0.3 * (care == "foster")
    malt = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(float)
    mu = np.exp(0.3 + 0.03 * (base - 18) - 0.4 * treat + 0.2 * (site == "S2"))
    excl = rng.negative_binomial(1.3, 1.3 / (1.3 + mu)).astype(float)
    # placement endings: cause 1 (unplanned) and cause 2 (competing: adoption/return home), in whole
    # days so there are ties, administratively censored at 365 days
    h1 = 0.0012 * np.exp(-0.4 * treat + 0.02 * (base - 18) + 0.3 * (care == "foster"))
    t1 = rng.exponential(1 / h1)
    t2 = rng.exponential(1 / 0.0006, n)
    tc = rng.uniform(200, 500, n)
    tt = np.ceil(np.minimum.reduce([t1, t2, tc, np.full(n, 365.0)]) / 7) * 7  # weekly follow-up: ties
    ev = np.select([t1 <= np.minimum.reduce([t2, tc, np.full(n, 365.0)]), t2 <= np.minimum(tc, 365.0)], [1, 2], 0)
    wide = pd.DataFrame({
        "participant_id": [f"CARE-{i:04d}" for i in range(1, n + 1)], "site": site,
        "arm": np.where(treat == 1, "intervention", "usual_care"), "treat": treat,
        "age_years": age.round(2), "age_band": age_band, "care_status": care,
        "therapist": therapist, "sessions_offered": sessions_offered, "sessions_attended": attended,
        "complier": complier, "sdq_total_0": base, "sdq_total_6": sdq6.round(3), "sdq_total_12": sdq12.round(3),
        "maltreatment_12": malt, "exclusions_12": excl, "placement_end_time": tt, "placement_end_event": ev,
    })
    long = wide.melt(id_vars=["participant_id", "site", "arm", "treat", "age_band", "care_status", "sdq_total_0"],
                     value_vars=["sdq_total_6", "sdq_total_12"], var_name="visit", value_name="sdq_total")
    long["visit_month"] = long.visit.str.extract(r"(\d+)$")[0].astype(int)
    long = long.drop(columns="visit").sort_values(["participant_id", "visit_month"]).reset_index(drop=True)
    return wide, long


if __name__ == "__main__":
    wide, long = make()
    wide.to_csv(HERE / "trial.csv", index=False)
    long.to_csv(HERE / "visits.csv", index=False)
    p = np.random.default_rng(7).uniform(0, 0.2, 12).round(4)
    p[3] = p[5]  # a tie
    pd.DataFrame({"p": np.r_[p, 0.0001, 0.049, 0.051]}).to_csv(HERE / "pvalues.csv", index=False)
    print(f"wrote {len(wide)} participants, {len(long)} visit rows, pvalues.csv")
