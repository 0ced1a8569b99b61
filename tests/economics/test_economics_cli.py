"""``securebase economics`` end to end (small bootstrap), on the simulator's frames and the Ben et al. layout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from economics_synth import make_trial

from securebase.cli import main

REF = Path(__file__).parents[1] / "reference" / "economics"


@pytest.fixture(scope="module")
def trial_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("trial")
    p, ru, dl = make_trial(n=120, seed=9)
    p.to_csv(d / "participants.csv", index=False)
    ru.to_csv(d / "resource_use.csv", index=False)
    dl.to_csv(d / "delivery.csv", index=False)
    return d


def test_cli_securebase_layout_writes_json_tables_plots(trial_files, tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["economics", "--plan", "ng26-care", "--data", str(trial_files / "participants.csv"),
               "--resource-use", str(trial_files / "resource_use.csv"), "--delivery-log",
               str(trial_files / "delivery.csv"), "--out", str(out), "--n-boot", "300", "--imputations", "2",
               "--seed", "4"])
    assert rc == 0, capsys.readouterr().err
    res = json.loads((out / "economics.json").read_text())
    assert res["direction"] == "intervention minus usual care" and res["imputations"] == 2
    names = {p["name"] for p in res["perspectives"]}
    assert names == {"nhs_pss", "public_sector", "societal"}
    pp = res["perspectives"][0]
    assert pp["joint"]["clustered"] is True  # therapists cluster the intervention arm
    assert set(pp["decision"]["thresholds"]) == {"20000", "30000"}
    for f in ("summary.txt", "cost_consequence.csv", "nhs_pss_ce_plane.png", "nhs_pss_ceac.png",
              "nhs_pss_evpi.png", "public_sector_curves.csv"):
        assert (out / f).stat().st_size > 0
    assert "intervention minus usual care" in (out / "summary.txt").read_text()
    # same seed, same numbers
    out2 = tmp_path / "out2"
    main(["economics", "--plan", "ng26-care", "--data", str(trial_files / "participants.csv"),
          "--resource-use", str(trial_files / "resource_use.csv"), "--delivery-log",
          str(trial_files / "delivery.csv"), "--out", str(out2), "--n-boot", "300", "--imputations", "2",
          "--seed", "4"])
    res2 = json.loads((out2 / "economics.json").read_text())
    assert res2["perspectives"][0]["decision"] == pp["decision"]


def test_cli_ben2023_layout(tmp_path, capsys):
    rc = main(["economics", "--layout", "ben2023", "--data", str(REF / "ben2023_cea_tutorial.csv"),
               "--out", str(tmp_path), "--n-boot", "200", "--imputations", "2"])
    assert rc == 0, capsys.readouterr().err
    res = json.loads((tmp_path / "economics.json").read_text())
    assert res["layout"] == "ben2023" and res["complete_case_sur"]["n"] == 170
    assert (tmp_path / "ceac.png").exists()


def test_cli_bad_input_named_and_nothing_written(tmp_path, capsys):
    d = pd.read_csv(REF / "ben2023_cea_tutorial.csv")
    d.loc[4, "Cm2"] = -10.0
    d.to_csv(tmp_path / "bad.csv", index=False)
    out = tmp_path / "out"
    rc = main(["economics", "--layout", "ben2023", "--data", str(tmp_path / "bad.csv"), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and "cost 'Cm2' must be >= 0 (got -10.0) for participant id 5" in err
    assert "Traceback" not in err and not out.exists()


def test_cli_unknown_item_and_missing_index(trial_files, tmp_path, capsys):
    ru = pd.read_csv(trial_files / "resource_use.csv")
    ru.loc[3, "item"] = "speech_therapy_hour"
    ru.to_csv(tmp_path / "ru.csv", index=False)
    rc = main(["economics", "--plan", "ng26-care", "--data", str(trial_files / "participants.csv"),
               "--resource-use", str(tmp_path / "ru.csv"), "--out", str(tmp_path / "o")])
    assert rc == 2 and "resource item 'speech_therapy_hour'" in capsys.readouterr().err
    import yaml

    from securebase.analysis.economics.plan import BUILTIN_DIR
    table = yaml.safe_load((BUILTIN_DIR / "unit_costs_example.yaml").read_text())
    del table["price_index"]["values"]["2016/17"]
    (tmp_path / "uc.yaml").write_text(yaml.safe_dump(table))
    rc = main(["economics", "--plan", "ng26-care", "--data", str(trial_files / "participants.csv"),
               "--resource-use", str(trial_files / "resource_use.csv"), "--unit-costs", str(tmp_path / "uc.yaml"),
               "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and "foster_care_week" in err and "2016/17" in err
    assert not (tmp_path / "o").exists()


def test_simulator_frames_run(tmp_path):
    from securebase.analysis.design.simulate import make_parameters, simulate
    from securebase.analysis.economics.analysis import CostEffectivenessAnalysis
    from securebase.analysis.economics.plan import load_plan

    t = simulate(make_parameters(protocol="ng26-maltreatment", n_participants=160), np.random.default_rng(8))
    res = CostEffectivenessAnalysis(load_plan("ng26-maltreatment"), n_boot=200, m=2).fit(t.participants,
                                                                                          t.resource_use)
    d = res.to_dict()
    n7 = int((t.participants["age_years"] >= 7).sum())  # CHU9D valid from 7: under-7s are a declared exclusion
    assert d["n"] == n7 and len(d["perspectives"]) == 3
    assert n7 == 160 or any(f"{160 - n7} participant(s) under 7" in w for w in d["warnings"])
    assert np.isfinite(d["perspectives"][0]["decision"]["incremental_cost"])
    assert any("cost per case of ongoing maltreatment" in c["statement"] or "saves" in c["statement"]
               for c in d["perspectives"][0]["cost_per_outcome"])
