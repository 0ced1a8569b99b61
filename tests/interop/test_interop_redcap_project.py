"""REDCap projects as REDCap itself names and exports them: unique event and group names, consistent project
files, and a project written in REDCap's raw export shape that imports and exports back with the same values."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

from interop_compare import snapshot

from securebase.instruments import load_instrument
from securebase.interop.redcap_dictionary import export_dictionary, variable_name
from securebase.interop.redcap_import import import_redcap
from securebase.interop.redcap_names import unique_event_name, unique_event_names, unique_group_names
from securebase.interop.redcap_records import write_redcap
from securebase.trial.roles import Actor, Role

ADMIN = Actor("admin", "ng26-care", frozenset({Role.administrator}))


def test_unique_names_are_derived_as_redcap_derives_them() -> None:
    assert unique_event_name("6 months") == "6_months_arm_1"
    assert unique_event_name("12 months") == "12_months_arm_1"
    # REDCapR's test project (REDCap's own output): 18 characters, arm appended
    assert unique_event_name("Deadline to opt out of study", 2) == "deadline_to_opt_ou_arm_2"
    assert unique_event_name("Deadline to return feedback", 2) == "deadline_to_return_arm_2"
    assert unique_event_name("Dose 1") == "dose_1_arm_1"
    # non-alphanumerics are removed (not turned into underscores), end underscores dropped
    assert unique_event_name("Follow-up (6 m.)") == "followup_6_m_arm_1"
    assert unique_event_name(" _Visit_ ") == "visit_arm_1"
    assert unique_event_name("Caf&eacute; visit") == "caf_visit_arm_1"
    # nothing left: the first 10 hex digits of the MD5 of the label
    assert unique_event_name("随访") == hashlib.md5("随访".encode()).hexdigest()[:10] + "_arm_1"
    # the same name twice in one arm: b, c... appended; another arm is another name
    assert unique_event_names([("Visit", 1), ("Visit!", 1), ("Visit", 2), ("visit", 1)]) == [
        "visit_arm_1", "visit_arm_1b", "visit_arm_2", "visit_arm_1c"]
    assert unique_group_names(["Eastborough Children's Services", "Northshire County Council", "LA01", "la01"]) == [
        "eastborough_childr", "northshire_county", "la01", "la01b"]


def _read(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.open(encoding="utf-8")))


def _redcap_made_project(tmp: Path) -> tuple[Path, Path, list[dict[str, str]]]:
    """A project built in REDCap (no securebase annotations) and its raw records export, as REDCap writes it."""
    sdq = load_instrument("sdq_parent")
    header = export_dictionary([]).strip()
    first = ["record_id,participant,,text,Record ID,,,,,,,,,,,,,",
             "participant_enrolled_on,participant,,text,Enrolled,,,date_ymd,,,,,,,,,,",
             "participant_age_years,participant,,text,Age,,,number,,,,,,,,,,",
             "participant_age_band,participant,,dropdown,Age band,\"5-10, 5-10 | 11-17, 11-17\",,,,,,,,,,,,"]
    event_rows = [f"{variable_name('event', c)},event,,text,{c},,,{v},,,,,,,,,,"
                  for c, v in (("event_type", ""), ("occurred_on", "date_ymd"), ("details", ""), ("recorded_by", ""))]
    rows = list(csv.DictReader(io.StringIO(export_dictionary([sdq], record_id=None))))
    buf = io.StringIO()
    csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n").writerows(
        {**r, "Field Annotation": ""} for r in rows)
    dic = tmp / "CareProject_DataDictionary_2026-12-02.csv"
    dic.write_text("\n".join([header, *first]) + "\n" + buf.getvalue() + "\n".join(event_rows) + "\n", encoding="utf-8")
    items = [variable_name("sdq_parent", it.code) for it in sdq.items]
    fields = ["record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance",
              "redcap_data_access_group", "participant_enrolled_on", "participant_age_years", "participant_age_band",
              "participant_complete", *items, "sdq_parent_complete",
              *[variable_name("event", c) for c in ("event_type", "occurred_on", "details", "recorded_by")],
              "event_complete"]
    recs: list[dict[str, str]] = []

    def row(rid: str, event: str, dag: str, **values: str) -> None:
        recs.append({**dict.fromkeys(fields, ""), "record_id": rid, "redcap_event_name": event,
                     "redcap_data_access_group": dag, **values})

    for k, (rid, dag) in enumerate((("CARE-0201", "la01"), ("CARE-0202", "eastborough_childr"))):
        row(rid, "enrolment_arm_1", dag, participant_enrolled_on=f"2026-0{k + 2}-01", participant_age_years="9.5",
            participant_age_band="5-10", participant_complete="2")
        for event, shift in (("baseline_arm_1", 0), ("6_months_arm_1", 1)):
            answers = {v: str((i + k + shift) % 3) for i, v in enumerate(items)}
            answers[items[6]] = "-99"
            row(rid, event, dag, **answers, sdq_parent_complete="2")
        for inst, (etype, day) in enumerate((("school_suspension", "2026-05-04"), ("return_home", "2026-07-01")), 1):
            row(rid, "trial_events_arm_1", dag, redcap_repeat_instrument="event", redcap_repeat_instance=str(inst),
                event_complete="2", **{variable_name("event", "event_type"): etype,
                                       variable_name("event", "occurred_on"): day,
                                       variable_name("event", "details"): f"{{\"note\": \"{inst}\"}}",
                                       variable_name("event", "recorded_by"): "coordinator1"})
    path = tmp / "CareProject_DATA_2026-12-02_1200.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(recs)
    return dic, path, recs


def test_redcap_made_project_imports_and_exports_back(fresh_care, tmp_path) -> None:  # type: ignore[no-untyped-def]
    dic, recs_path, given = _redcap_made_project(tmp_path)
    target = fresh_care("sqlite")
    result = import_redcap(target, ADMIN, dic, recs_path)
    assert result.records == 2 and result.visits == 4 and result.events == 4 and result.missing_codes == 4
    snap = snapshot(target)
    assert {p["participant_id"]: p["site_code"] for p in snap["participants"]} == {"CARE-0201": "LA01",
                                                                                  "CARE-0202": "LA02"}
    assert sorted(v["visit_id"] for v in snap["visits"]) == ["baseline", "baseline", "m6", "m6"]

    out = write_redcap(target, ADMIN, tmp_path / "back")
    dic_b, recs_b, events_f, designations, repeating, _codes, dags = out.files
    back = _read(recs_b)
    # the same values, row by row (record, event, repeat instrument, instance), for every field REDCap gave
    key = ("record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance")
    by_key = {tuple(r[k] for k in key): r for r in back}
    for r in given:
        got = by_key[tuple(r[k] for k in key)]
        for f, value in r.items():
            if f.endswith("_complete") or f == "redcap_data_access_group" or not value:
                continue
            assert got[f] == value, (r["record_id"], r["redcap_event_name"], f)
    assert {r["redcap_data_access_group"] for r in back if r["record_id"] == "CARE-0201"} == {"la01"}
    assert {r["redcap_data_access_group"] for r in back if r["record_id"] == "CARE-0202"} == {"la02"}

    # the project files agree with one another, with the names REDCap derives from the event labels
    events = _read(events_f)
    assert [(e["event_name"], e["unique_event_name"], e["custom_event_label"]) for e in events] == [
        ("Enrolment", "enrolment_arm_1", ""), ("Baseline", "baseline_arm_1", "securebase visit baseline"),
        ("6 months", "6_months_arm_1", "securebase visit m6"), ("12 months", "12_months_arm_1", "securebase visit m12"),
        ("Trial events", "trial_events_arm_1", "")]
    assert all(e["unique_event_name"] == unique_event_name(e["event_name"], int(e["arm_num"])) for e in events)
    assert [(e["day_offset"], e["offset_min"], e["offset_max"]) for e in events][2] == ("183", "28", "28")
    names = {e["unique_event_name"] for e in events}
    form_of = {d["Variable / Field Name"]: d["Form Name"] for d in _read(dic_b)}
    assert next(iter(form_of)) == "record_id"  # REDCap takes the first field as the record id
    designated = {(d["unique_event_name"], d["form"]) for d in _read(designations)}
    assert {e for e, _f in designated} <= names
    repeats = {(r["event_name"], r["form_name"]) for r in _read(repeating)}
    assert repeats <= designated and ("trial_events_arm_1", "event") in repeats
    for r in back:
        assert r["redcap_event_name"] in names
        filled = {form_of[f] for f, v in r.items() if v and f in form_of and f != "record_id"}
        assert {(r["redcap_event_name"], form) for form in filled} <= designated, r["redcap_event_name"]
        if r["redcap_repeat_instrument"]:
            assert (r["redcap_event_name"], r["redcap_repeat_instrument"]) in repeats
    assert {d["unique_group_name"] for d in _read(dags)} == {"la01", "la02", "la03", "la04"}
    assert {r["redcap_data_access_group"] for r in back} <= {d["unique_group_name"] for d in _read(dags)}
