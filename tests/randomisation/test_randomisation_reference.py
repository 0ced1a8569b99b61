"""Minimisation scores and allocation probabilities against an independent R implementation.

tests/reference/randomisation/minimisation.R recomputes, for each of 150 synthetic participants in
minimisation_case.csv, the weighted imbalance G of each candidate arm (range, variance, marginal
balance; ratios 2:1 and 1:1) and the Han et al. (2009) allocation probabilities. Tolerance 1e-12
absolute (both are exact arithmetic on small rationals; only floating-point rounding differs).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from securebase.randomisation import Minimisation

HERE = Path(__file__).resolve().parents[1] / "reference" / "randomisation"
TOL = 1e-12
SITES = ("LA01", "LA02", "LA03", "LA04")
BANDS = ("5-10", "11-17")
CARE = ("adopted", "special_guardianship", "foster", "kinship", "residential")


@pytest.mark.parametrize("how", ["range", "variance", "marginal"])
@pytest.mark.parametrize("ratios", [(2, 1), (1, 1)])
def test_scores_and_probabilities_match_r(how: str, ratios: tuple[int, int]) -> None:
    rows = list(csv.DictReader((HERE / "minimisation_case.csv").open()))
    ref = json.loads((HERE / "minimisation.json").read_text())[f"{how}_{ratios[0]}to{ratios[1]}"]
    m = Minimisation(("intervention", "usual_care"), ratios, ("site", "age_band", "care_status"), (SITES, BANDS, CARE),
                     (1.0, 0.5, 2.0), p=0.8, imbalance=how)  # type: ignore[arg-type]
    counts: dict[str, dict[str, list[int]]] = {}
    states = []
    for r in rows:
        values = {f: r[f] for f in m.factors}
        states.append(m.counts_at(counts, values))
        for f, lv in values.items():
            counts.setdefault(f, {}).setdefault(lv, [0, 0])[m.arms.index(r["arm"])] += 1
    g, _tied, probs = m.probabilities(np.stack(states))
    np.testing.assert_allclose(g, np.asarray(ref["G"]), atol=TOL, rtol=0)
    np.testing.assert_allclose(probs, np.asarray(ref["P"]), atol=TOL, rtol=0)
