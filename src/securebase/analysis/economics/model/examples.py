"""Published worked examples the cohort model reproduces.

``chancellor_hiv``: the HIV/AIDS model of Chancellor et al. (1997, PharmacoEconomics 12:54-66, zidovudine
monotherapy vs zidovudine + lamivudine), as replicated in Briggs, Claxton & Sculpher (2006), *Decision
Modelling for Health Economic Evaluation*, Example 2.5 / Exercise 2.5 and its solution spreadsheet:

* states A (CD4 200-500), B (CD4 < 200), C (AIDS), D (death); 20 annual cycles; cohort starts in A;
* monotherapy transitions from the counts of the Chelsea and Westminster cohort: from A 1251, 350, 116, 17
  (of 1734); from B 731, 512, 15 (of 1258); from C 1312, 437 (of 1749);
* combination therapy: relative risk 0.509 on every transition out of a state, for the first 2 years only,
  then monotherapy transitions;
* annual costs: direct medical + community care, A 1701 + 1055 = 2756, B 1774 + 1278 = 3052,
  C 6948 + 2059 = 9007; zidovudine 2278; lamivudine 2086.50 (first 2 years only);
* costs discounted at 6% a year, life years undiscounted; each cycle counts the cohort after that cycle's
  transition, discounted from the first cycle (``method = "end"``).

Published results (the solution spreadsheet; reproduced exactly by R heemod's test ``test_dmhee.R``):
monotherapy cost 44,663.45 and 7.9912 life years; combination 50,601.65 and 8.9374; ICER 6,275.96 per life
year gained.
"""

from __future__ import annotations

import numpy as np

from securebase.analysis.economics.model.cohort import CohortResult, run_cohort

HIV_STATES = ("A", "B", "C", "D")
HIV_PUBLISHED = {"cost_mono": 44663.4535637, "cost_comb": 50601.6513312, "ly_mono": 7.9912066,
                 "ly_comb": 8.9373889, "icer": 6275.95560}


def hiv_matrices(rr: float = 0.509) -> tuple[np.ndarray, np.ndarray]:
    mono = np.array([[1251, 350, 116, 17], [0, 731, 512, 15], [0, 0, 1312, 437], [0, 0, 0, 1]], dtype=float)
    mono /= mono.sum(axis=1, keepdims=True)
    comb = mono * rr
    np.fill_diagonal(comb, 0.0)
    comb[np.diag_indices(4)] = 1 - comb.sum(axis=1)
    comb[3, 3] = 1.0
    return mono, comb


def chancellor_hiv(rr: float = 0.509, years_combined: int = 2, cycles: int = 20,
                   cost_rate: float = 0.06) -> dict[str, CohortResult]:
    """Both arms of the HIV model; ``res["mono"].totals["cost"]`` etc."""
    mono, comb = hiv_matrices(rr)
    health = np.array([2756.0, 3052.0, 9007.0, 0.0])
    azt = np.array([2278.0, 2278.0, 2278.0, 0.0])
    lam = np.array([2086.5, 2086.5, 2086.5, 0.0])
    ly = np.array([1.0, 1.0, 1.0, 0.0])
    t = np.arange(cycles)[:, None, None]
    P_comb = np.where(t < years_combined, comb, mono)  # (T, S, S)
    cost_comb = health + azt + np.where(np.arange(cycles)[:, None] < years_combined, lam, 0.0)  # (T, S)
    kw = dict(states=HIV_STATES, cycles=cycles, discount={"cost": cost_rate}, method="end")
    return {"mono": run_cohort(mono, [1, 0, 0, 0], {"cost": health + azt, "ly": ly}, **kw),
            "comb": run_cohort(P_comb, [1, 0, 0, 0], {"cost": cost_comb, "ly": ly}, **kw)}
