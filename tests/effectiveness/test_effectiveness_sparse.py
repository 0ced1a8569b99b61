"""The plan's pre-specified sparse-data rule: a covariate level with no events is merged into its
declared neighbour (or the covariate dropped, or the analysis reported as not analysed by the rule),
the result says so; declared subgroup levels set the reference and the order; `securebase analyse`
keeps going by default and lists what it could not analyse with the reason."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from securebase.analysis.design.simulate import make_parameters, simulate
from securebase.analysis.effectiveness import Logistic
from securebase.analysis.sap import load_plan, run_plan
from securebase.analysis.sap.models import SparseData
from securebase.cli import main


@pytest.fixture(scope="module")
def demo_like() -> pd.DataFrame:
    """A simulated care trial where, as in the demo, no residential child has the binary or count event."""
    p = simulate(make_parameters(protocol="ng26-care", n_participants=200), np.random.default_rng(4)).participants
    res = p["care_status"] == "residential"
    p.loc[res & p["persistent_absence_12"].notna(), "persistent_absence_12"] = 0.0
    p.loc[res & p["exclusions_12"].notna(), "exclusions_12"] = 0.0
    assert res.sum() >= 10
    return p


def _plan(outcomes: list[str], **sparse: object):  # type: ignore[no-untyped-def]
    plan = load_plan("ng26-care")
    keep = [o for o in plan.outcomes if o.id in outcomes]
    upd: dict[str, object] = {"outcomes": keep, "multiplicity": plan.multiplicity.model_copy(update={"family": []})}
    if sparse:
        upd["sparse_data"] = plan.sparse_data.model_copy(update=sparse)
    return plan.model_copy(update=upd)


def test_the_estimator_alone_refuses_the_sparse_level(demo_like: pd.DataFrame) -> None:
    from securebase.errors import DataError

    with pytest.raises(DataError, match="level 'residential' of factor 'care_status' has no events"):
        Logistic("persistent_absence_12", ["age_band", "care_status"]).fit(demo_like)


def test_declared_merge_is_applied_and_recorded(demo_like: pd.DataFrame) -> None:
    res = run_plan(_plan(["persistent_absence", "exclusions"]), demo_like)
    for o in res.outcomes:
        assert o.primary.result is not None, o.primary.error
        assert any("'residential'" in n and "merged into 'foster'" in n for n in o.primary.notes), o.primary.notes
        assert "care_statusresidential" not in o.primary.result.coefficients
        assert "care_statusfoster" in o.primary.result.coefficients or "care_statuskinship" in o.primary.result.coefficients
    # the same fit by hand on the merged data gives the same odds ratio
    merged = demo_like.assign(care_status=demo_like["care_status"].replace({"residential": "foster"}))
    notes = " ".join(pa_notes := next(o for o in res.outcomes if o.id == "persistent_absence").primary.notes)
    site_merge = {lev: "S08" for lev in ("S04",) if "'S04'" in notes}  # S08 is the largest site
    assert site_merge, pa_notes
    merged = merged.assign(site=merged["site"].replace(site_merge))
    direct = Logistic("persistent_absence_12", ["site", "age_band", "care_status"]).fit(merged)
    pa = next(o for o in res.outcomes if o.id == "persistent_absence")
    assert pa.primary.result.estimate == pytest.approx(direct.estimate, rel=1e-8)
    d = json.loads(res.to_json())
    assert d["outcomes"][0]["primary"]["notes"] and "sparse-data rule applied" in res.to_markdown()


def test_without_a_merge_the_declared_fallback_applies(demo_like: pd.DataFrame) -> None:
    dropped = run_plan(_plan(["persistent_absence"], merge={}, otherwise="drop_covariate"), demo_like).outcomes[0]
    assert dropped.primary.result is not None
    assert not any(k.startswith("care_status") for k in dropped.primary.result.coefficients)
    assert any(n.startswith("care_status: dropped from the model because level 'residential'")
               for n in dropped.primary.notes), dropped.primary.notes
    excluded = run_plan(_plan(["persistent_absence"], merge={}, otherwise="not_analysed"), demo_like).outcomes[0]
    assert excluded.primary.result is None and excluded.primary.by_rule
    assert "not analysed by the plan's sparse-data rule" in excluded.primary.error
    assert "sparse_data.merge." in excluded.primary.error and "0 events" in excluded.primary.error


def test_declared_subgroup_levels_set_the_reference_and_the_order(demo_like: pd.DataFrame) -> None:
    res = run_plan(_plan(["behaviour"]).model_copy(update={"outcomes": [
        load_plan("ng26-care").outcome("behaviour").model_copy(update={"sensitivity": []})]}), demo_like)
    age = next(s for s in res.outcomes[0].subgroups if s.id == "age").result
    names = [e.name for e in age.estimates]
    assert names[0] == "mean difference in the reference level (age_band: 5-10)"
    assert names[1:] == ["age_band = 5-10", "age_band = 11-17"]
    assert age.estimates[0].estimate == pytest.approx(age.estimates[1].estimate)
    assert "treat:age_band11-17" in age.coefficients  # 5-10 is the reference, not alphabetical "11-17"


def test_sparse_rule_defaults_to_not_analysed_when_a_plan_has_none() -> None:
    assert SparseData().otherwise == "not_analysed" and SparseData().merge == {}


def test_cli_keeps_going_by_default_and_lists_what_it_could_not_analyse(tmp_path, demo_like, capsys) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "participants.csv"
    demo_like.drop(columns=["rpq_total_12"]).to_csv(data, index=False)
    rc = main(["analyse", "--plan", "ng26-care", "--data", str(data), "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert rc == 0
    assert "NOT ANALYSED  attachment_rpq: outcome 'attachment_rpq'" in out and "rpq_total_12" in out
    assert "rule applied  persistent_absence: care_status: sparse level 'residential'" in out
    rc = main(["analyse", "--plan", "ng26-care", "--data", str(data), "--out", str(tmp_path / "out"),
               "--stop-on-error"])
    assert rc == 2 and "rpq_total_12" in capsys.readouterr().err
