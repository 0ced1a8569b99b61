"""k-arm contrasts against R (multcomp::glht Dunnett, p.adjust Holm), and the graphical procedure of Bretz et
al. (2009) against its special cases and a hand-worked example.

Reference values: tests/reference/effectiveness/dunnett.R wrote dunnett.json from karm.csv (rerun
instructions in the script). Tolerance 1e-4 absolute in adjusted p-values and interval limits: the order of
mvtnorm's own numerical error (the script raises its precision to abseps 1e-7); estimates, standard errors,
unadjusted p-values and the global F test to 1e-8 relative (plain least squares).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from securebase.analysis.effectiveness import adjust
from securebase.analysis.effectiveness.contrasts import ContrastSpec, KArmAncova, dunnett
from securebase.analysis.effectiveness.graphical import (
    fixed_sequence_graph,
    graphical_adjust,
    graphical_reject,
    holm_graph,
)
from securebase.errors import DataError

REF = Path(__file__).parents[1] / "reference" / "effectiveness"
DATA = pd.read_csv(REF / "karm.csv")
R = json.loads((REF / "dunnett.json").read_text())


@pytest.mark.parametrize("case,arms", [("three_arms", ["usual_care", "carer_only", "intervention"]),
                                       ("four_arms", ["usual_care", "carer_only", "extra_arm", "intervention"])])
def test_dunnett_matches_multcomp(case: str, arms: list[str]) -> None:
    ref = R[case]
    data = DATA[DATA["arm"].isin(arms)]
    # multcomp orders the Dunnett contrasts by factor level (alphabetical after the reference)
    order = sorted(a for a in arms if a != "usual_care")
    fit = KArmAncova("sdq_total_12", ["sdq_total_0", "site"], reference="usual_care", levels=arms,
                     contrasts=[ContrastSpec(f"{a} - usual_care", a, "usual_care") for a in order]).fit(data)
    res = dunnett(fit)
    assert [c.id for c in res.contrasts] == ref["contrasts"]
    np.testing.assert_allclose([c.estimate for c in res.contrasts], ref["estimate"], rtol=1e-8)
    np.testing.assert_allclose([c.se for c in res.contrasts], ref["se"], rtol=1e-8)
    np.testing.assert_allclose([c.p_value for c in res.contrasts], ref["p_raw"], rtol=1e-8)
    np.testing.assert_allclose([c.adjusted_p for c in res.contrasts], ref["p_dunnett"], atol=1e-4)
    np.testing.assert_allclose([c.simultaneous_ci[0] for c in res.contrasts], ref["ci_lower"], atol=1e-4)
    np.testing.assert_allclose([c.simultaneous_ci[1] for c in res.contrasts], ref["ci_upper"], atol=1e-4)
    assert res.details["critical_value"] == pytest.approx(ref["critical"], abs=1e-4)
    assert fit.global_test["F"] == pytest.approx(ref["F"], rel=1e-8)
    assert fit.global_test["p_value"] == pytest.approx(ref["F_p"], rel=1e-6)
    assert fit.df == ref["df"]
    np.testing.assert_allclose(adjust([c.p_value for c in fit.contrasts], "holm"), ref["p_holm"], rtol=1e-8)


def test_carer_child_vs_carer_only_is_the_difference_of_two_coefficients() -> None:
    data = DATA[DATA["arm"] != "extra_arm"]
    fit = KArmAncova("sdq_total_12", ["sdq_total_0", "site"], reference="usual_care",
                     contrasts=[ContrastSpec("a", "intervention", "usual_care"), ContrastSpec("b", "carer_only", "usual_care"),
                                ContrastSpec("with_child", "intervention", "carer_only")]).fit(data)
    a, b, w = fit.contrasts
    assert w.estimate == pytest.approx(a.estimate - b.estimate, abs=1e-12)
    # Var(a - b) = Var(a) + Var(b) - 2 Cov(a, b)
    assert w.se**2 == pytest.approx(a.se**2 + b.se**2 - 2 * fit.covariance[0, 1], rel=1e-10)


def test_unknown_arm_and_reference_are_named() -> None:
    with pytest.raises(DataError, match=r"reference is 'waiting_list', which is not an arm level"):
        KArmAncova("sdq_total_12", reference="waiting_list").fit(DATA)
    with pytest.raises(DataError, match=r"contrasts\[0\] \('x'\)\.treatment names arm 'carer_plus'"):
        KArmAncova("sdq_total_12", contrasts=[ContrastSpec("x", "carer_plus", "usual_care")]).fit(DATA)


def test_graphical_holm_and_fixed_sequence_are_special_cases() -> None:
    p = [0.01, 0.04, 0.03, 0.20]
    np.testing.assert_allclose(graphical_adjust(p, *holm_graph(4)), adjust(p, "holm"), rtol=1e-12)
    np.testing.assert_allclose(graphical_adjust(p, *fixed_sequence_graph(4)), adjust(p, "fixed_sequence"), rtol=1e-12)


def test_graphical_hand_worked_example_bretz_2009() -> None:
    """Bretz et al. (2009), the two-primary, two-secondary graph of their Figure 3 (parallel gatekeeping
    with the secondary hypotheses passing weight back): w = (1/2, 1/2, 0, 0); H1 -> H3 (1), H2 -> H4 (1),
    H3 -> H2 (1), H4 -> H1 (1). Worked by hand with p = (0.01, 0.03, 0.02, 0.10), alpha = 0.05:
      step 1: p1 / w1 = 0.02 is the smallest ratio; p~1 = 0.02. H1's weight goes to H3: w = (-, 1/2, 1/2, 0);
              G: H3 -> H2 (1); H4 -> H3 via H1 (g41 g13 = 1), H2 -> H4 (1).
      step 2: ratios H2 0.06, H3 0.04: p~3 = 0.04. H3's weight goes to H2: w = (-, 1, -, 0); H4 -> H2 (1).
      step 3: H2 0.03 / 1 = 0.03 < 0.04, so p~2 = max(0.03, 0.04) = 0.04. H2's weight goes to H4: w4 = 1.
      step 4: p~4 = max(0.10, 0.04) = 0.10.
    At alpha = 0.05: H1, H3, H2 rejected, H4 not (its p 0.10 > 0.05 with the full weight)."""
    w = [0.5, 0.5, 0.0, 0.0]
    G = [[0, 0, 1, 0], [0, 0, 0, 1], [0, 1, 0, 0], [1, 0, 0, 0]]
    p = [0.01, 0.03, 0.02, 0.10]
    np.testing.assert_allclose(graphical_adjust(p, w, G), [0.02, 0.04, 0.04, 0.10], rtol=1e-12)
    rej, steps = graphical_reject(p, w, G, alpha=0.05)
    assert rej.tolist() == [True, True, True, False]
    assert steps[0] == {"rejected": 0, "weights": [0.0, 0.5, 0.5, 0.0]}
    assert steps[-1]["weights"] == [0.0, 0.0, 0.0, 1.0]


def test_graph_errors_name_the_row() -> None:
    with pytest.raises(DataError, match="weights must be non-negative and sum to at most 1"):
        graphical_adjust([0.1, 0.2], [0.7, 0.7], [[0, 1], [1, 0]])
    with pytest.raises(DataError, match="transitions row '1'"):
        graphical_adjust([0.1, 0.2], [0.5, 0.5], [[0, 1], [1, 1]])
