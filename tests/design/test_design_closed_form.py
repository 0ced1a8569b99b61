"""Closed-form sample size and power against R (tests/reference/design/closed_form.json) and the
published values of the shared reference README section 4."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from securebase.analysis.design import (
    BinaryOutcome,
    Clustering,
    ContinuousOutcome,
    CountOutcome,
    SurvivalOutcome,
    plan_several,
    power,
    sample_size,
)
from securebase.analysis.design.closed_form import holm_all_power, solve_n_ctl
from securebase.analysis.design.outcomes import events_required
from securebase.analysis.design.survival import event_probability, hazard_from_probability, survival_outcome
from securebase.errors import FieldError

REF = Path(__file__).parents[1] / "reference" / "design"
# Tolerances: values R computes directly (power, events, formulas): relative 1e-8. Sample sizes R solves
# with uniroot at its default tolerance (pwr: .Machine$double.eps^0.25): absolute 2e-3 participants.
# power.t.test/power.prop.test were run with tol = 1e-12: relative 1e-7. Numerical integration: 1e-8.
REL_DIRECT = 1e-8
ABS_PWR_N = 2e-3
REL_TIGHT_N = 1e-7


def _h_to_props(h: float) -> tuple[float, float]:
    """Two proportions with Cohen's h = h (p_ctl = 0.5)."""
    p_ctl = 0.5
    p_int = math.sin((h + 2 * math.asin(math.sqrt(p_ctl))) / 2) ** 2
    return p_ctl, p_int


def _python_value(r: pd.Series) -> float:
    a = r.alpha
    k = r.kind
    if k == "ttest_n":
        return solve_n_ctl(ContinuousOutcome(r.d, 1.0), r.power, a)
    if k == "ttest_power":
        return ContinuousOutcome(r.d, 1.0).power(r.n, r.n, a)
    if k == "t2n_power":
        return ContinuousOutcome(r.d, 1.0).power(r.n1, r.n2, a)
    if k == "powert_power":
        return ContinuousOutcome(r.delta, r.sd).power(r.n, r.n, a, strict=False)
    if k == "powert_n":
        return solve_n_ctl(ContinuousOutcome(r.delta, r.sd), r.power, a, strict=False)
    if k == "prop_n":
        return solve_n_ctl(BinaryOutcome(r.p2, r.p1), r.power, a, strict=False)
    if k == "prop_power":
        return BinaryOutcome(r.p2, r.p1).power(r.n, r.n, a, strict=False)
    if k == "p2_n":
        p_ctl, p_int = _h_to_props(r.h)
        return solve_n_ctl(BinaryOutcome(p_ctl, p_int, "arcsine"), r.power, a)
    if k == "p2_n_esh":
        return solve_n_ctl(BinaryOutcome(r.p2, r.p1, "arcsine"), r.power, a)
    if k == "p2n_power":
        p_ctl, p_int = _h_to_props(r.h)
        return BinaryOutcome(p_ctl, p_int, "arcsine").power(r.n1, r.n2, a)
    if k == "ancova_n":
        return solve_n_ctl(ContinuousOutcome(r.delta, r.sd, r.rho), r.power, a)
    if k == "ancova_power":
        return ContinuousOutcome(r.delta, r.sd, r.rho).power(r.n, r.n, a)
    if k == "schoenfeld_events":
        return events_required(r.hr, r.power, a, r.ratio, "schoenfeld")
    if k == "freedman_events":
        return events_required(r.hr, r.power, a, r.ratio, "freedman")
    if k == "event_prob":
        return event_probability(r.hazard, r.accrual, r.follow_up, r.competing)
    if k == "count_n":
        spec = CountOutcome(r.rate, r.rr, r.exposure, r.k)
        return solve_n_ctl(spec, r.power, a, r.ratio, strict=False)
    if k == "design_effect":
        return Clustering(r.icc, r.m, r.cv, "both").design_effect
    if k == "holm2_all":
        specs = [ContinuousOutcome(r.d, 1.0), ContinuousOutcome(r.d2, 1.0)]
        return holm_all_power([[s.power(r.n, r.n, a / (2 - j)) for j in range(2)] for s in specs])
    if k == "lifelines_freedman":
        res = sample_size(SurvivalOutcome(r.hr, r.pc, r.pe, "freedman"), power=r.power, alpha=a, ratio=r.ratio,
                          strict=False)
        return res.n_int
    raise AssertionError(k)


