"""REFI-QDA .qdpx export validates against the official schema; export-import-export is byte-identical."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from lxml import etree
from qual_synth import KEY, actor, populate

from securebase.errors import ConflictError, DataError, FieldError
from securebase.protocol import load_protocol
from securebase.qualitative import add_memo, apply_code, code_tree, export_qdpx, import_qdpx, segments
from securebase.store import open_store
from securebase.store.tables import Transcript
from securebase.trial.setup import create_trial

XSD = Path(__file__).parents[2] / "src/securebase/qualitative/schema/Project-mrt2019.xsd"


def _code_some(store, ids, cb_id) -> None:  # type: ignore[no-untyped-def]
    q1, q2 = actor(store, "qual1"), actor(store, "qual2")
    with store.unit_of_work(actor="qual1") as uow:
        t1 = uow.session.get(Transcript, ids["CARE-0001"]).text
        t3 = uow.session.get(Transcript, ids["CARE-0003"]).text
        i = t1.index("The video feedback")
        apply_code(uow, q1, cb_id, ids["CARE-0001"], "Video feedback", i, i + 18)
        apply_code(uow, q2, cb_id, ids["CARE-0001"], "Video feedback", i + 4, i + 40)
        apply_code(uow, q1, cb_id, ids["CARE-0001"], "Emotional openness", 120, 160)
        j = t3.index("I felt judged")
        apply_code(uow, q2, cb_id, ids["CARE-0003"], "Support", j, len(t3) - 1)
        support = next(n for n in code_tree(uow, q1, cb_id) if n.name == "Support")
        add_memo(uow, q1, "Support is felt through people, not the programme.", code_id=support.id)
        add_memo(uow, q2, "Judgement, then belonging.", transcript_id=ids["CARE-0003"], code_id=support.id)
        add_memo(uow, q1, "Interview in the kitchen; child present at the start.", transcript_id=ids["CARE-0001"])
        add_memo(uow, q1, "Second-round coding to follow the codebook v1 training.")
        uow.commit()


def _second_store(tmp_path: Path):  # type: ignore[no-untyped-def]
    st = open_store(f"sqlite:///{tmp_path / 'other.db'}")
    with st.unit_of_work(actor="test-setup") as uow:
        create_trial(uow, load_protocol("ng26-care"), seed=1)
        uow.commit()
    populate(st)
    return st


def test_export_validates_and_round_trip_is_identical(qual_trial, tmp_path) -> None:  # type: ignore[no-untyped-def]
    store, ids, cb_id = qual_trial
    _code_some(store, ids, cb_id)
    with store.unit_of_work(actor="qual1") as uow:
        first = export_qdpx(uow, actor(store, "qual1"), cb_id, tmp_path / "a.qdpx")
        uow.commit()
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    with zipfile.ZipFile(first.path) as z:
        qde = z.read("project.qde")
        names = z.namelist()
    assert schema.validate(etree.fromstring(qde)), schema.error_log
    assert qde == first.qde and len(names) == 8 and names[0] == "project.qde"  # 3 sources, 4 memos
    assert (first.sources, first.codes, first.selections, first.notes) == (3, 4, 4, 4)
    root = etree.fromstring(qde)
    ns = {"q": "urn:QDA-XML:project:1.0"}
    assert root.xpath("count(//q:TextSource/q:PlainTextSelection)", namespaces=ns) == 4
    assert b"intervention" not in qde and b"usual_care" not in qde  # never the arm
    # memos as QualCoder's importer (src/qualcoder/refi.py parse_notes) keeps them: a Note a TextSource refers
    # to needs PlainTextContent and a PlainTextSelection (an annotation); any other Note a name and a
    # plainTextPath file (a journal, names unique)
    annotated = set(root.xpath("//q:TextSource/q:NoteRef/@targetGUID", namespaces=ns))
    notes = root.xpath("//q:Notes/q:Note", namespaces=ns)
    assert len(annotated) == 2 and len({n.get("name") for n in notes}) == len(notes) == 4
    with zipfile.ZipFile(first.path) as z:
        for n in notes:
            text = n.findtext("q:PlainTextContent", namespaces=ns)
            assert text and z.read("sources/" + n.get("plainTextPath").split("internal://")[1]).decode() == text
            if n.get("guid") in annotated:
                sel = n.find("q:PlainTextSelection", namespaces=ns)
                assert sel is not None and int(sel.get("endPosition")) > 0
    other = _second_store(tmp_path)
    try:
        _refusals(other, first.path, tmp_path)
        with other.unit_of_work(actor="qual1") as uow:  # the file's own 'pseudonymised' flag is not trusted
            unchecked = import_qdpx(uow, actor(other, "qual1"), first.path)
            assert [w.split("'")[1] for w in unchecked.warnings if "says it is pseudonymised" in w] == [
                "CARE-0001-m6.txt", "CARE-0002-m6.txt", "CARE-0003-m6.txt"]
            assert "securebase did not check that, so it is marked not pseudonymised" in unchecked.warnings[0]
            assert not any(t.pseudonymised for t in uow.session.query(Transcript).all())
            uow.rollback()
        with other.unit_of_work(actor="qual1") as uow:  # checked again with the identifier records on import
            imported = import_qdpx(uow, actor(other, "qual1"), first.path, use_identifier_record=True,
                                   encryption_key=KEY)
            uow.commit()
        assert (imported.codes, imported.transcripts, imported.segments, imported.memos) == (4, 3, 4, 4)
        assert not imported.warnings
        with other.unit_of_work(actor="qual1") as uow:
            second = export_qdpx(uow, actor(other, "qual1"), imported.codebook_id, tmp_path / "b.qdpx")
            uow.commit()
        assert second.qde == first.qde
        assert (tmp_path / "a.qdpx").read_bytes() == (tmp_path / "b.qdpx").read_bytes()
        with other.read() as s:
            segs = segments(s, actor(other, "qual1"), codebook_id=imported.codebook_id)
            assert sorted(x.coder for x in segs) == ["qual1", "qual1", "qual2", "qual2"]
            assert {x.text for x in segs} >= {"The video feedback"}
        with pytest.raises(ConflictError, match="was imported before"):
            with other.unit_of_work(actor="qual1") as uow:
                import_qdpx(uow, actor(other, "qual1"), first.path, codebook_name="again")
    finally:
        other.dispose()


def _rewrite(src: Path, dst: Path, old: bytes, new: bytes) -> Path:
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w") as out:
        for n in z.namelist():
            data = z.read(n)
            out.writestr(n, data.replace(old, new, 1) if n == "project.qde" else data)
    return dst


def _refusals(other, exported: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Bad projects are refused with a clear message and nothing is saved."""
    qa = actor(other, "qual1")
    bad = _rewrite(exported, tmp_path / "bad.qdpx", b'startPosition="', b'startPosition="x')
    with pytest.raises(DataError, match=r"does not follow the REFI-QDA project schema \(Project-mrt2019.xsd\): line"):
        with other.unit_of_work(actor="qual1") as uow:
            import_qdpx(uow, qa, bad)
    beyond = _rewrite(exported, tmp_path / "beyond.qdpx", b'endPosition="', b'endPosition="9')
    with pytest.raises(FieldError, match="segment end must be at most"):
        with other.unit_of_work(actor="qual1") as uow:
            import_qdpx(uow, qa, beyond)
    (tmp_path / "x.qdpx").write_bytes(b"plain text")
    with pytest.raises(DataError, match="is not a REFI-QDA project"):
        with other.unit_of_work(actor="qual1") as uow:
            import_qdpx(uow, qa, tmp_path / "x.qdpx")


