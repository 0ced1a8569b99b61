"""``securebase design size | simulate | power`` end to end (no tracebacks, standard messages)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from securebase.cli import main


def test_size_continuous_prints_the_protocol_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["design", "size", "--delta", "2.1", "--sd", "7", "--attrition", "0.2", "--label",
               "the SDQ total difficulties score", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["n_total"] == 588
    assert out["sentence"].startswith("To detect a difference of 2.1 points on the SDQ total difficulties score")


@pytest.mark.parametrize("args,expect", [
    (["--outcome", "binary", "--p-control", "0.3", "--p-intervention", "0.2"], "from 30% to 20%"),
    (["--outcome", "binary", "--p-control", "0.3", "--p-intervention", "0.2", "--method", "arcsine"], "Cohen's h"),
    (["--outcome", "survival", "--hr", "0.7", "--prob-event-control", "0.35", "--prob-event-intervention", "0.25",
      "--method", "freedman"], "hazard ratio of 0.7"),
    (["--outcome", "survival", "--hr", "0.7", "--control-hazard", "0.25", "--competing-hazard", "0.1"], "events"),
    (["--outcome", "count", "--rate-control", "0.5", "--rate-ratio", "0.7", "--dispersion", "1"], "negative binomial"),
    (["--delta", "2", "--sd", "7", "--icc", "0.03", "--cluster-size", "8", "--n-outcomes", "2"], "Bonferroni"),
])
def test_size_other_outcomes(args: list[str], expect: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["design", "size", *args]) == 0
    assert expect in capsys.readouterr().out.replace("\n", " ")


def test_size_errors_are_messages_not_tracebacks(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["design", "size", "--outcome", "binary", "--p-control", "0.3"]) == 2
    err = capsys.readouterr().err
    assert "--p-intervention must be" in err and "Traceback" not in err
    assert main(["design", "size", "--outcome", "weird"]) == 2


def test_simulate_writes_frames(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["design", "simulate", "--seed", "5", "--n", "40", "--out", str(tmp_path), "--items",
               "--protocol", "ng26-maltreatment", "--set", "retention_12=0.75", "--effect-d", "0.3"])
    assert rc == 0
    part = pd.read_csv(tmp_path / "participants.csv")
    assert len(part) == 40 and part["maltreatment_type"].notna().all()
    assert (tmp_path / "sdq_items.csv").exists() and (tmp_path / "parameters.json").exists()
    meta = json.loads((tmp_path / "parameters.json").read_text())
    assert meta["seed"] == 5 and meta["parameters"]["outcomes"]["sdq_total"]["effect_d"] == 0.3
    assert main(["design", "simulate", "--seed", "5", "--out", str(tmp_path), "--set", "retention_12=2"]) == 2
    assert "retention_12 must be" in capsys.readouterr().err


def test_power_single_and_grid(tmp_path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SECUREBASE_CACHE_DIR", str(tmp_path / "cache"))
    rc = main(["design", "power", "--sims", "200", "--batch-size", "100", "--workers", "1", "--n", "100",
               "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["n_sims"] == 200 and 0 <= out["power"] <= 1
    rc = main(["design", "power", "--sims", "100", "--workers", "1", "--analysis", "cox", "--covariate",
               "sdq_total_0", "--grid", "n_participants=100,200", "--out", str(tmp_path / "curve")])
    assert rc == 0
    assert (tmp_path / "curve" / "power_curve.png").exists()
    assert len(pd.read_csv(tmp_path / "curve" / "power_curve.csv")) == 2
    assert main(["design", "power", "--analysis", "probit", "--workers", "1"]) == 2
