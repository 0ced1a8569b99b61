"""REDCap data dictionary export and import."""

from __future__ import annotations

import csv
import io

import pytest

from securebase.errors import ProtocolError
from securebase.instruments import list_instruments, load_instrument, score
from securebase.interop.redcap_dictionary import COLUMNS, export_dictionary, import_dictionary

BUILTINS = [i.name for i in list_instruments()]


@pytest.mark.parametrize("name", BUILTINS)
def test_round_trip_gives_back_the_same_definition(name: str) -> None:
    inst = load_instrument(name)
    text = export_dictionary([inst])
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == COLUMNS and len(COLUMNS) == 18
    # REDCap takes the first field as the record id, so the dictionary opens with one; then the items
    assert rows[0]["Variable / Field Name"] == "record_id" and rows[0]["Field Type"] == "text"
    assert len(rows) == len(inst.items) + 1
    assert all(r["Form Name"] == name for r in rows)
    (back,) = import_dictionary(text)
    assert back == inst


def test_all_builtins_in_one_dictionary(tmp_path) -> None:
    path = tmp_path / "dictionary.csv"
    path.write_text(export_dictionary(list_instruments()))
    back = import_dictionary(path)
    assert back == list_instruments()


def test_wording_is_exported_only_when_asked() -> None:
    inst = load_instrument("rpq").with_wording({"1": "Trial team's licensed wording of item 1"})
    plain = export_dictionary([inst])
    assert "licensed wording" not in plain
    assert import_dictionary(plain)[0] == inst.without_wording()
    full = export_dictionary([inst], include_wording=True)
    assert "licensed wording" in full
    assert import_dictionary(full)[0] == inst


def test_edits_made_in_redcap_win_for_standard_columns() -> None:
    inst = load_instrument("eq5d_3l")
    text = export_dictionary([inst]).replace(",text,EQ-5D-3L visual analogue scale,,,integer,0,100,",
                                             ",text,EQ-5D-3L visual analogue scale,,,integer,0,10,")
    (back,) = import_dictionary(text)
    assert back.item("vas").maximum == 10
    assert back.scales == inst.scales


def test_plain_redcap_dictionary_without_annotations() -> None:
    rows = [
        {"Variable / Field Name": "record_id", "Form Name": "mood", "Field Type": "text", "Field Label": "Record ID"},
        {"Variable / Field Name": "mood_1", "Form Name": "mood", "Field Type": "radio",
         "Field Label": "Mood today", "Choices, Calculations, OR Slider Labels": "0, Low | 1, OK | 2, High"},
        {"Variable / Field Name": "mood_visits", "Form Name": "mood", "Field Type": "text",
         "Field Label": "Visits", "Text Validation Type OR Show Slider Number": "integer",
         "Text Validation Min": "0", "Text Validation Max": "20"},
        {"Variable / Field Name": "mood_seen", "Form Name": "mood", "Field Type": "yesno", "Field Label": "Seen"},
        {"Variable / Field Name": "mood_note", "Form Name": "mood", "Field Type": "descriptive",
         "Field Label": "Intro"},
        {"Variable / Field Name": "mood_date", "Form Name": "mood", "Field Type": "text", "Field Label": "Date",
         "Text Validation Type OR Show Slider Number": "date_ymd"},
    ]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(COLUMNS))
    w.writeheader()
    for r in rows:
        w.writerow({c: r.get(c, "") for c in COLUMNS})
    (inst,) = import_dictionary(buf.getvalue(), respondent="child", construct="mood")
    assert inst.name == "mood" and inst.respondent == "child" and not inst.scales
    assert [i.code for i in inst.items] == ["1", "visits", "seen", "date"]
    assert inst.item("1").response_type == "ordinal" and inst.item("1").allowed == (0, 1, 2)
    assert inst.item("visits").maximum == 20
    assert inst.item("date").response_type == "date"
    assert score(inst, {"1": 2}) == {}


def test_bad_dictionaries_are_refused_with_a_located_message() -> None:
    with pytest.raises(ProtocolError, match="not a REDCap data dictionary"):
        import_dictionary("a,b\n1,2\n")
    header = ",".join(f'"{c}"' for c in COLUMNS)
    with pytest.raises(ProtocolError, match="not a REDCap field type"):
        import_dictionary(header + "\nrecord_id,x,,text,Record,,,,,,,,,,,,,\nx_1,x,,tickbox,Pick,\"1, A | 2, B\",,,,,,,,,,,,\n")
    # a checkbox is one yes/no item per choice, named as REDCap names its export columns
    (inst,) = import_dictionary(header + "\nrecord_id,x,,text,Record,,,,,,,,,,,,,\nx_1,x,,checkbox,Pick,\"1, A | 2, B\",,,,,,,,,,,,\n")
    assert [i.code for i in inst.items] == ["1___1", "1___2"]


def test_export_refuses_what_redcap_cannot_hold() -> None:
    from securebase.instruments import parse_instrument

    base = "name: x\nversion: '1'\ntitle: X\nlabel: X\nconstruct: c\nrespondent: carer\nitems:\n"
    clash = parse_instrument(base + "  - {code: a-b, response_type: free_text}\n"
                             "  - {code: a_b, response_type: free_text}\n")
    with pytest.raises(ProtocolError, match="both become"):
        export_dictionary([clash])
    comma = parse_instrument(base + "  - {code: q, response_type: category, allowed: ['a,b', c]}\n")
    with pytest.raises(ProtocolError, match="cannot be written"):
        export_dictionary([comma])
