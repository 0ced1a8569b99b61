"""ODM against the official CDISC schema and other systems' files.

Our exports validate against the official ODM 1.3.2 schema (shipped unmodified); public third-party files
that the schema accepts are read: a file without subject data is refused with that reason, another system's
clinical data are refused with the way to map them, or imported through a mapping file; values are checked
item by item and scores recomputed, never taken from the file.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from interop_synth import build_trial
from lxml import etree
from sqlalchemy import func, select

from securebase.errors import DataError, ResponseError
from securebase.interop.odm_common import NS, schema, validate
from securebase.interop.odm_export import write_odm
from securebase.interop.odm_import import import_odm
from securebase.store.tables import AuditRecord, Response, Score
from securebase.trial.roles import Actor, Role

FILES = Path(__file__).with_name("files") / "odm-third-party"
ADMIN = Actor("admin", "ng26-care", frozenset({Role.administrator}))
VALID = sorted(p for p in FILES.glob("*.xml") if "invalid" not in p.name)
NO_SUBJECTS = [p for p in VALID if b"<SubjectData" not in p.read_bytes()]
OTHER_CLINICAL = [p for p in VALID if b"<SubjectData" in p.read_bytes()]


def _audit_rows(store) -> int:  # type: ignore[no-untyped-def]
    with store.read() as s:
        return s.execute(select(func.count()).select_from(AuditRecord)).scalar_one()


def test_the_shipped_schema_is_the_official_one_and_accepts_public_files() -> None:
    folder = Path(__file__).parents[2] / "src/securebase/interop/schema/cdisc-odm-1.3.2"
    assert {p.name for p in folder.iterdir()} >= {"ODM1-3-2.xsd", "ODM1-3-2-foundation.xsd", "xml.xsd",
                                                  "xmldsig-core-schema.xsd", "LICENSE"}
    assert "MIT License" in (folder / "LICENSE").read_text()
    assert len(VALID) == 6 and len(NO_SUBJECTS) == 4 and len(OTHER_CLINICAL) == 2
    for path in VALID:  # files using LocationRef-free metadata, ReferenceData, MethodDef etc. all pass
        validate(etree.parse(str(path)), path.name)


def test_an_invalid_public_file_is_refused_with_line_and_reason() -> None:
    bad = FILES / "cdisc-invalid-Hypercholesterolemia_CRF_1_3_2.xml"
    with pytest.raises(DataError, match=r"does not validate against the ODM 1.3.2 schema: line 13: .*ItemGroupRef"):
        validate(etree.parse(str(bad)), bad.name)


def test_every_export_validates_against_the_official_schema(care_trial, tmp_path) -> None:  # type: ignore[no-untyped-def]
    build_trial(care_trial, n=3)
    for actor in (ADMIN, Actor("stat1", "ng26-care", frozenset({Role.blinded_statistician}))):
        for audit in (True, False):
            out = write_odm(care_trial, actor, tmp_path / f"{actor.username}-{audit}.xml", include_audit=audit)
            doc = etree.parse(str(out.path))
            assert schema().validate(doc), schema().error_log
            assert doc.getroot().get("Archival") is None  # the official schema allows only "Yes"


@pytest.mark.parametrize("path", NO_SUBJECTS, ids=lambda p: p.name)
def test_a_file_without_subject_data_is_refused_and_nothing_is_written(fresh_care, path) -> None:  # type: ignore[no-untyped-def]
    target = fresh_care("sqlite")
    before = _audit_rows(target)
    with pytest.raises(DataError, match="holds no subject data .*nothing to import"):
        import_odm(target, ADMIN, path)
    assert _audit_rows(target) == before


@pytest.mark.parametrize("path", OTHER_CLINICAL, ids=lambda p: p.name)
def test_another_systems_clinical_data_are_refused_with_the_way_to_map_them(fresh_care, path) -> None:  # type: ignore[no-untyped-def]
    target = fresh_care("sqlite")
    with pytest.raises(DataError, match=r"valid ODM 1.3.2 but not a securebase export: .*--mapping MAP.yaml") as err:
        import_odm(target, ADMIN, path)
    assert "not valid" not in str(err.value) and "SE." in str(err.value) or "Screen" in str(err.value)


def test_a_doctype_is_refused_by_name(fresh_care, tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "doctype.xml"
    f.write_text('<?xml version="1.0"?><!DOCTYPE ODM [<!ENTITY a "aaaa">]>'
                 f'<ODM xmlns="{NS}" FileOID="x" FileType="Snapshot" CreationDateTime="2026-01-01T00:00:00"/>')
    with pytest.raises(DataError, match="DOCTYPE declaration"):
        import_odm(fresh_care("sqlite"), ADMIN, f)


def _foreign_file(path: Path, values: dict[str, str], subject: str = "SS_0001") -> Path:
    """An ODM file in another EDC's own OIDs (as OpenClinica-style exports name them)."""
    items = "".join(f'<ItemData ItemOID="I_RPQ_{k}" Value="{v}"/>' for k, v in values.items())
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?><ODM xmlns="{NS}" FileOID="F.EXT.1" FileType="Snapshot" '
        'ODMVersion="1.3.2" CreationDateTime="2026-11-01T10:00:00">'
        '<ClinicalData StudyOID="S_NG26" MetaDataVersionOID="v1.0.0">'
        f'<SubjectData SubjectKey="{subject}"><StudyEventData StudyEventOID="SE_MONTH6">'
        '<FormData FormOID="F_RPQ_V1"><ItemGroupData ItemGroupOID="IG_RPQ">'
        f'{items}<ItemData ItemOID="I_RPQ_COMMENT" Value="fine"/></ItemGroupData></FormData></StudyEventData>'
        '<StudyEventData StudyEventOID="SE_SCREEN"><FormData FormOID="F_DEM"><ItemGroupData ItemGroupOID="IG_DEM">'
        '<ItemData ItemOID="I_DEM_SEX" Value="F"/></ItemGroupData></FormData></StudyEventData>'
        '</SubjectData></ClinicalData></ODM>')
    validate(etree.parse(str(path)), path.name)
    return path


