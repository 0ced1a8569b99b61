"""REDCap: a trial exported as a REDCap project and imported back loses nothing; flat projects import too."""

from __future__ import annotations

import csv
import io

from interop_compare import assert_same, snapshot
from interop_synth import add_edge_responses, build_trial

from securebase.instruments import load_instrument
from securebase.interop.redcap_dictionary import export_dictionary, import_dictionary
from securebase.interop.redcap_import import import_redcap
from securebase.interop.redcap_records import write_redcap
from securebase.trial.roles import Actor, Role

ADMIN = Actor("admin", "ng26-care", frozenset({Role.administrator}))


def test_redcap_round_trip_loses_nothing(care_trial, fresh_care, tmp_path) -> None:  # type: ignore[no-untyped-def]
    counts = build_trial(care_trial, n=3)
    out = write_redcap(care_trial, ADMIN, tmp_path / "redcap")
    dic, recs = out.files[0], out.files[1]
    rows = list(csv.DictReader(recs.open()))
    assert rows[0]["record_id"] == "CARE-0001" and rows[0]["redcap_event_name"] == "enrolment_arm_1" and rows[0]["redcap_data_access_group"] == "la01"
    assert any(r["record_id"] == "CARE-0002--2" for r in rows)  # the double data entry
    assert {"-99", "-98", "-97"} <= {v for r in rows for v in r.values()}
    # the instrument forms read back as the same definitions through the dictionary module
    lines = [ln for ln in dic.read_text().splitlines(keepends=True) if "@SECUREBASE-FIELD=" not in ln]
    back = {i.name: i for i in import_dictionary("".join(lines))}
    assert back["sdq_parent"] == load_instrument("sdq_parent") and back["eq5d_5l"] == load_instrument("eq5d_5l")
    target = fresh_care("sqlite")
    result = import_redcap(target, ADMIN, dic, recs)
    assert result.records == 3 and result.responses == counts["responses"] and not result.warnings
    rows_ = assert_same(care_trial, target, ignore=("responses.entered_by",))
    assert {r["entered_by"] for r in snapshot(target)["responses"]} == {"admin"}  # the importing user
    assert rows_["responses"] == counts["responses"] and rows_["scores"] == counts["scores"]
    assert rows_["events"] == counts["events"] and rows_["allocations"] == 3
    assert rows_["resource_use"] == counts["resource_use"] > 0 and rows_["intervention_sessions"] == counts["sessions"] > 0
    codes = {r["missing_code"] for r in snapshot(target)["responses"]}
    assert codes == {None, "not_answered", "not_applicable", "refused"}
    # what one REDCap field cannot hold is reported, not silently dropped
    add_edge_responses(care_trial)
    warned = write_redcap(care_trial, ADMIN, tmp_path / "redcap2").warnings
    assert len(warned) == 2 and "REDCap keeps the code" in warned[0] and "blank REDCap field" in warned[1]


def test_flat_project_made_in_redcap(fresh_care, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A flat REDCap project without securebase annotations: participant fields, SDQ items, missing codes."""
    target = fresh_care("sqlite")
    sdq = load_instrument("sdq_parent")
    header = export_dictionary([]).strip()
    extra = ["record_id,participant,,text,Record ID,,,,,,,,,,,,,",
             "participant_site_code,participant,,text,Site,,,,,,,,,,,,,",
             "participant_enrolled_on,participant,,text,Enrolled,,,date_ymd,,,,,,,,,,",
             "participant_age_years,participant,,text,Age,,,number,,,,,,,,,,",
             "participant_age_band,participant,,text,Age band,,,,,,,,,,,,,"]
    # strip our annotations so the form looks like one built in REDCap
    rows = list(csv.DictReader(io.StringIO(export_dictionary([sdq], record_id=None))))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writerows({**r, "Field Annotation": ""} for r in rows)
    (tmp_path / "dict.csv").write_text("\n".join([header] + extra) + "\n" + buf.getvalue())
    answers = {f"sdq_parent_{i}": str(i % 3) for i in range(1, 26)}
    answers["sdq_parent_7"] = "-99"
    answers["sdq_parent_12"] = "-97"
    fields = ["record_id", "participant_site_code", "participant_enrolled_on", "participant_age_years",
              "participant_age_band", *answers]
    with (tmp_path / "recs.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        w.writerow({"record_id": "CARE-0100", "participant_site_code": "LA02", "participant_enrolled_on": "2026-03-01",
                    "participant_age_years": "8.5", "participant_age_band": "5-10", **answers})
    result = import_redcap(target, ADMIN, tmp_path / "dict.csv", tmp_path / "recs.csv", flat_visit="baseline")
    assert result.records == 1 and result.responses == 25 and result.missing_codes == 2
    snap = snapshot(target)
    by_item = {r["item"]: r for r in snap["responses"]}
    assert by_item["7"]["missing_code"] == "not_answered" and by_item["7"]["value"] is None
    assert by_item["12"]["missing_code"] == "refused" and by_item["1"]["value"] == "1"
    assert snap["visits"][0]["visit_id"] == "baseline" and snap["visits"][0]["due_on"] == "2026-03-01"
    scores = {s["scale"]: s for s in snap["scores"]}
    assert scores["total"]["value"] is not None  # scored by the instrument's own rules (>= 3 of 5 items per subscale)
