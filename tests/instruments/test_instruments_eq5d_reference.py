"""EQ-5D-3L and 5L UK utilities for every health state against an independent R computation.

Reference: tests/reference/instruments/eq5d_reference.R, coefficients typed from the published value
sets (Dolan 1997; Rowen et al. 2026). Tolerance 1e-12 (floating-point summation order only).
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from securebase.instruments import load_instrument, score

REF = Path(__file__).parents[1] / "reference" / "instruments" / "eq5d_reference.json"
DIMS = ["mobility", "self_care", "usual_activities", "pain_discomfort", "anxiety_depression"]
TOL = 1e-12


@pytest.mark.parametrize(("name", "levels", "n_states"), [("eq5d_3l", 3, 243), ("eq5d_5l", 5, 3125)])
def test_every_state_matches_r(name: str, levels: int, n_states: int) -> None:
    expected = json.loads(REF.read_text())[name]
    assert len(expected) == n_states
    inst = load_instrument(name)
    for state in itertools.product(range(1, levels + 1), repeat=5):
        key = "".join(map(str, state))
        got = score(inst, dict(zip(DIMS, state, strict=True)))["utility"]
        assert got.value is not None
        assert abs(got.value - expected[key]) <= TOL, key


def test_published_anchor_states() -> None:
    u3 = load_instrument("eq5d_3l")
    u5 = load_instrument("eq5d_5l")
    assert score(u3, dict.fromkeys(DIMS, 1))["utility"].value == pytest.approx(1.0, abs=TOL)
    assert score(u3, dict.fromkeys(DIMS, 3))["utility"].value == pytest.approx(-0.594, abs=TOL)
    # 11211: 1 - 0.081 - 0.036 (usual activities level 2)
    s = dict(zip(DIMS, (1, 1, 2, 1, 1), strict=True))
    assert score(u3, s)["utility"].value == pytest.approx(0.883, abs=TOL)
    assert score(u5, dict.fromkeys(DIMS, 5))["utility"].value == pytest.approx(-0.567, abs=TOL)
    assert score(u5, dict.fromkeys(DIMS, 1))["utility"].value == pytest.approx(1.0, abs=TOL)


def test_incomplete_state_is_missing_with_reason() -> None:
    res = score(load_instrument("eq5d_3l"), {"mobility": 1, "self_care": 2, "vas": 70})
    assert res["utility"].value is None
    assert "usual_activities not answered" in (res["utility"].reason or "")
    assert res["vas"].value == 70
