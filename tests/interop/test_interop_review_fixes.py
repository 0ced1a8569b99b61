"""Review findings B1, B2, S1, E1, E4 of the exports and imports: each one's regression test."""

from __future__ import annotations

import json
from datetime import date

import pytest
from interop_synth import TRIAL, build_trial
from lxml import etree
from sqlalchemy import select

from securebase.errors import DataError, PermissionDenied
from securebase.interop.odm_common import NS
from securebase.interop.odm_export import write_odm
from securebase.interop.redcap_dictionary import import_dictionary
from securebase.interop.redcap_import import import_redcap
from securebase.interop.redcap_records import write_redcap
from securebase.protocol import load_protocol
from securebase.store.tables import Participant, Response, ScreeningRecord, Withdrawal
from securebase.trial.roles import Actor, Role

ADMIN = Actor("admin", TRIAL, frozenset({Role.administrator}))
BLINDED = Actor("stat1", TRIAL, frozenset({Role.blinded_statistician}))


def _sources(path) -> list[dict]:  # type: ignore[no-untyped-def]
    doc = etree.parse(str(path))
    return [json.loads(s.text) for s in doc.iter(f"{{{NS}}}SourceID")]


def _withdraw(store) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """One withdrawal from the intervention (then corrected, without repeating the level) and one from follow-up."""
    with store.unit_of_work(actor="tm1") as uow:
        parts = uow.session.execute(select(Participant).order_by(Participant.id)).scalars().all()
        hidden = Withdrawal(trial_id=TRIAL, participant_pk=parts[0].id, level="intervention",
                            withdrawn_on=date(2026, 3, 1), reason="reason-hidden-1")
        shown = Withdrawal(trial_id=TRIAL, participant_pk=parts[1].id, level="follow_up",
                           withdrawn_on=date(2026, 3, 2), reason="reason-shown-1")
        uow.session.add_all([hidden, shown])
        uow.commit()
        ids = hidden.id, shown.id
    with store.unit_of_work(actor="tm1", reason="typo") as uow:
        uow.session.get(Withdrawal, ids[0]).reason = "reason-hidden-2"
        uow.commit()
    return ids