def _mapping(path: Path) -> Path:
    items = "\n".join(f'  I_RPQ_{k}: {{instrument: rpq, item: "{k}"}}' for k in range(1, 11))
    path.write_text(f'subjects: {{SS_0001: CARE-0002}}\nstudy_events: {{SE_MONTH6: m6}}\nitems:\n{items}\n')
    return path


def test_another_systems_answers_import_through_a_mapping(care_trial, tmp_path) -> None:  # type: ignore[no-untyped-def]
    build_trial(care_trial, n=3)
    answers = {str(k): str(k % 4) for k in range(1, 11)}
    src = _foreign_file(tmp_path / "ext.xml", answers)
    result = import_odm(care_trial, ADMIN, src, mapping=_mapping(tmp_path / "map.yaml"))
    assert (result.subjects, result.forms, result.responses, result.scored_forms) == (1, 1, 10, 1)
    assert result.unmapped_events == {"SE_SCREEN": 1} and result.unmapped_items == {"I_RPQ_COMMENT": 1}
    assert "I_RPQ_COMMENT (1)" in result.summary() and "SE_SCREEN (1 items)" in result.summary()
    with care_trial.read() as s:
        rows = s.execute(select(Response.item, Response.value, Response.entered_by)
                         .where(Response.instrument == "rpq")).all()
        total = s.execute(select(Score.value).where(Score.instrument == "rpq", Score.scale == "total")).scalars().all()
    assert sorted(rows) == sorted((k, v, "admin") for k, v in answers.items())
    assert total == [float(sum(int(v) for v in answers.values()))]  # recomputed by the instrument's own rule


def test_a_mapped_value_outside_the_items_range_is_refused_and_nothing_is_written(care_trial, tmp_path) -> None:  # type: ignore[no-untyped-def]
    build_trial(care_trial, n=3)
    before = _audit_rows(care_trial)
    src = _foreign_file(tmp_path / "ext.xml", {**{str(k): "1" for k in range(1, 11)}, "4": "banana"})
    with pytest.raises(ResponseError, match=r"item 4 .*banana"):
        import_odm(care_trial, ADMIN, src, mapping=_mapping(tmp_path / "map.yaml"))
    assert _audit_rows(care_trial) == before


def test_a_mapping_that_names_nothing_in_the_file_is_refused(care_trial, tmp_path) -> None:  # type: ignore[no-untyped-def]
    src = _foreign_file(tmp_path / "ext.xml", {"1": "1"})
    bad = tmp_path / "map.yaml"
    bad.write_text("study_events: {SE_OTHER: m6}\nitems: {X: {instrument: rpq, item: '1'}}\n")
    with pytest.raises(DataError, match="names none of the file's study events.*SE_MONTH6"):
        import_odm(care_trial, ADMIN, src, mapping=bad)
    bad.write_text("study_events: {SE_MONTH6: m6}\n")
    with pytest.raises(DataError, match="mapping.items"):
        import_odm(care_trial, ADMIN, src, mapping=bad)


def test_a_securebase_file_with_an_altered_value_or_score_is_refused(care_trial, fresh_care, tmp_path) -> None:  # type: ignore[no-untyped-def]
    build_trial(care_trial, n=2)
    out = write_odm(care_trial, ADMIN, tmp_path / "trial.xml")
    text = out.path.read_text()
    doc = etree.fromstring(text.encode())
    ns = {"o": NS}
    item = doc.xpath("//o:ItemGroupData[@ItemGroupOID='GI.sdq_parent']/o:ItemData[@ItemOID='I.sdq_parent.7']",
                     namespaces=ns)[0]
    item.set("Value", "banana")
    (tmp_path / "banana.xml").write_bytes(etree.tostring(doc))
    with pytest.raises(ResponseError, match="banana"):
        import_odm(fresh_care("sqlite"), ADMIN, tmp_path / "banana.xml")
    doc = etree.fromstring(text.encode())
    score = doc.xpath("//o:ItemGroupData[@ItemGroupOID='GS.sdq_parent']/o:ItemData[@ItemOID='SV.sdq_parent.total']",
                      namespaces=ns)[0]
    score.set("Value", str(float(score.get("Value")) + 5))
    (tmp_path / "score.xml").write_bytes(etree.tostring(doc))
    with pytest.raises(DataError, match="total score is .* but its items score"):
        import_odm(fresh_care("sqlite"), ADMIN, tmp_path / "score.xml")
