"""Transcripts, pseudonymisation, codebooks, coding and refusals on both store backends."""

from __future__ import annotations

import json

import pytest
from qual_synth import actor, read
from sqlalchemy import select

from securebase.errors import BlindingError, ConflictError, FieldError, NotFound, PermissionDenied
from securebase.qualitative import (
    add_memo,
    apply_code,
    code_tree,
    coder_agreement,
    framework_matrix,
    import_transcript,
    list_transcripts,
    new_version,
)
from securebase.qualitative.codebook import find_codebook
from securebase.store.tables import AuditRecord, Transcript


def test_import_links_consent_and_pseudonymises_without_leaking_names(qual_trial) -> None:  # type: ignore[no-untyped-def]
    store, ids, _ = qual_trial
    with store.read() as s:
        t = s.get(Transcript, ids["CARE-0001"])
        assert t.pseudonymised and t.participant_pk is not None and t.visit_pk is not None
        assert "Ellie" not in t.text and "Janet" not in t.text and "Hollin Primary" not in t.text
        assert "[CHILD] used to shout" in t.text and "[CARER] is my name" in t.text and "at [PLACE] pick-up" in t.text
        t2 = s.get(Transcript, ids["CARE-0002"])
        assert "placement in [PLACE]" in t2.text and "[CHILD] moved" in t2.text
        rows = s.execute(select(AuditRecord).where(AuditRecord.action == "pseudonymise")).scalars().all()
        everything = " ".join((r.new or "") + (r.old or "") for r in s.execute(select(AuditRecord)).scalars())
    assert len(rows) == 3
    detail = json.loads(rows[0].new)
    assert detail["by_tag"] == {"CARER": 1, "CHILD": 1, "PLACE": 1} and detail["identifier_record_used"] is True
    for name in ("Ellie", "Marsh", "Janet", "Tomasz", "Ashby", "Hollin", "Idris"):
        assert name not in everything
    qa = actor(store, "qual1")
    with pytest.raises(ConflictError, match="CARE-0004 has no consent for the qualitative interview"):
        with store.unit_of_work(actor="qual1") as uow:
            import_transcript(uow, qa, read("CARE-0003"), speaker_role="carer", participant_id="CARE-0004")
    with pytest.raises(NotFound, match="visit 'm18' of participant CARE-0001 not found; scheduled visits: baseline, m6"):
        with store.unit_of_work(actor="qual1") as uow:
            import_transcript(uow, qa, read("CARE-0001"), speaker_role="carer", participant_id="CARE-0001",
                              visit_id="m18")


def test_user_list_and_no_key(care_trial) -> None:  # type: ignore[no-untyped-def]
    from qual_synth import populate

    store = care_trial
    populate(store)
    qa = actor(store, "qual1")
    with store.unit_of_work(actor="qual1") as uow:
        res = import_transcript(uow, qa, read("CARE-0003"), speaker_role="carer", participant_id="CARE-0003",
                                pseudonymise_with=["Mo=CHILD", "bedtime=ROUTINE"], encryption_key=None)
        uow.commit()
    assert res.transcript.text.startswith("Interviewer") and "[CHILD] still struggles at [ROUTINE]" in res.transcript.text
    assert res.pseudonymisation.counts == {"CHILD": 1, "ROUTINE": 1}
    assert any("SECUREBASE_ENCRYPTION_KEY is not set" in w for w in res.warnings)


def test_coding_refuses_range_beyond_text_and_code_of_other_version(qual_trial) -> None:  # type: ignore[no-untyped-def]
    store, ids, cb_id = qual_trial
    qa = actor(store, "qual1")
    tid = ids["CARE-0003"]
    with store.read() as s:
        n = len(s.get(Transcript, tid).text)
    with pytest.raises(FieldError) as err:
        with store.unit_of_work(actor="qual1") as uow:
            apply_code(uow, qa, cb_id, tid, "Support", 10, n + 5)
    msg = str(err.value)
    assert f"segment end must be at most {n}" in msg and f"(got {n + 5})" in msg and f"allowed range 0 to {n}" in msg
    with store.unit_of_work(actor="qual1") as uow:
        v2 = new_version(uow, qa, cb_id)
        uow.commit()
    with store.read() as s:
        v2_codes = [n.name for n in code_tree(s, qa, v2.id)]
        old_support = next(n for n in code_tree(s, qa, cb_id) if n.name == "Support")
        assert find_codebook(s, "ng26-care", "Carer experience").version == 2
    assert v2_codes == ["Change in the child", "Support"]
    with pytest.raises(FieldError) as err:
        with store.unit_of_work(actor="qual1") as uow:
            apply_code(uow, qa, v2.id, tid, old_support.id, 0, 10)
    msg = str(err.value)
    assert "code must be a code of codebook 'Carer experience' version 2" in msg
    assert f"got 'Support (id {old_support.id})'" in msg and "belongs to codebook 'Carer experience' version 1" in msg
    with store.unit_of_work(actor="qual1") as uow:
        q1, q2 = actor(store, "qual1"), actor(store, "qual2")
        t1 = uow.session.get(Transcript, ids["CARE-0001"]).text
        apply_code(uow, q1, cb_id, ids["CARE-0001"], "Video feedback", *_find(t1, "The video feedback"))
        apply_code(uow, q2, cb_id, ids["CARE-0001"], "Video feedback", *_find(t1, "video feedback. Seeing"))
        uow.commit()
    with store.read() as s:
        res = coder_agreement(s, actor(store, "qual1"), cb_id)
    row = res.row("Support/Video feedback")
    assert row.n_units == len(t1) and row.table[1][1] == len("video feedback")
    assert 0 < row.kappa < 1 and "character level" in res.summary()