def _cases() -> list[tuple[pd.Series, float]]:
    cases = pd.read_csv(REF / "closed_form_cases.csv")
    ref = {d["case"]: d["value"] for d in json.loads((REF / "closed_form.json").read_text())["results"]}
    return [(row, ref[row.case]) for _, row in cases.iterrows()]


@pytest.mark.parametrize("row,expected", _cases(), ids=lambda x: f"{x.case}-{x.kind}" if isinstance(x, pd.Series) else "")
def test_closed_form_matches_r(row: pd.Series, expected: float) -> None:
    got = _python_value(row)
    if row.kind in ("ttest_n", "p2_n", "p2_n_esh"):  # pwr solves with uniroot's default tolerance
        assert got == pytest.approx(expected, abs=ABS_PWR_N)
    elif row.kind in ("powert_n", "prop_n", "ancova_n"):
        assert got == pytest.approx(expected, rel=REL_TIGHT_N)
    else:
        assert got == pytest.approx(expected, rel=REL_DIRECT)


def test_published_values_from_shared_reference() -> None:
    # shared reference README section 4 (R pwr vignette, R power.t.test, lifelines); tolerance: the
    # number of decimals published
    assert sample_size(ContinuousOutcome(0.5, 1), power=0.8).n_ctl_unrounded == pytest.approx(63.77, abs=0.005)
    assert power(ContinuousOutcome(0.5, 1), 30, 30).power == pytest.approx(0.478, abs=5e-4)
    assert round(sample_size(BinaryOutcome(0.50, 0.55, "arcsine"), power=0.8).n_ctl_unrounded) == 1565
    p_ctl, p_int = _h_to_props(0.2)
    assert sample_size(BinaryOutcome(p_ctl, p_int, "arcsine"), power=0.8).n_ctl_unrounded == pytest.approx(392.4, abs=0.05)
    assert power(BinaryOutcome(p_ctl, p_int, "arcsine"), 543, 675).power == pytest.approx(0.934, abs=5e-4)
    assert power(ContinuousOutcome(1, 2.5), 100, 100, strict=False).power == pytest.approx(0.8036466, abs=5e-8)
    res = sample_size(SurvivalOutcome(0.7, 0.35, 0.25, "freedman"), power=0.8, strict=False)
    assert (res.n_int, res.n_ctl) == (421, 421)


def test_lifelines_agrees() -> None:
    lifelines = pytest.importorskip("lifelines.statistics")
    for args in [(0.8, 1, 0.25, 0.35, 0.7), (0.9, 2, 0.2, 0.3, 0.65), (0.85, 0.5, 0.4, 0.5, 0.75)]:
        pw, ratio, pe, pc, hr = args
        res = sample_size(SurvivalOutcome(hr, pc, pe, "freedman"), power=pw, ratio=ratio, strict=False)
        assert (res.n_int, res.n_ctl) == lifelines.sample_size_necessary_under_cph(*args)


def test_adjustments_attrition_clustering_and_rounding() -> None:
    spec = ContinuousOutcome(-2.1, 7, label="the SDQ total difficulties score")
    plain = sample_size(spec, power=0.9)
    att = sample_size(spec, power=0.9, attrition=0.2)
    assert att.n_ctl == math.ceil(plain.n_ctl_unrounded / 0.8)
    cl = Clustering(0.03, 8)
    assert cl.design_effect == pytest.approx(1.21)
    assert cl.inflation(1.0) == pytest.approx((1 + 1.21) / 2)  # partial nesting, reference section 4
    assert Clustering(0.03, 8, arms="both").inflation(2.0) == pytest.approx(1.21)
    assert Clustering(0.05, 10, cv=0.5, arms="both").design_effect == pytest.approx(1 + (1.25 * 10 - 1) * 0.05)
    both = sample_size(spec, power=0.9, attrition=0.2, clustering=cl)
    assert both.n_ctl == math.ceil(plain.n_ctl_unrounded * cl.inflation() / 0.8)
    assert both.sentence.startswith("To detect a difference of 2.1 points on the SDQ total difficulties score (SD 7) "
                                    "with 90% power at the 5% level")
    assert "allowing 20% attrition" in both.sentence and f"{both.n_total} children are needed" in both.sentence
    # unequal allocation: intervention arm is ratio times usual care before rounding
    r2 = sample_size(spec, power=0.9, ratio=2)
    assert r2.n_int_unrounded == pytest.approx(2 * r2.n_ctl_unrounded)
    assert r2.achieved_power >= 0.9
    # ANCOVA: Borm shortcut against exact noncentral t within one participant
    borm = sample_size(ContinuousOutcome(2.1, 7, 0.5), power=0.9)
    exact = sample_size(ContinuousOutcome(2.1, 7, 0.5, ancova="exact"), power=0.9)
    assert borm.n_ctl_unrounded == pytest.approx(plain.n_ctl_unrounded * 0.75)
    assert abs(borm.n_ctl_unrounded - exact.n_ctl_unrounded) < 1.5
    d = borm.to_dict()
    assert d["n_total"] == borm.n_total and "sentence" in d and borm.summary().startswith("To detect")


