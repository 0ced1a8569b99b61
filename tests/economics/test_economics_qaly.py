"""QALYs by area under the curve on actual assessment days, with discounting beyond the first year."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from securebase.analysis.economics.qaly import DAYS_PER_YEAR, auc_qaly, qalys_from_participants
from securebase.errors import DataError


def test_quarterly_auc_equals_ben_formula():
    u = np.array([[0.5, 0.6, 0.7, 0.8, 0.9]])
    days = np.arange(5) * DAYS_PER_YEAR / 4
    ben = 0.5 * sum((u[0, j] + u[0, j + 1]) / 4 for j in range(4))
    assert auc_qaly(u, days, rate=0.035)[0] == pytest.approx(ben)  # within the first year: no discount


def test_discounting_beyond_first_year_exact():
    # constant utility 1 over two years: 1 + 1/1.035; linear 0 -> 1 over two years split at the boundary
    assert auc_qaly([[1.0, 1.0]], [0, 2 * DAYS_PER_YEAR], 0.035)[0] == pytest.approx(1 + 1 / 1.035)
    assert auc_qaly([[0.0, 1.0]], [0, 2 * DAYS_PER_YEAR], 0.035)[0] == pytest.approx(0.25 + 0.75 / 1.035)


def test_actual_days_and_missing():
    p = pd.DataFrame({"participant_id": ["A", "B"], "utility_0": [0.6, 0.6], "utility_6": [0.8, np.nan],
                      "utility_12": [0.8, 0.7], "days_0": [0, 0], "days_6": [200.0, np.nan], "days_12": [365.0, 360.0]})
    q = qalys_from_participants(p, "utility", [0, 6, 12], 0.035)
    assert q.iloc[0] == pytest.approx((0.7 * 200 + 0.8 * 165) / DAYS_PER_YEAR)
    assert np.isnan(q.iloc[1])


def test_utility_above_one_is_named():
    p = pd.DataFrame({"participant_id": ["A", "B"], "utility_0": [0.6, 1.01], "utility_12": [0.8, 0.7]})
    with pytest.raises(DataError, match=r"'utility_0' must be between -0.594 and 1 \(got 1.01\) for participant B"):
        qalys_from_participants(p, "utility", [0, 12], 0.035)


@settings(max_examples=50, deadline=None)
@given(u=st.floats(-0.5, 1.0), t=st.floats(1.0, DAYS_PER_YEAR))
def test_constant_utility_within_a_year(u, t):
    assert auc_qaly([[u, u]], [0, t], 0.035)[0] == pytest.approx(u * t / DAYS_PER_YEAR, abs=1e-12)
