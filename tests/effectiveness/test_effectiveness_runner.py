"""run_plan and `securebase analyse` on simulated trials and on the reference data; external data
through a column mapping (CSV, Parquet, REDCap longitudinal export)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from securebase.analysis.datasets_external import load_external
from securebase.analysis.design.simulate import make_parameters, simulate
from securebase.analysis.effectiveness import Ancova, Mmrm
from securebase.analysis.sap import load_plan, run_plan
from securebase.cli import main
from securebase.errors import DataError

REF = Path(__file__).resolve().parents[1] / "reference" / "effectiveness"


@pytest.fixture(scope="module")
def care_trial():
    return simulate(make_parameters(protocol="ng26-care"), np.random.default_rng(5))


def test_run_plan_on_simulated_care_trial(care_trial):
    plan = load_plan("ng26-care")
    res = run_plan(plan, care_trial.participants, care_trial.visits)
    d = json.loads(res.to_json())  # strictly JSON (no NaN)
    assert d["direction"] == "intervention minus usual care"
    assert [o["id"] for o in d["outcomes"]] == [o.id for o in plan.outcomes]
    primary = res.outcomes[0]
    direct = Ancova("sdq_total_12", ["sdq_total_0", "site", "age_band", "care_status"]).fit(care_trial.participants)
    assert primary.primary.result.estimate == pytest.approx(direct.estimate, rel=1e-12)
    mmrm = next(s for s in primary.sensitivity if s.id == "mmrm").result
    direct_mmrm = Mmrm("sdq_total", baseline="sdq_total_0", covariates=["site", "age_band", "care_status"]).fit(
        care_trial.visits.merge(care_trial.participants[["participant_id", "sdq_total_0", "age_band", "care_status"]],
                                on="participant_id"))
    assert mmrm.estimate == pytest.approx(direct_mmrm.estimate, rel=1e-6)
    assert all(s.result is not None for s in primary.sensitivity), [s.error for s in primary.sensitivity]
    assert {len(s.result.estimates) for s in primary.subgroups} == {3, 6}  # overall + 2 age bands; + 5 care levels
    holm = res.multiplicity["adjusted_p"]
    assert set(holm) == {"attachment_rpq", "sensitivity", "placement_disruption"}
    md = res.to_markdown()
    assert "| outcome | role |" in md and "Tipping point" in md and "interaction test" in md


def test_run_plan_maltreatment_fixed_sequence(care_trial):
    trial = simulate(make_parameters(protocol="ng26-maltreatment"), np.random.default_rng(9))
    res = run_plan(load_plan("ng26-maltreatment"), trial.participants, trial.visits)
    fam = res.multiplicity["family"]
    rej = [next(o for o in res.outcomes if o.id == f).rejected for f in fam]
    # fixed sequence: once one fails, none after it is rejected
    assert rej == sorted(rej, reverse=True)


def test_run_plan_reports_missing_outcome_clearly():
    trial = pd.read_csv(REF / "trial.csv")
    with pytest.raises(DataError, match="outcome 'attachment_rpq'.*rpq_total_12"):
        run_plan(load_plan("ng26-care"), trial)
    res = run_plan(load_plan("ng26-care"), trial, on_error="record")
    rpq = next(o for o in res.outcomes if o.id == "attachment_rpq")
    assert rpq.primary.result is None and "rpq_total_12" in rpq.primary.error
    assert "not applied" in res.multiplicity["note"]


def test_cli_analyse_writes_json_and_markdown(tmp_path, care_trial, capsys):
    paths = care_trial.write(tmp_path / "data")
    rc = main(["analyse", "--plan", "ng26-care", "--data", str(paths[0]), "--visits", str(paths[1]),
               "--out", str(tmp_path / "out")])
    assert rc == 0
    d = json.loads((tmp_path / "out" / "results.json").read_text())
    assert d["plan_id"] == "ng26-care" and d["outcomes"][0]["primary"]["result"]["estimates"][0]["name"] == "mean difference"
    assert (tmp_path / "out" / "results.md").read_text().startswith("# Results: plan ng26-care")


def test_cli_errors_are_messages_not_tracebacks(tmp_path, capsys):
    rc = main(["analyse", "--plan", "ng26-care", "--data", str(REF / "trial.csv"), "--out", str(tmp_path),
               "--stop-on-error"])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err and "rpq_total_12" in err
    rc = main(["analyse", "--plan", "ng26-care", "--data", str(REF / "trial.csv"), "--out", str(tmp_path)])
    out = capsys.readouterr().out  # keeps going by default and lists what it could not analyse
    assert rc == 0 and "NOT ANALYSED  attachment_rpq" in out and "rpq_total_12" in out
    rc = main(["analyse", "--plan", "no-such-plan.yaml", "--data", str(REF / "trial.csv"), "--out", str(tmp_path)])
    assert rc == 2 and "plan file not found" in capsys.readouterr().err


def _redcap_export(tmp_path: Path) -> tuple[Path, Path]:
    trial = pd.read_csv(REF / "trial.csv").head(120)
    rows = []
    for _, r in trial.iterrows():
        rid = r.participant_id.replace("CARE-", "")
        rows.append({"record_id": rid, "redcap_event_name": "baseline_arm_1", "dag": r.site, "alloc": 1 if r.treat else 2,
                     "ageband": r.age_band, "carestat": r.care_status, "sdq": r.sdq_total_0})
        rows.append({"record_id": rid, "redcap_event_name": "month_6_arm_1", "sdq": r.sdq_total_6})
        rows.append({"record_id": rid, "redcap_event_name": "month_12_arm_1", "sdq": r.sdq_total_12})
    path = tmp_path / "export.json"
    path.write_text(json.dumps([{k: ("" if pd.isna(v) else str(v)) for k, v in row.items()} for row in rows]))
    mapping = tmp_path / "map.yaml"
    mapping.write_text("""\
