"""The NG26 placement-state model: parameters file, vectorised = plain loop, effects, PSA outputs, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from securebase.analysis.economics.model.analysis import analyse_model
from securebase.analysis.economics.model.markov import BUILTIN_DIR, load_model, parse_model
from securebase.analysis.economics.model.parameters import Parameter
from securebase.errors import ProtocolError

MODEL = load_model("ng26-placement")


def _data():
    return yaml.safe_load((BUILTIN_DIR / "ng26-placement.yaml").read_text())


def test_vectorised_equals_plain_python_loop():
    s = MODEL.params.sample(40, 5)
    for pop in ("care", "maltreatment"):
        v = MODEL.evaluate(s, pop)
        loop = MODEL.evaluate_loop(s, pop)
        for arm in ("usual_care", "intervention"):
            np.testing.assert_allclose(v[arm].cost, loop[f"cost_{arm}"], rtol=1e-12)
            np.testing.assert_allclose(v[arm].qaly, loop[f"qaly_{arm}"], rtol=1e-12)


def test_rows_sum_to_one_in_every_cycle_and_the_effect_stops():
    s = MODEL.params.sample(30, 2)
    P = MODEL.matrix(s)
    T = MODEL.treated(P, s)
    np.testing.assert_allclose(T.sum(axis=-1), 1, atol=1e-12)
    i, j = MODEL.index["stable_placement"], MODEL.index["placement_moves"]
    rr = s["rr_disruption"]
    np.testing.assert_allclose(T[:, 0, i, j], P[:, i, j] * rr)  # cycles 1-2: effect
    np.testing.assert_allclose(T[:, 2, i, j], P[:, i, j])  # from cycle 3: usual care
    # with no effect (rr = 1) and no intervention cost, the arms are identical
    pts = {**MODEL.params.points(), "rr_disruption": 1.0, "rr_recurrence": 1.0, "c_intervention": 0.0}
    r = MODEL.evaluate(pts, "care")
    assert r["intervention"].cost == pytest.approx(r["usual_care"].cost)
    assert r["intervention"].qaly == pytest.approx(r["usual_care"].qaly)


def test_deterministic_values_by_hand_for_one_cycle():
    # one cycle, "end" counting, no discounting: cost = m_1 . c where m_1 = start P
    data = _data()
    data.update(cycles=1, method="end")
    m = parse_model(data)
    pts = m.params.points()
    P = m.matrix(pts)
    start = m.start("care")
    c = np.array([pts[m.spec.state_costs[s]] for s in m.states])
    r = m.evaluate(pts, "care")
    assert float(r["usual_care"].cost) == pytest.approx(float(start @ P @ c) / 1.035)


def test_row_not_summing_to_one_in_the_model_file_names_state():
    data = _data()
    data["start"]["care"] = {"stable_placement": 0.7, "placement_moves": 0.2}
    with pytest.raises(ProtocolError, match=r"field 'start.care': the starting distribution must sum to 1 \(got 0.9"):
        parse_model(data)
    data = _data()
    data["parameters"][2] = {"name": "p_from_stable", "dist": "dirichlet", "counts": {"stable_placement": 1,
                                                                                         "nowhere": 1}}
    with pytest.raises(ProtocolError, match=r"p_from_stable.*unknown state\(s\) \['nowhere'\]"):
        parse_model(data)


def test_parameter_file_errors_name_the_parameter():
    data = _data()
    data["parameters"][8] = {"name": "c_at_home", "dist": "gamma", "mean": 6000}
    with pytest.raises(ProtocolError, match=r"field 'parameters.8'.*'c_at_home'.*needs 'mean' and 'se'"):
        parse_model(data)
    data = _data()
    data["parameters"] = [p for p in data["parameters"] if p["name"] != "u_stable"]
    with pytest.raises(ProtocolError, match="refers to parameter 'u_stable'"):
        parse_model(data)
    with pytest.raises(ProtocolError, match="se.2 < mean.1 - mean"):
        parse_model({**_data(), "parameters": [*_data()["parameters"][:-1],
                                                {"name": "u_left_care", "dist": "beta", "mean": 0.9, "se": 0.5}]})


def test_distributions_have_the_declared_moments():
    rng = np.random.default_rng(3)
    g = Parameter(name="c", dist="gamma", mean=1000, se=100).sample(200_000, rng)
    b = Parameter(name="u", dist="beta", mean=0.8, se=0.05).sample(200_000, rng)
    ln = Parameter(name="rr", dist="lognormal", mean=0.75, ci=(0.55, 1.02))
    assert g.mean() == pytest.approx(1000, rel=0.005) and g.std() == pytest.approx(100, rel=0.01)
    assert b.mean() == pytest.approx(0.8, abs=0.001) and b.std() == pytest.approx(0.05, rel=0.01)
    lo, hi = ln.range()
    assert np.sqrt(lo * hi) == pytest.approx(0.75, rel=0.01)  # symmetric on the log scale
    d = Parameter(name="p", dist="dirichlet", counts={"a": 70, "b": 30}).sample(10, rng)
    np.testing.assert_allclose(d.sum(axis=1), 1)


def test_psa_outputs_tornado_evppi_evsi():
    a = analyse_model(MODEL, "care", n_samples=600, seed=4, wtp=np.arange(0, 50_001, 5000),
                      annual_population=5000, years=10, evsi_sizes=(50, 400), evppi_samples=600)
    d = a.to_dict()
    assert d["direction"] == "intervention minus usual care" and d["n_samples"] == 600
    assert 0 <= min(a.ceac) and max(a.ceac) <= 1 and np.all(a.ceaf >= 0.5 - 1e-12)
    assert a.tornado[0]["swing"] >= a.tornado[-1]["swing"]
    assert {t["parameter"] for t in a.tornado} >= {"rr_disruption", "c_residential", "u_stable"}
    ev = a.evppi["20000"]
    assert set(ev) == {"transitions", "treatment_effect", "costs", "utilities"}
    assert all(0 <= v <= a.at(20_000)["evpi_per_person"] * 1.05 + 1e-9 for v in ev.values())
    assert a.evsi[0]["20000"] <= a.evsi[1]["20000"] + 1e-9 <= a.at(20_000)["evpi_per_person"] * 1.05 + 1e-9
    assert a.at(20_000)["evpi_population"] == pytest.approx(a.at(20_000)["evpi_per_person"] * a.population_multiplier)
    assert d["deterministic"]["discount_1_5"]["discount"] == {"costs": 0.015, "effects": 0.015}
    assert [s["name"] for s in d["structure"]["states"]][:3] == ["at_home", "recurrence", "stable_placement"]


def test_harmful_relative_risk_never_makes_a_negative_probability():
    s = MODEL.params.sample(200, 9)
    s["rr_disruption"] = np.full(200, 6.0)  # a harmful effect far larger than the sinks can give
    T = MODEL.treated(MODEL.matrix(s), s)
    assert T.min() >= 0 and np.allclose(T.sum(axis=-1), 1)
    loop = MODEL.evaluate_loop({k: v[:20] for k, v in s.items()}, "care")
    np.testing.assert_allclose(MODEL.evaluate({k: v[:20] for k, v in s.items()}, "care")["intervention"].cost,
                               loop["cost_intervention"], rtol=1e-12)


def test_trial_link_care_and_maltreatment():
    import pandas as pd

    from securebase.analysis.economics.model.trial_link import link_trial

    p = pd.DataFrame({"treat": [1] * 10 + [0] * 10,
                      "placement_end_12": [1, 1, 0, 0, 0, 0, 0, 0, 0, 0] + [1, 1, 1, 1, 0, 0, 0, 0, 0, 0],
                      "maltreatment_12": [1, 0, 0, 0, 0, 0, 0, 0, 0, 0] + [1, 1, 0, 0, 0, 0, 0, 0, 0, 0]})
    m, link = link_trial(MODEL, p, (1200.0, 60.0))
    assert link["rr"] == pytest.approx(0.5) and link["rr_log_se"] == pytest.approx(np.sqrt(1/2 - 1/10 + 1/4 - 1/10))
    assert m.params["rr_disruption"].mean == pytest.approx(0.5) and m.params["c_intervention"].mean == 1200
    assert m.params["p_from_stable"].counts["placement_moves"] == MODEL.params["p_from_stable"].counts["placement_moves"] + 4
    m2, link2 = link_trial(MODEL, p, None, "maltreatment")
    assert link2["parameter"] == "rr_recurrence" and link2["rr"] == pytest.approx(0.5)
    assert m2.params["p_from_at_home"].counts["at_home"] == MODEL.params["p_from_at_home"].counts["at_home"] + 8
