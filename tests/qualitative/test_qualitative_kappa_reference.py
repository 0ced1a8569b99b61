"""Agreement between coders checked against R psych::cohen.kappa (tests/reference/qualitative/kappa.R).

Tolerance: 1e-9 absolute on kappa, percentage agreement, var.kappa and the CI bounds (both sides compute
the same closed-form expressions in double precision; the JSON keeps 15 significant digits).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from securebase.qualitative.agreement import CoderAgreement, Segment, cohen_kappa, paragraph_units

REF = Path(__file__).parents[1] / "reference" / "qualitative"
TOL = 1e-9


def _texts() -> dict[str, str]:
    out = {}
    for row in csv.DictReader((REF / "kappa_texts.csv").open()):
        chars = ["\n"] * int(row["length"])
        for span in row["units"].split(";"):
            a, b = (int(x) for x in span.split(":"))
            chars[a:b] = ["x"] * (b - a)
        out[row["transcript"]] = "".join(chars)
        assert [f"{a}:{b}" for a, b in paragraph_units(out[row["transcript"]])] == row["units"].split(";")
    return out


def _segments() -> list[Segment]:
    return [Segment(r["transcript"], r["code"], r["coder"], int(r["start"]), int(r["end"]))
            for r in csv.DictReader((REF / "kappa_segments.csv").open())]


@pytest.mark.parametrize("unit", ["character", "segment"])
def test_kappa_and_agreement_match_psych(unit: str) -> None:
    expected = [r for r in json.loads((REF / "kappa.json").read_text())["results"] if r["unit"] == unit]
    res = CoderAgreement(unit=unit).fit(_texts(), _segments())
    assert len(res.rows) == len(expected) == 9
    for e in expected:
        r = res.row(e["code"], e["coder_a"], e["coder_b"])
        assert r.n_units == e["n_units"]
        assert r.kappa == pytest.approx(e["kappa"], abs=TOL)
        assert r.percent == pytest.approx(e["percent_agreement"], abs=TOL)
        assert r.var_kappa == pytest.approx(e["var_kappa"], abs=TOL)
        assert r.ci_lower == pytest.approx(e["ci_lower"], abs=TOL)
        assert r.ci_upper == pytest.approx(e["ci_upper"], abs=TOL)


def test_kappa_edge_cases() -> None:
    same = np.array([1, 1, 0, 0, 1])
    po, k, var, lo, hi = cohen_kappa(same, same)
    assert po == 1 and k == 1 and var == 0 and (lo, hi) == (1, 1)
    po, k, *_ = cohen_kappa(np.zeros(10), np.zeros(10))
    assert po == 1 and math.isnan(k)  # one category only: undefined, as psych returns NA
    res = CoderAgreement().fit({"T": "abcdefghij"}, [Segment("T", "c", "a", 0, 5), Segment("T", "d", "b", 0, 5)],
                               codes=["c", "e"])
    assert res.row("c").kappa == 0 and res.row("c").percent == 50
    assert math.isnan(res.row("e").kappa) and any("code 'e'" in w and "kappa undefined" in w for w in res.warnings)
