"""Transcript files: encodings detected (never guessed), Word .docx and WebVTT, pseudonymisation terms."""

from __future__ import annotations

import io

import pytest

from securebase.errors import DataError, FieldError
from securebase.qualitative.pseudonymise import parse_user_terms, pseudonymise, terms_from_identifiers
from securebase.qualitative.readers import read_bytes, read_transcript

TEXT = "Interviewer: How was Zoë's week?\r\nCarer: Calmer. She said “thank you” twice.\r\n"


@pytest.mark.parametrize("data, encoding", [
    (TEXT.encode("utf-8"), "utf-8"),
    (b"\xef\xbb\xbf" + TEXT.encode("utf-8"), "utf-8-sig"),
    (b"\xff\xfe" + TEXT.encode("utf-16-le"), "utf-16-le"),
    (b"\xfe\xff" + TEXT.encode("utf-16-be"), "utf-16-be"),
])
def test_known_encodings_read_to_the_same_text(data: bytes, encoding: str) -> None:
    r = read_bytes(data, "t.txt", "text")
    assert r.encoding == encoding
    assert r.text == TEXT.replace("\r\n", "\n") and "\r" not in r.text


@pytest.mark.parametrize("data, fragment", [
    (TEXT.encode("latin-1", errors="replace"), "is in an unknown encoding: byte 0xeb at offset 23"),
    (TEXT.encode("utf-16-le"), "looks like UTF-16 or UTF-32 without a BOM"),
    (b"\xff\xfe\x00\x00" + TEXT.encode("utf-32-le"), "is UTF-32"),
])
def test_unknown_encodings_refused_naming_the_file(data: bytes, fragment: str) -> None:
    with pytest.raises(DataError) as err:
        read_bytes(data, "carer-interview-07.txt", "text")
    assert "file 'carer-interview-07.txt'" in str(err.value) and fragment in str(err.value)
    assert "UTF-8" in str(err.value)


def test_docx_paragraphs_and_tables(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from docx import Document

    doc = Document()
    doc.add_paragraph("Interviewer: What changed?")
    doc.add_paragraph("Carer: He lets me comfort him now.")
    table = doc.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Note"
    table.rows[0].cells[1].text = "pause"
    path = tmp_path / "int.docx"
    doc.save(path)
    r = read_transcript(path)
    assert r.source_format == "docx"
    assert r.text == "Interviewer: What changed?\nCarer: He lets me comfort him now.\nNote | pause"
    with pytest.raises(DataError, match="not a readable Word .docx"):
        read_bytes(b"not a zip", "broken.docx", "docx")


def test_webvtt_cues_voices_and_notes() -> None:
    vtt = ("WEBVTT - interview 3\n\nNOTE recorded on a test device\n\n1\n00:00:01.000 --> 00:00:04.000\n"
           "<v Interviewer>How are mornings?</v>\n\n00:00:04.500 --> 00:00:09.000 align:start\n"
           "<v Carer>Better. We have a <i>plan</i> now &amp; it works.\n\n"
           "STYLE\n::cue { color: red }\n")
    r = read_bytes(io.BytesIO(vtt.encode()).getvalue(), "int.vtt", "vtt")
    assert r.text == "Interviewer: How are mornings?\nCarer: Better. We have a plan now & it works."
    with pytest.raises(DataError, match="not WebVTT"):
        read_bytes(b"1\n00:00:01.000 --> 00:00:02.000\nhi", "x.vtt", "vtt")
    with pytest.raises(DataError, match="has no timing line"):
        read_bytes(b"WEBVTT\n\n1\nhello", "x.vtt", "vtt")


def test_unknown_format_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a.rtf").write_text("x")
    with pytest.raises(FieldError, match="format must be one of text"):
        read_transcript(tmp_path / "a.rtf")


def test_pseudonymise_terms_and_counts() -> None:
    terms = terms_from_identifiers({"child_name": "Ellie Marsh", "carer_name": "Janet Marsh",
                                    "address": "4 Quarry Lane, Ashby Fold", "date_of_birth": "2017-03-01"})
    assert terms["Ellie"] == "CHILD" and terms["Ashby Fold"] == "PLACE" and "2017-03-01" not in terms
    text = "Ellie Marsh lives on Quarry Lane? No: 4 Quarry Lane, Ashby Fold. ellie smiled; Janet agreed. Ellies"
    res = pseudonymise(text, {"record": terms, "user": parse_user_terms(["Quarry Lane=PLACE"])})
    assert res.text == "[CHILD] lives on [PLACE]? No: [PLACE]. [CHILD] smiled; [CARER] agreed. Ellies"
    assert res.counts == {"CHILD": 2, "PLACE": 2, "CARER": 1} and res.sources == {"record": 4, "user": 1}
    assert "Ellie" not in res.summary() and "Ellie" not in str(res.to_dict())
    with pytest.raises(FieldError, match="pseudonymisation tag must be upper-case"):
        parse_user_terms(["Leeds=place!"])
