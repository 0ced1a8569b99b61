"""The `securebase instruments` commands."""

from __future__ import annotations

import csv
from pathlib import Path

from securebase.cli import main

DATA = Path(__file__).parent / "data"


def test_list_and_show(capsys) -> None:
    assert main(["instruments", "list"]) == 0
    out = capsys.readouterr().out
    assert "sdq_parent" in out and "maltreatment_record" in out
    assert main(["instruments", "show", "sdq_teacher"]) == 0
    out = capsys.readouterr().out
    assert "prorated_sum" in out and "very high" in out
    assert main(["instruments", "show", "kerns", "--yaml"]) == 0
    assert "name: kerns" in capsys.readouterr().out
    assert main(["instruments", "show", "nope"]) == 3
    assert "no instrument named" in capsys.readouterr().err


def test_score_writes_scores_csv(tmp_path: Path) -> None:
    responses = tmp_path / "sdq.csv"
    rows = [{"participant_id": "CARE-001", "visit": "baseline", **{str(i): 1 for i in range(1, 26)}, "overall": 0},
            {"participant_id": "CARE-002", "visit": "baseline", "3": 2, "8": 2, "13": 2, "overall": ""}]
    cols = ["participant_id", "visit"] + [str(i) for i in range(1, 26)] + ["overall"]
    with responses.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)
    out = tmp_path / "scores.csv"
    assert main(["instruments", "score", "sdq_parent", "--responses", str(responses), "--output", str(out)]) == 0
    got = list(csv.DictReader(out.open()))
    assert got[0]["participant_id"] == "CARE-001" and got[0]["total"] == "20" and got[0]["total_band"] == "very high"
    assert got[1]["emotional"] == "10" and got[1]["total"] == "" and got[1]["conduct_missing_reason"]


def test_score_refuses_the_whole_file_on_any_bad_row(tmp_path: Path, capsys) -> None:
    responses = tmp_path / "bad.csv"
    responses.write_text("participant_id,visit,7,8\nCARE-014,6 months,3,1\nCARE-015,6 months,1,5\n")
    out = tmp_path / "scores.csv"
    code = main(["instruments", "score", "sdq_parent", "-r", str(responses), "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert 'SDQ item 7 must be 0, 1 or 2 (got 3) in visit "6 months" for participant CARE-014' in err
    assert "CARE-015" in err


def test_score_with_a_value_set_file(tmp_path: Path) -> None:
    dims = ["worried", "sad", "pain", "tired", "annoyed", "schoolwork", "sleep", "daily_routine", "activities"]
    responses = tmp_path / "chu.csv"
    responses.write_text("participant_id," + ",".join(dims) + "\nCARE-001," + ",".join(["2"] * 9) + "\n")
    out = tmp_path / "scores.csv"
    assert main(["instruments", "score", "chu9d", "-r", str(responses), "-o", str(out),
                 "--value-set", str(DATA / "MADE_UP_chu9d_tariff_NOT_REAL.csv")]) == 0
    got = list(csv.DictReader(out.open()))
    assert abs(float(got[0]["utility"]) - (1 - 0.01 * sum(range(1, 10)))) < 1e-12


def test_redcap_export_then_import(tmp_path: Path) -> None:
    dictionary = tmp_path / "dd.csv"
    assert main(["instruments", "redcap-export", "sdq_parent", "eq5d_3l", "-o", str(dictionary)]) == 0
    assert main(["instruments", "redcap-import", str(dictionary), "-o", str(tmp_path / "defs")]) == 0
    files = sorted(p.name for p in (tmp_path / "defs").iterdir())
    assert files == ["eq5d_3l-2026.1.yaml", "sdq_parent-2026.1.yaml"]
    assert main(["instruments", "show", "sdq_parent", "-f", str(tmp_path / "defs" / "sdq_parent-2026.1.yaml")]) == 0


def test_redcap_export_with_wording_file(tmp_path: Path) -> None:
    wording = tmp_path / "wording.csv"
    wording.write_text("instrument,item,wording\nrpq,1,Our licensed text for item one\n")
    dictionary = tmp_path / "dd.csv"
    assert main(["instruments", "redcap-export", "rpq", "-o", str(dictionary), "--wording", str(wording)]) == 0
    assert "Our licensed text" not in dictionary.read_text()
    assert main(["instruments", "redcap-export", "rpq", "-o", str(dictionary), "--wording", str(wording),
                 "--include-wording"]) == 0
    assert "Our licensed text" in dictionary.read_text()
