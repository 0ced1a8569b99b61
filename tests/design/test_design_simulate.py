"""The NG26 trial simulator: exact analysis schema, reproducibility, item consistency, mechanisms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from securebase.analysis import schema
from securebase.analysis.design.parameters import SimulationParameters
from securebase.analysis.design.sdq_items import REVERSED, items_from_subscales, score_items
from securebase.analysis.design.simulate import make_parameters, simulate
from securebase.analysis.design.simulate_core import simulate_arrays
from securebase.errors import FieldError


def _expected_participant_columns() -> list[str]:
    cols = list(schema.PARTICIPANT_COLUMNS)
    cols += [schema.outcome_column(o, m) for o in schema.SCORED_OUTCOMES for m in schema.VISIT_MONTHS]
    cols += [f"days_{m}" for m in schema.VISIT_MONTHS]
    return cols + list(schema.EVENT_COLUMNS) + list(schema.RESPONDENT_COLUMNS)


@pytest.fixture(scope="module", params=["ng26-care", "ng26-maltreatment"])
def trial(request: pytest.FixtureRequest):
    return simulate(make_parameters(protocol=request.param, n_participants=240), np.random.default_rng(7),
                    item_level=True, seed=7)


def test_frames_have_exactly_the_schema_columns(trial) -> None:
    assert list(trial.participants.columns) == _expected_participant_columns()
    assert list(trial.visits.columns) == list(schema.VISIT_COLUMNS) + list(schema.SCORED_OUTCOMES)
    assert list(trial.resource_use.columns) == list(schema.RESOURCE_USE_COLUMNS)
    p = trial.participants
    assert len(trial.visits) == len(p) * len(schema.VISIT_MONTHS)
    assert set(p["arm"]) == {schema.ARM_INTERVENTION, schema.ARM_CONTROL}
    assert (p["treat"] == (p["arm"] == schema.ARM_INTERVENTION)).all()
    assert set(p["age_band"]) <= set(schema.AGE_BANDS)
    assert p["participant_id"].is_unique
    assert pd.api.types.is_datetime64_any_dtype(p["randomised_on"])


def test_values_are_in_range_and_coherent(trial) -> None:
    p = trial.participants
    care = trial.params.protocol == "ng26-care"
    assert p["care_status"].notna().all() == care and p["maltreatment_type"].isna().all() == care
    assert p.loc[p.treat == 0, "therapist"].isna().all() and p.loc[p.treat == 1, "therapist"].notna().all()
    assert (p.loc[p.treat == 0, ["sessions_offered", "sessions_attended", "complier"]] == 0).all().all()
    assert (p["sessions_attended"] <= p["sessions_offered"]).all()
    for m in schema.VISIT_MONTHS:
        tot = p[f"sdq_total_{m}"].dropna()
        assert tot.between(0, 40).all() and (tot == tot.round()).all()
        assert p[f"rpq_total_{m}"].dropna().between(0, 30).all()
        assert p[f"kerns_mean_{m}"].dropna().between(1, 4).all()
        assert (p[f"utility_{m}"].dropna() <= 1).all()
    seen12 = p["days_12"].notna()
    assert (p.loc[~seen12, "sdq_total_12"].isna()).all()
    assert (p["days_0"] == 0).all()
    assert set(p["placement_end_event"]) <= {0, 1, 2}
    assert (p["placement_end_time"] <= trial.params.follow_up_days).all()
    pa = p["persistent_absence_12"].dropna()
    assert ((p.loc[pa.index, "attendance_12"] < 0.9).astype(float) == pa).all()
    assert p["maltreatment_12"].notna().any() == (not care)
    r = trial.resource_use
    assert (r["quantity"].dropna() >= 0).all()
    assert {"social_worker_hour", "camhs_contact", "gp_visit", "ae_attendance", "inpatient_day",
            "education_psychologist_hour", "foster_care_week", "intervention_session"} <= set(r["item"])
    sessions = r[r.item == "intervention_session"].groupby("participant_id")["quantity"].sum()
    assert (sessions.reindex(p.participant_id).to_numpy() == p["sessions_attended"].to_numpy()).all()


def test_items_are_consistent_with_scores(trial) -> None:
    items = trial.sdq_items
    wide = items.pivot_table(index=["participant_id", "visit_month"], columns="item", values="response",
                             dropna=False).reindex(columns=range(1, 26))
    scored = score_items(wide.to_numpy())
    visits = trial.visits.set_index(["participant_id", "visit_month"]).loc[wide.index]
    for k in ("sdq_total", "sdq_emotional", "sdq_conduct", "sdq_hyperactivity", "sdq_peer", "sdq_prosocial"):
        np.testing.assert_array_equal(scored[k], visits[k].to_numpy())
    assert items["response"].dropna().isin([0, 1, 2]).all()


def test_same_seed_same_trial_and_different_seed_differs() -> None:
    params = make_parameters(n_participants=60)
    a = simulate(params, np.random.default_rng(3))
    b = simulate(params, np.random.default_rng(3))
    c = simulate(params, np.random.default_rng(4))
    pd.testing.assert_frame_equal(a.participants, b.participants)
    pd.testing.assert_frame_equal(a.resource_use, b.resource_use)
    assert not a.participants["sdq_total_0"].equals(c.participants["sdq_total_0"])


@given(st.lists(st.integers(0, 10), min_size=5, max_size=5), st.integers(0, 2**32 - 1))
@settings(max_examples=50, deadline=None)
def test_items_reproduce_any_subscale_scores(scores: list[int], seed: int) -> None:
    names = ["sdq_emotional", "sdq_conduct", "sdq_hyperactivity", "sdq_peer", "sdq_prosocial"]
    items = items_from_subscales({k: np.array([v]) for k, v in zip(names, scores, strict=True)},
                                 np.random.default_rng(seed))
    assert set(np.unique(items)) <= {0, 1, 2}
    out = score_items(items)
    assert [int(out[k][0]) for k in names] == scores
    assert int(out["sdq_total"][0]) == sum(scores[:4])
    assert 7 in REVERSED  # reverse-scored items are stored as answers, not contributions


def test_scoring_prorates_and_rounds_halves_up() -> None:
    items = np.full((1, 25), np.nan)
    for i in (3, 8, 13, 16):  # emotional: 4 of 5 answered, sum 2 -> mean 0.5 -> 2.5 -> 3
        items[0, i - 1] = 0
    items[0, 2], items[0, 7] = 1, 1
    assert score_items(items)["sdq_emotional"][0] == 3
    assert np.isnan(score_items(items)["sdq_total"][0])  # other subscales unscorable


@pytest.mark.parametrize("mech", ["MCAR", "MAR", "MNAR"])
def test_missing_data_mechanisms(mech: str) -> None:
    p = make_parameters(n_participants=400, missing_mechanism=mech)
    a = simulate_arrays(p, 50, np.random.default_rng(1), outcomes=("sdq_total",))
    seen = a["seen_12"] == 1
    assert seen.mean() == pytest.approx(p.retention_12, abs=0.01)
    assert (a["seen_6"] >= a["seen_12"]).all()  # monotone dropout
    assert (1 - a["seen_6"]).mean() == pytest.approx(1 - p.retention_6, abs=0.01)
    base = a["sdq_total_0"]
    latent = a["latent_sdq_total_12"]
    gap_base = base[~seen].mean() - base[seen].mean()
    gap_follow = latent[~seen].mean() - latent[seen].mean()
    if mech == "MCAR":
        assert abs(gap_base) < 0.3 and abs(gap_follow) < 0.3
    elif mech == "MAR":
        assert gap_base > 1.0
    else:
        assert gap_follow > gap_base > 0  # depends on the unobserved follow-up score


def test_defaults_follow_the_shared_reference() -> None:
    p = SimulationParameters()
    assert 17 <= p.outcomes["sdq_total"].mean <= 20 and p.outcomes["sdq_total"].sd == 7  # section 5
    assert 0 <= p.outcomes["sdq_total"].effect_d <= 0.3 and p.retention_12 == 0.8
    assert 0.01 <= p.therapist_icc <= 0.05
    a = simulate_arrays(make_parameters(n_participants=2000, maltreatment_prob=0.22), 5, np.random.default_rng(2),
                        outcomes=("sdq_total",))
    assert np.nanmean(a["exclusions_12"][a["treat"] == 0] > 0) == pytest.approx(0.114, abs=0.02)  # section 2
    ctl = a["treat"] == 0
    # the care-trial control arm: unplanned endings happen, competing events too
    assert (a["placement_event"][ctl] == 1).mean() > 0.05 and (a["placement_event"][ctl] == 2).mean() > 0.02


def test_ancova_effect_recovered_without_rounding() -> None:
    p = make_parameters(n_participants=300, missing_mechanism="none", round_scores=False, site_icc=0,
                        therapist_icc=0)
    a = simulate_arrays(p, 400, np.random.default_rng(9), outcomes=("sdq_total",))
    from securebase.analysis.kernels import fit_ols
    X = np.stack([np.ones_like(a["treat"]), a["treat"], a["sdq_total_0"]], -1)
    est = fit_ols(X, a["sdq_total_12"]).coef[:, 1]
    truth = p.outcomes["sdq_total"].effect_points
    assert est.mean() == pytest.approx(truth, abs=4 * est.std() / np.sqrt(len(est)))
    r = np.corrcoef(a["sdq_total_0"][a["treat"] == 0], a["sdq_total_12"][a["treat"] == 0])[0, 1]
    assert r == pytest.approx(p.outcomes["sdq_total"].rho, abs=0.02)


def test_bad_parameters_give_field_errors(tmp_path) -> None:
    with pytest.raises(FieldError, match="retention_12"):
        make_parameters(retention_12=1.5)
    with pytest.raises(FieldError, match="cannot exceed"):
        make_parameters(retention_12=0.95)
    with pytest.raises(FieldError, match="item_level"):
        simulate(make_parameters(round_scores=False), np.random.default_rng(1), item_level=True)
    t = simulate(make_parameters(n_participants=20), np.random.default_rng(1))
    paths = t.write(tmp_path, "parquet")
    back = pd.read_parquet(paths[0])
    assert list(back.columns) == list(t.participants.columns) and len(back) == 20
    with pytest.raises(FieldError, match="format"):
        t.write(tmp_path, "xlsx")