def test_survival_and_counts() -> None:
    lam = hazard_from_probability(0.25, 1.0)
    assert event_probability(lam, 0.0, 1.0) == pytest.approx(0.25)
    spec = survival_outcome(0.7, 0.25, 1.5, 1.0, competing_hazard=0.15, label="unplanned placement endings")
    res = sample_size(spec, power=0.9)
    assert res.expected_events == pytest.approx(events_required(0.7, 0.9), rel=0.02)
    assert "hazard ratio of 0.7 for unplanned placement endings" in res.sentence
    # Poisson is the dispersion-0 negative binomial and needs fewer participants
    pois = sample_size(CountOutcome(0.5, 0.7), power=0.8)
    nb = sample_size(CountOutcome(0.5, 0.7, dispersion=1.0), power=0.8)
    assert nb.n_total > pois.n_total
    assert "rate ratio of 0.7" in nb.sentence


def test_multiple_outcomes() -> None:
    specs = [ContinuousOutcome(2.1, 7), BinaryOutcome(0.3, 0.2)]
    each = plan_several(specs, method="bonferroni", goal="each", power=0.9)
    assert each.n_ctl == max(sample_size(s, power=0.9, alpha=0.025).n_ctl for s in specs)
    holm = plan_several(specs, method="holm", goal="all", power=0.9)
    bonf = plan_several(specs, method="bonferroni", goal="all", power=0.9)
    assert holm.n_total <= bonf.n_total  # Holm is uniformly more powerful
    # Holm's conjunctive power for 3 independent outcomes against a Monte Carlo of the procedure
    rng = np.random.default_rng(1)
    z_eff = np.array([2.5, 3.0, 3.3])
    zs = rng.standard_normal((200_000, 3)) + z_eff
    from scipy import stats
    pv = 2 * stats.norm.sf(np.abs(zs))
    srt = np.sort(pv, axis=1)
    mc = np.mean(np.all(srt <= 0.05 / np.array([3, 2, 1]), axis=1))
    rows = [[stats.norm.sf(stats.norm.isf(0.05 / (3 - j) / 2) - z) + stats.norm.cdf(-stats.norm.isf(0.05 / (3 - j) / 2) - z)
             for j in range(3)] for z in z_eff]
    assert holm_all_power(rows) == pytest.approx(mc, abs=4 * math.sqrt(mc * (1 - mc) / 200_000))


@pytest.mark.parametrize("bad", [dict(power=1.2), dict(alpha=0), dict(attrition=1.0), dict(ratio=-1), dict(sided=3)])
def test_bad_input_raises_field_error(bad: dict) -> None:
    with pytest.raises(FieldError) as err:
        sample_size(ContinuousOutcome(2, 7), **bad)
    assert "must be" in str(err.value) and "got" in str(err.value)


def test_bad_specs() -> None:
    with pytest.raises(FieldError, match="p_ctl must be a probability"):
        BinaryOutcome(1.3, 0.2)
    with pytest.raises(FieldError, match="hazard_ratio"):
        SurvivalOutcome(1.0, 0.3, 0.2)
    with pytest.raises(FieldError, match="rho"):
        ContinuousOutcome(1, 2, rho=1.0)