def _without_cases(src: Path, dst: Path) -> Path:
    """The project as a QDA program may give it back: the same sources, no Cases."""
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w") as out:
        for n in z.namelist():
            data = z.read(n)
            if n == "project.qde":
                root = etree.fromstring(data)
                for cases in root.findall("{urn:QDA-XML:project:1.0}Cases"):
                    root.remove(cases)
                data = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
            out.writestr(n, data)
    return dst


def test_sources_without_case_are_assigned_by_the_user_and_pseudonymised(qual_trial, tmp_path) -> None:  # type: ignore[no-untyped-def]
    store, ids, cb_id = qual_trial
    _code_some(store, ids, cb_id)
    with store.unit_of_work(actor="qual1") as uow:
        exported = export_qdpx(uow, actor(store, "qual1"), cb_id, tmp_path / "a.qdpx")
        uow.commit()
    caseless = _without_cases(exported.path, tmp_path / "caseless.qdpx")
    other = _second_store(tmp_path)
    try:
        qa = actor(other, "qual1")
        with pytest.raises(DataError, match=r"3 text source\(s\) have no participant: 'CARE-0001-m6.txt' \(.{36}\): "
                                            r"no case;.*does not guess who an interview is with") as err:
            with other.unit_of_work(actor="qual1") as uow:
                import_qdpx(uow, qa, caseless)
        assert "--assign '<source name>=<participant ID>'" in str(err.value)
        with other.read() as s:
            assert s.query(Transcript).count() == 0  # nothing saved
        with other.unit_of_work(actor="qual1") as uow:
            res = import_qdpx(uow, qa, caseless, assign={"CARE-0001-m6.txt": "CARE-0001",
                                                         "CARE-0002-m6.txt": "CARE-0002",
                                                         "CARE-0003-m6.txt": "practitioner"},
                              pseudonymise_with=["video=THING"])
            uow.commit()
        assert res.transcripts == 3 and res.segments == 4 and res.pseudonymised == 3 and res.replacements >= 1
        with other.read() as s:
            by_title = {t.title: t for t in s.query(Transcript).all()}
            assert by_title["CARE-0001-m6.txt"].speaker_role == "carer"
            assert by_title["CARE-0001-m6.txt"].participant_pk is not None
            assert by_title["CARE-0003-m6.txt"].speaker_role == "practitioner"
            assert by_title["CARE-0003-m6.txt"].participant_pk is None
            assert all(t.pseudonymised for t in by_title.values())
            assert not any("video" in t.text.lower() for t in by_title.values())
            texts = {x.text for x in segments(s, qa, codebook_id=res.codebook_id)}
            assert "The [THING] feedback" in texts  # the coded segment moved with the replaced text
    finally:
        other.dispose()


def test_positions_follow_the_replaced_text() -> None:
    from securebase.qualitative.pseudonymise import Flag
    from securebase.qualitative.refi_import import shift_positions

    # "Ellie went to Leeds." -> "[CHILD] went to [PLACE]."
    move = shift_positions([Flag(0, 5, "CHILD", "user_list"), Flag(14, 19, "PLACE", "user_list")])
    assert (move(0, False), move(5, True)) == (0, 7)  # the name itself becomes its tag
    assert (move(6, False), move(13, True)) == (8, 15)  # "went to" keeps its text
    assert (move(2, False), move(2, True)) == (0, 7)  # inside a name: the whole tag
    assert move(20, True) == 24
