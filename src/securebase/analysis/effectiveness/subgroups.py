"""Subgroup effects and the treatment-by-subgroup interaction test.

The model gains ``treat:<level>`` terms for every non-reference level of the subgroup factor; the
effect in level L is ``b_treat + b_treat:L`` with variance ``v_tt + v_LL + 2 v_tL``. The interaction
is tested jointly by a Wald test, ``W = b_I' V_I^-1 b_I``: an F test (``W/k`` on ``k`` and the
residual df) for linear models, a chi-squared test on ``k`` df otherwise. Subgroup effects are
reported with the interaction test, never alone (CONSORT 2010, item 18).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from securebase.analysis.effectiveness._design import TREAT, Design, factor_levels, is_factor
from securebase.analysis.effectiveness._result import Estimate
from securebase.errors import DataError


def interaction_estimates(d: Design, beta: np.ndarray, cov: np.ndarray, factor: str, data: pd.DataFrame, *,
                          df: float | None, level: float, f_test: bool,
                          transform: str = "identity") -> tuple[list[Estimate], dict[str, Any]]:
    col = data.loc[d.rows, factor]
    if not is_factor(col):
        raise DataError(f"subgroup '{factor}' must be a categorical column (got numeric values); "
                        "define the subgroup as bands, e.g. age_band")
    levels = factor_levels(col)
    jt = d.names.index(TREAT)
    inter = [d.names.index(f"{TREAT}:{factor}{lev}") for lev in levels[1:]]
    ests = []
    for lev, ji in zip(levels, [None, *inter], strict=True):
        g = np.zeros(len(beta))
        g[jt] = 1.0
        if ji is not None:
            g[ji] = 1.0
        ests.append(Estimate(f"{factor} = {lev}", float(g @ beta), float(np.sqrt(g @ cov @ g)),
                             df=df, transform=transform, level=level))
    b = beta[inter]
    v = cov[np.ix_(inter, inter)]
    w = float(b @ np.linalg.solve(v, b))
    k = len(inter)
    if f_test and df is not None:
        test = {"factor": factor, "test": "F", "statistic": w / k, "df1": k, "df2": df,
                "p_value": float(stats.f.sf(w / k, k, df))}
    else:
        test = {"factor": factor, "test": "Wald chi-squared", "statistic": w, "df1": k, "df2": None,
                "p_value": float(stats.chi2.sf(w, k))}
    return ests, test
