"""REDCap dictionaries as REDCap makes them: 25 real projects' dictionaries import, in both column formats.

Before this change 8 of these 25 were refused (every one for a checkbox). What a dictionary holds that
securebase does not carry over is listed, field by field; identifier fields never become items.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from securebase.errors import ProtocolError
from securebase.interop.redcap_dictionary import checkbox_variable, export_dictionary, read_dictionary

FILES = Path(__file__).with_name("files") / "redcap-dictionaries"
DICTIONARIES = sorted(p for p in FILES.glob("*.csv") if p.name not in ("simple-data.csv",))


@pytest.mark.parametrize("path", DICTIONARIES, ids=lambda p: p.name)
def test_every_real_dictionary_imports(path: Path) -> None:
    read = read_dictionary(path)
    fields = [r for r in csv.DictReader(path.open(encoding="utf-8-sig"))]
    first = next(iter(fields[0].values())) if fields else None
    assert read.record_id == first  # the first field is the record id, not a question
    items = {i.code for inst in read.instruments for i in inst.items}
    assert read.record_id not in items
    assert not set(read.identifiers) & items


def test_checkboxes_become_one_yes_no_item_per_choice_named_as_redcap_exports_them() -> None:
    read = read_dictionary(FILES / "checkboxes-1.csv")
    rows = {r["Variable / Field Name"]: r for r in csv.DictReader((FILES / "checkboxes-1.csv").open())}
    (inst,) = read.instruments
    by_code = {i.code: i for i in inst.items}
    for var, row in rows.items():
        if row["Field Type"] != "checkbox":
            continue
        codes = [c.split(",")[0].strip() for c in row["Choices, Calculations, OR Slider Labels"].split("|")]
        for code in codes:
            item = by_code[checkbox_variable(var, code)]
            assert item.allowed == (1, 0) and item.value_labels == {"1": "Checked", "0": "Unchecked"}
    # the names match the columns REDCap writes in the records export of the same project
    data_header = next(csv.reader((FILES / "simple-data.csv").open()))
    simple = {i.code for inst in read_dictionary(FILES / "simple.csv").instruments for i in inst.items}
    assert {c for c in data_header if "___" in c} <= simple


def test_api_column_names_give_the_same_instruments() -> None:
    display, api = read_dictionary(FILES / "simple.csv"), read_dictionary(FILES / "simple-api-metadata.csv")
    assert [i.name for i in api.instruments] == [i.name for i in display.instruments]
    assert [[i.code for i in x.items] for x in api.instruments] == [[i.code for i in x.items]
                                                                    for x in display.instruments]
    # the two files are two versions of the project: in the later one age became a calculated field
    assert api.calculated["age"] == "rounddown(datediff([dob],'today','y'))" and "age" not in display.calculated
    assert api.calculated["bmi"] == display.calculated["bmi"] == "round(([weight]*10000)/(([height])^(2)),1)"
    assert api.identifiers == display.identifiers == ["name_first", "name_last", "address", "telephone", "email",
                                                      "dob"]


def test_what_is_not_carried_over_is_listed_field_by_field() -> None:
    read = read_dictionary(FILES / "validation-types-1.csv")
    text = "\n".join(read.not_carried)
    assert "f_calculated" in read.calculated and read.calculated["f_calculated"] == "3+4"
    assert "calculated fields imported as given, not recomputed: f_calculated = 3+4" in read.summary()
    for var in [r["Variable / Field Name"] for r in csv.DictReader((FILES / "validation-types-1.csv").open())
                if r["Field Type"] in ("descriptive", "file")]:
        assert f"{var}: " in text
    assert "datetime" in text  # date-time fields kept as text, said so
    simple = read_dictionary(FILES / "simple.csv")
    assert any("branching logic" in x for x in simple.not_carried + read.not_carried) or any(
        "section header" in x for x in simple.not_carried)
    assert all(f"{v}: flagged as an identifier" in "\n".join(simple.not_carried) for v in simple.identifiers)


def test_date_bounds_in_any_redcap_form_and_moving_bounds(tmp_path) -> None:  # type: ignore[no-untyped-def]
    header = export_dictionary([]).strip()
    f = tmp_path / "d.csv"
    f.write_text(header + "\n"
                 "record_id,f,,text,Record,,,,,,,,,,,,,\n"
                 "visit_date,f,,text,Visit,,,date_mdy,1/1/19,today,,,,,,,,\n"
                 "birth,f,,text,Birth,,,date_dmy,31/12/2005,2020-06-30,,,,,,,,\n"
                 "weight,f,,text,Weight,,,number_comma_decimal,\"0,5\",\"150,25\",,,,,,,,\n")
    read = read_dictionary(f)
    items = {i.code: i for i in read.instruments[0].items}
    assert str(items["visit_date"].minimum) == "2019-01-01" and items["visit_date"].maximum is None
    assert (str(items["birth"].minimum), str(items["birth"].maximum)) == ("2005-12-31", "2020-06-30")
    assert (items["weight"].minimum, items["weight"].maximum) == (0.5, 150.25)
    assert any("visit_date: max bound 'today'" in x for x in read.not_carried)
    f.write_text(header + "\nrecord_id,f,,text,Record,,,,,,,,,,,,,\nx,f,,text,X,,,date_ymd,soon,,,,,,,,,\n")
    with pytest.raises(ProtocolError, match="date bound 'soon' is not a date"):
        read_dictionary(f)


def test_a_dictionary_without_its_header_is_refused_by_name(tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "noheader.csv"
    f.write_text("record_id,f,,text,Record,,,,,,,,,,,,,\nage,f,,text,Age,,,integer,0,120,,,,,,,,\n")
    with pytest.raises(ProtocolError, match="not a REDCap data dictionary.*the first line must be the header"):
        read_dictionary(f)


def _flat_project(tmp_path: Path, record_id: str, answers: dict[str, str]) -> tuple[Path, Path]:
    import io

    from securebase.instruments import load_instrument

    header = export_dictionary([]).strip()
    extra = ["record_id,participant,,text,Record ID,,,,,,,,,,,,,",
             "participant_site_code,participant,,text,Site,,,,,,,,,,,,,",
             "participant_enrolled_on,participant,,text,Enrolled,,,date_ymd,,,,,,,,,,",
             "participant_age_years,participant,,text,Age,,,number,,,,,,,,,,",
             "participant_age_band,participant,,text,Age band,,,,,,,,,,,,,",
             "carer_name,participant,,text,Carer's name,,,,,,y,,,,,,,"]
    rows = list(csv.DictReader(io.StringIO(export_dictionary([load_instrument("sdq_parent")], record_id=None))))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writerows({**r, "Field Annotation": ""} for r in rows)
    (tmp_path / "dict.csv").write_text("\n".join([header] + extra) + "\n" + buf.getvalue())
    fields = ["record_id", "participant_site_code", "participant_enrolled_on", "participant_age_years",
              "participant_age_band", "carer_name", *answers]
    with (tmp_path / "recs.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        w.writerow({"record_id": record_id, "participant_site_code": "LA02", "participant_enrolled_on": "2026-03-01",
                    "participant_age_years": "8.5", "participant_age_band": "5-10", "carer_name": "Ada Example",
                    **answers})
    return tmp_path / "dict.csv", tmp_path / "recs.csv"


def test_redcap_records_are_checked_item_by_item_and_ids_by_the_trials_pattern(fresh_care, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from securebase.errors import FieldError, ResponseError
    from securebase.interop.exports import AnalysisExport
    from securebase.interop.redcap_import import import_redcap
    from securebase.trial.roles import Actor, Role

    admin = Actor("admin", "ng26-care", frozenset({Role.administrator}))
    target = fresh_care("sqlite")
    good = {f"sdq_parent_{i}": str(i % 3) for i in range(1, 26)}
    with pytest.raises(ResponseError, match=r"item 4 .*\(got 7\)"):
        import_redcap(target, admin, *_flat_project(tmp_path, "CARE-0100", {**good, "sdq_parent_4": "7"}),
                      flat_visit="baseline")
    with pytest.raises(FieldError, match=r"record id.*such as CARE-0001 \(got .=cmd"):
        import_redcap(target, admin, *_flat_project(tmp_path, "=cmd|' /C calc'!A0 CARE-0001", good),
                      flat_visit="baseline")
    result = import_redcap(target, admin, *_flat_project(tmp_path, "CARE-0100", good), flat_visit="baseline")
    assert result.records == 1 and result.responses == 25
    out = AnalysisExport(formats=("csv", "parquet", "dta")).write(target, admin, tmp_path / "export")
    written = b"".join(p.read_bytes() for p in out.out_dir.rglob("*") if p.is_file())
    assert len(out.files) > 3 and b"Ada Example" not in written and b"carer_name" not in written
    assert any("carer_name" in w for w in result.warnings)


def test_an_export_of_empty_tables_works_and_a_failed_one_leaves_nothing(fresh_care, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    import pandas as pd

    from securebase.interop.exports import AnalysisExport
    from securebase.trial.roles import Actor, Role

    admin = Actor("admin", "ng26-care", frozenset({Role.administrator}))
    empty = fresh_care("sqlite")  # a trial with no participants: every table is empty
    out = AnalysisExport(formats=("csv", "parquet", "dta")).write(empty, admin, tmp_path / "export")
    manifest = json.loads((out.out_dir / "manifest.json").read_text())
    assert set(manifest["files"]) | {"manifest.json"} == {p.name for p in out.out_dir.iterdir()}
    assert all(n == 0 for n in out.rows.values())
    assert pd.read_stata(out.out_dir / "participants.dta").empty
    assert not [p for p in tmp_path.iterdir() if "partial" in p.name]  # the work folder is gone
    with pytest.raises(Exception):  # noqa: B017 - any failure mid-write
        AnalysisExport(formats=("csv",)).write(empty, admin, tmp_path / "missing-parent" / "x" / "\0bad")
    assert not [p for p in tmp_path.rglob("*partial*")]