def test_roles_sites_and_blinding(qual_trial) -> None:  # type: ignore[no-untyped-def]
    store, ids, cb_id = qual_trial
    site_qr, recruiter, tm, qa = (actor(store, u) for u in ("siteqr", "recruiter", "tm", "qual1"))
    with store.read() as s:
        assert [i.participant_id for i in list_transcripts(s, site_qr)] == ["CARE-0003"]
        with pytest.raises(NotFound):
            from securebase.qualitative import get_transcript
            get_transcript(s, site_qr, ids["CARE-0001"])
        with pytest.raises(PermissionDenied, match="may not read qualitative data"):
            list_transcripts(s, recruiter)
        with pytest.raises(BlindingError, match="blinded to allocation"):
            framework_matrix(s, qa, cb_id, arm="intervention")
        m = framework_matrix(s, qa, cb_id)
        assert not m.show_arm and "arm" not in m.header()
        m_tm = framework_matrix(s, tm, cb_id, arm="usual_care")
        assert m_tm.show_arm and [r.participant_id for r in m_tm.rows] == ["CARE-0002", "CARE-0003"]
        assert {r.arm for r in m_tm.rows} == {"usual_care"}


def _find(text: str, phrase: str) -> tuple[int, int]:
    i = text.index(phrase)
    return i, i + len(phrase)


def test_matrix_cells_link_segments_and_memo_summary(qual_trial, tmp_path) -> None:  # type: ignore[no-untyped-def]
    store, ids, cb_id = qual_trial
    qa = actor(store, "qual1")
    with store.unit_of_work(actor="qual1") as uow:
        t1 = uow.session.get(Transcript, ids["CARE-0001"]).text
        t2 = uow.session.get(Transcript, ids["CARE-0002"]).text
        seg = apply_code(uow, qa, cb_id, ids["CARE-0001"], "Change in the child/Emotional openness",
                         *_find(t1, "she tells me when she is scared"))
        apply_code(uow, qa, cb_id, ids["CARE-0001"], "Video feedback", *_find(t1, "The video feedback"))
        apply_code(uow, qa, cb_id, ids["CARE-0002"], "Support", *_find(t2, "I felt supported by the social worker"))
        support = next(n for n in code_tree(uow, qa, cb_id) if n.name == "Support")
        add_memo(uow, qa, "Values the social worker; no mention of the group.", transcript_id=ids["CARE-0002"],
                 code_id=support.id)
        uow.commit()
    with store.read() as s:
        m = framework_matrix(s, qa, cb_id, age_band="5-10")
        assert [r.participant_id for r in m.rows] == ["CARE-0001", "CARE-0003"]
        cell = m.rows[0].cells["Change in the child"]
        assert cell.links[0].segment_id == seg.id and "scared" in cell.summary and not cell.from_memo
        assert m.rows[0].cells["Support"].links[0].code == "Video feedback"
        full = framework_matrix(s, qa, cb_id, site="LA01")
        assert full.rows[1].cells["Support"].summary.startswith("Values the social worker")
    m.to_csv(tmp_path / "m.csv")
    m.to_xlsx(tmp_path / "m.xlsx")
    import csv

    from openpyxl import load_workbook
    rows = list(csv.reader((tmp_path / "m.csv").open(encoding="utf-8")))
    assert rows[0] == ["participant_id", "site", "age_band", "Change in the child", "Support"]
    assert f"seg {seg.id} (transcript {ids['CARE-0001']}" in rows[1][3]
    wb = load_workbook(tmp_path / "m.xlsx")
    assert wb["Framework matrix"]["D2"].value == rows[1][3]
    assert wb["Coded segments"].max_row == 3