def test_blinded_exports_have_no_withdrawal_from_the_intervention(fresh_care, tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = fresh_care("sqlite")
    build_trial(store, n=3)
    hidden_id, shown_id = _withdraw(store)
    blind = write_odm(store, BLINDED, tmp_path / "blind.xml")
    text = blind.path.read_text()
    assert "reason-hidden" not in text and "reason-shown-1" in text
    assert 'Value="intervention"' not in text
    withdrawal_audit = {s["record_id"] for s in _sources(blind.path) if s["table_name"] == "withdrawals"}
    assert withdrawal_audit == {str(shown_id)}  # the correction of the hidden one (no level in it) is gone too
    redcap = write_redcap(store, BLINDED, tmp_path / "redcap")
    records = redcap.files[1].read_text()
    assert "reason-hidden" not in records and "reason-shown-1" in records
    full = write_odm(store, ADMIN, tmp_path / "full.xml")  # unblinded roles still get everything
    assert "reason-hidden-2" in full.path.read_text()
    assert {s["record_id"] for s in _sources(full.path) if s["table_name"] == "withdrawals"} == {
        str(hidden_id), str(shown_id)}
    assert "reason-hidden-2" in write_redcap(store, ADMIN, tmp_path / "redcap_full").files[1].read_text()


@pytest.mark.parametrize("role", [Role.qualitative_researcher, Role.health_economist, Role.dmc_member])
def test_roles_without_participant_data_access_cannot_export(fresh_care, tmp_path, role) -> None:  # type: ignore[no-untyped-def]
    store = fresh_care("sqlite")
    build_trial(store, n=1)
    actor = Actor("someone", TRIAL, frozenset({role}))
    with pytest.raises(PermissionDenied, match=f"exporting trial data needs one of the roles .*has: {role.value}"):
        write_odm(store, actor, tmp_path / "x.xml")
    with pytest.raises(PermissionDenied, match="exporting trial data needs one of the roles"):
        write_redcap(store, actor, tmp_path / "redcap")
    assert not (tmp_path / "x.xml").exists() and not (tmp_path / "redcap").exists()


def test_site_restricted_odm_export_has_only_its_sites_audit_records(fresh_care, tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = fresh_care("sqlite")
    build_trial(store, n=4)
    sites = [s.code for s in load_protocol(TRIAL).sites]
    with store.unit_of_work(actor="rec1") as uow:
        for k, site in enumerate(sites[:2]):
            uow.session.add(ScreeningRecord(trial_id=TRIAL, site_code=site, screening_number=f"SCR-{site}-9{k}",
                                            screened_on=date(2026, 1, 2), answers={}, eligible=True))
        uow.commit()
    actor = Actor("rec1", TRIAL, frozenset({Role.site_recruiter}), frozenset({sites[0]}))
    out = write_odm(store, actor, tmp_path / "site.xml")
    with store.read() as session:
        mine = set(session.execute(select(Participant.participant_id).where(
            Participant.site_code == sites[0])).scalars())
    sources = _sources(out.path)
    assert sources and mine
    for s in sources:
        if s["participant_id"] is not None:
            assert s["participant_id"] in mine
        else:
            payload = json.loads(s["new"] or s["old"] or "{}")
            assert payload.get("site_code") == sites[0], s
    text = out.path.read_text()
    assert f"SCR-{sites[0]}-90" in text and f"SCR-{sites[1]}-91" not in text
    assert len(sources) < len(_sources(write_odm(store, ADMIN, tmp_path / "all.xml").path))


def test_odm_export_replaces_characters_xml_does_not_allow(fresh_care, tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = fresh_care("sqlite")
    build_trial(store, n=1)
    with store.unit_of_work(actor="dm1", reason="test\x02 text") as uow:  # a reason for change too
        r = uow.session.execute(select(Response).where(Response.value.is_not(None)).order_by(Response.id)
                                .limit(1)).scalar_one()
        r.value = "bad\x01text\x0bend\ttab"
        uow.session.add(Withdrawal(trial_id=TRIAL, participant_pk=r.participant_pk, level="follow_up",
                                   withdrawn_on=date(2026, 3, 1), reason="moved\x1f away\r\nfar"))
        uow.commit()
    out = write_odm(store, ADMIN, tmp_path / "ctl.xml")
    assert out.validated
    assert len(out.warnings) == 1 and "4 stored value(s)" in out.warnings[0]  # 2 values, 2 audit reasons and "U+FFFD" in out.warnings[0]
    assert "warning:" in out.summary() and out.to_dict()["warnings"] == list(out.warnings)
    doc = etree.parse(str(out.path))
    values = {el.get("Value") for el in doc.iter(f"{{{NS}}}ItemData")}
    assert "bad\ufffdtext\ufffdend\ttab" in values
    assert any(v and v.startswith("moved\ufffd away") for v in values)
    assert "test\ufffd text" in {el.text for el in doc.iter(f"{{{NS}}}ReasonForChange")}
    clean = write_odm(fresh_care("sqlite"), ADMIN, tmp_path / "clean.xml")
    assert clean.warnings == ()


def test_non_utf8_redcap_files_give_a_clear_error(fresh_care, tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = fresh_care("sqlite")
    build_trial(store, n=1)
    out = write_redcap(store, ADMIN, tmp_path / "redcap")
    dic, recs = out.files[0], out.files[1]
    bad_dic = tmp_path / "dict_latin1.csv"
    bad_dic.write_bytes(dic.read_bytes() + "x_note,sdq_parent,,text,Caf\u00e9 visit\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"dict_latin1\.csv.*not UTF-8 text.*save it as UTF-8 CSV"):
        import_dictionary(bad_dic)
    with pytest.raises(DataError, match=r"data dictionary .*dict_latin1\.csv.*not UTF-8 text"):
        import_redcap(fresh_care("sqlite"), ADMIN, bad_dic, recs)
    bad_recs = tmp_path / "records_cp1252.csv"
    bad_recs.write_bytes(recs.read_bytes() + "\u201cquoted\u201d\n".encode("cp1252"))
    with pytest.raises(DataError, match=r"records file .*records_cp1252\.csv.*not UTF-8 text.*save it as UTF-8 CSV"):
        import_redcap(fresh_care("sqlite"), ADMIN, dic, bad_recs)


def test_health_economist_takes_the_analysis_export_but_no_full_trial_export(fresh_care, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The economist works from analysis datasets (with arms), as in analysis.datasets, but not ODM/REDCap."""
    import pandas as pd

    from securebase.interop.exports import AnalysisExport

    store = fresh_care("sqlite")
    build_trial(store, n=2)
    econ = Actor("econ", TRIAL, frozenset({Role.health_economist}))
    res = AnalysisExport(formats=("csv",), allocation="arms").write(store, econ, tmp_path / "econ")
    assert "arm" in pd.read_csv(res.out_dir / "participants.csv").columns
    with pytest.raises(PermissionDenied):
        write_odm(store, econ, tmp_path / "econ.xml")
