"""Inter-rater reliability against R psych (ICC, cohen.kappa) on a committed synthetic reference set.

Reference: tests/reference/instruments/irr_reference.R on irr_ratings.csv / irr_pairs.csv.
Tolerances: 1e-10 against psych::ICC(lmer = FALSE) (same ANOVA, floating point only); 1e-6 against
the default psych::ICC (lmer = TRUE, REML variance components); 1e-12 for weighted kappa and, with
variance="psych", its variance and bounds.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from securebase.errors import DataError
from securebase.instruments import icc, weighted_kappa
from securebase.instruments.reliability import double_coding_sample

REF = Path(__file__).parents[1] / "reference" / "instruments"


@pytest.fixture(scope="module")
def ref() -> dict:
    return json.loads((REF / "irr_reference.json").read_text())


@pytest.fixture(scope="module")
def ratings() -> np.ndarray:
    with (REF / "irr_ratings.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    return np.array([[float(r[c]) for c in ("coder_a", "coder_b", "coder_c")] for r in rows])


@pytest.mark.parametrize(("key", "cols", "tol", "ftol"), [("icc_3raters_aov", 3, 1e-10, 1e-10),
                                                          ("icc_3raters", 3, 1e-6, 1e-5),
                                                          ("icc_2raters", 2, 1e-6, 1e-5)])
def test_icc_all_six_forms_match_psych(ref: dict, ratings: np.ndarray, key: str, cols: int, tol: float,
                                       ftol: float) -> None:
    # F and p: relative 1e-5 / 1e-4 against the REML (lmer) variant, whose F comes from REML components.
    res = icc(ratings[:, :cols])
    for form, exp in ref[key].items():
        assert res.values[form] == pytest.approx(exp["value"], abs=tol), form
        assert res.lower[form] == pytest.approx(exp["lower"], abs=tol), form
        assert res.upper[form] == pytest.approx(exp["upper"], abs=tol), form
        assert res.f[form] == pytest.approx(exp["F"], rel=ftol), form
        assert res.df1[form] == exp["df1"] and res.df2[form] == exp["df2"]
        assert res.p[form] == pytest.approx(exp["p"], rel=max(ftol * 10, 1e-8), abs=1e-300), form


def test_weighted_kappa_matches_psych(ref: dict, ratings: np.ndarray) -> None:
    with (REF / "irr_pairs.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    a = [float(r["primary"]) for r in rows]
    b = [float(r["second"]) for r in rows]
    exp = ref["kappa_pairs"]
    res = weighted_kappa(a, b, variance="psych")
    assert res.kappa == pytest.approx(exp["weighted_kappa"], abs=1e-12)
    assert res.se**2 == pytest.approx(exp["var_weighted"], abs=1e-12)
    assert res.lower == pytest.approx(exp["lower"], abs=1e-12)
    assert res.upper == pytest.approx(exp["upper"], abs=1e-12)
    # the default Fleiss-Cohen-Everitt variance gives the same kappa and a close interval
    fce = weighted_kappa(a, b)
    assert fce.kappa == res.kappa and abs(fce.se - res.se) < 0.05
    exp9 = ref["kappa_ab"]
    res9 = weighted_kappa(ratings[:, 0], ratings[:, 1], variance="psych")
    assert res9.kappa == pytest.approx(exp9["weighted_kappa"], abs=1e-12)
    assert res9.se**2 == pytest.approx(exp9["var_weighted"], abs=1e-12)


def test_perfect_agreement_and_bad_input() -> None:
    assert weighted_kappa([1, 2, 3, 4], [1, 2, 3, 4]).kappa == pytest.approx(1.0)
    with pytest.raises(DataError):
        weighted_kappa([1, 2], [1, 2, 3])
    with pytest.raises(DataError):
        icc([[1, 2], [np.nan, 3]])
    with pytest.raises(DataError):
        weighted_kappa([1, 9], [1, 2], categories=[1, 2, 3])


def test_double_coding_sample_is_seeded() -> None:
    ids = [f"REC-{i}" for i in range(50)]
    a = double_coding_sample(ids, 0.2, rng=np.random.default_rng(1))
    b = double_coding_sample(ids, 0.2, rng=np.random.default_rng(1))
    assert a == b and len(a) == 10 and len(set(a)) == 10


def test_paired_ratings_from_coding_records() -> None:
    from securebase.instruments import load_instrument, validate_responses
    from securebase.instruments.reliability import paired_ratings

    inst = load_instrument("sensitivity_coding")
    raw = [
        {"recording_id": "R1", "coder_id": "C1", "coding_role": "primary", "sensitivity": 5},
        {"recording_id": "R1", "coder_id": "C2", "coding_role": "second", "sensitivity": 6},
        {"recording_id": "R2", "coder_id": "C1", "coding_role": "primary", "sensitivity": 3},
        {"recording_id": "R3", "coder_id": "C1", "coding_role": "primary", "sensitivity": 7},
        {"recording_id": "R3", "coder_id": "C3", "coding_role": "second", "sensitivity": -97},
    ]
    records = [validate_responses(inst, r) for r in raw]
    ids, a, b = paired_ratings(records)
    assert ids == ["R1"] and a == [5.0] and b == [6.0]
    with pytest.raises(DataError):
        paired_ratings(records + [records[0]])
