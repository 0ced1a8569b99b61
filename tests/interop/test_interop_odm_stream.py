"""ODM import as a stream (lxml iterparse, bounded memory): the same result as the whole-file loader, and the
same refusals (schema, DOCTYPE, another system's shape, no subject data), all or nothing."""

from __future__ import annotations

import pytest
from interop_compare import assert_same, snapshot
from interop_synth import build_trial

from securebase.errors import DataError
from securebase.interop.odm_export import write_odm
from securebase.interop.odm_import import import_odm
from securebase.interop.odm_stream import import_odm_stream
from securebase.trial.roles import Actor, Role

ADMIN = Actor("admin", "ng26-care", frozenset({Role.administrator}))


def test_streamed_import_equals_whole_file_import(care_trial, fresh_care, tmp_path) -> None:  # type: ignore[no-untyped-def]
    counts = build_trial(care_trial, n=3)
    out = write_odm(care_trial, ADMIN, tmp_path / "trial.xml")
    whole, streamed = fresh_care("sqlite"), fresh_care("sqlite")
    a = import_odm(whole, ADMIN, out.path, stream=False)
    b = import_odm_stream(streamed, ADMIN, out.path)
    assert a.to_dict() == b.to_dict() and b.subjects == 3 and b.responses == counts["responses"]
    assert b.audit_records == out.audit_records > 0
    assert_same(whole, streamed)
    assert_same(care_trial, streamed, ignore=("responses.entered_by",))
    # import_odm streams on request (and by itself above its size threshold)
    third = fresh_care("sqlite")
    assert import_odm(third, ADMIN, out.path, stream=True).to_dict() == b.to_dict()

    text = out.path.read_text(encoding="utf-8")
    bad = tmp_path / "bad.xml"
    last = text.rindex("</SubjectData>")  # a schema error in the last subject: nothing at all is saved
    bad.write_text(text[:last] + "<Nonsense/>" + text[last:], encoding="utf-8")
    target = fresh_care("sqlite")
    with pytest.raises(DataError, match=r"bad.xml is not valid ODM 1.3.2 .*line \d+.*Nonsense"):
        import_odm_stream(target, ADMIN, bad)
    assert snapshot(target)["participants"] == []
    dtd = tmp_path / "dtd.xml"
    dtd.write_text(text.replace("<ODM ", '<!DOCTYPE ODM [<!ENTITY x "y">]>\n<ODM ', 1), encoding="utf-8")
    with pytest.raises(DataError, match="DOCTYPE"):
        import_odm_stream(target, ADMIN, dtd)
    other = tmp_path / "other.xml"
    other.write_text(text.replace('StudyEventOID="SE.enrolment"', 'StudyEventOID="SE.SCREENING"'), encoding="utf-8")
    with pytest.raises(DataError, match="not a securebase export.*--mapping"):
        import_odm_stream(target, ADMIN, other, check=False)
    empty = tmp_path / "empty.xml"
    start, end = text.index("<ClinicalData"), text.rindex("</ClinicalData>") + len("</ClinicalData>")
    empty.write_text(text[:start] + text[end:], encoding="utf-8")
    with pytest.raises(DataError, match="holds no subject data .*it holds Study"):
        import_odm_stream(target, ADMIN, empty)
    assert snapshot(target)["participants"] == []