participants:
  participant_id: record_id
  site: {source: dag, event: baseline_arm_1}
  treat: {source: alloc, recode: {"1": 1, "2": 0}}
  age_band: ageband
  care_status: carestat
  sdq_total_0: {source: sdq, event: baseline_arm_1}
  sdq_total_12: {source: sdq, event: month_12_arm_1}
visits:
  participant_id: record_id
  sdq_total: sdq
redcap:
  event_column: redcap_event_name
  events: {month_6_arm_1: 6, month_12_arm_1: 12}
""")
    return path, mapping


def test_redcap_longitudinal_export_through_mapping(tmp_path):
    path, mapping = _redcap_export(tmp_path)
    part, vis = load_external(path, mapping=mapping)
    trial = pd.read_csv(REF / "trial.csv").head(120)
    assert len(part) == 120 and len(vis) == 240 and set(vis.visit_month) == {6, 12}
    covs = ["sdq_total_0", "site", "age_band", "care_status"]
    ours = Ancova("sdq_total_12", covs).fit(part)
    direct = Ancova("sdq_total_12", covs).fit(trial)
    assert ours.estimate == pytest.approx(direct.estimate, rel=1e-10)
    assert ours.n_analysed == direct.n_analysed


def test_csv_and_parquet_give_the_same_frames(tmp_path):
    trial = pd.read_csv(REF / "trial.csv")
    trial.to_parquet(tmp_path / "t.parquet", index=False)
    a, _ = load_external(REF / "trial.csv")
    b, _ = load_external(tmp_path / "t.parquet")
    pd.testing.assert_frame_equal(a.fillna(-1), b.fillna(-1))


def test_mapping_naming_missing_column_is_a_clear_error(tmp_path):
    path, mapping = _redcap_export(tmp_path)
    mapping.write_text(mapping.read_text().replace("carestat", "care_stat"))
    with pytest.raises(DataError) as exc:
        load_external(path, mapping=mapping)
    msg = exc.value.message
    assert str(mapping) in msg and "participants.care_status" in msg and "'care_stat'" in msg and "carestat" in msg


def test_mapping_recode_missing_value_is_a_clear_error(tmp_path):
    path, mapping = _redcap_export(tmp_path)
    mapping.write_text(mapping.read_text().replace('recode: {"1": 1, "2": 0}', 'recode: {"1": 1}'))
    with pytest.raises(DataError, match=r"value\(s\) \['2'\].*no recode"):
        load_external(path, mapping=mapping)


def test_numeric_coded_factors_are_categories(care_trial):
    p = care_trial.participants
    codes = {s: i + 1 for i, s in enumerate(sorted(p.site.unique()))}
    coded = p.assign(site=p.site.map(codes))
    full = load_plan("ng26-care")
    first = full.outcomes[0].model_copy(update={"sensitivity": [], "subgroups": []})
    plan = full.model_copy(update={"outcomes": [first], "multiplicity": full.multiplicity.model_copy(
        update={"family": ["behaviour"]})})
    a = run_plan(plan, p).outcomes[0].primary.result
    b = run_plan(plan, coded).outcomes[0].primary.result
    assert a.estimate == pytest.approx(b.estimate, rel=1e-10) and a.se == pytest.approx(b.se, rel=1e-10)
