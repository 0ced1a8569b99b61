"""Importing DfE-format extracts (SSDA903 CSV, CIN census XML, school records CSV): consent gate, validation,
encrypted identifiers, deterministic matching, idempotent re-import, superseding corrections, match rates."""

from __future__ import annotations

import math

import pytest
from linkage_world import MALT, maltreatment_trial
from sqlalchemy import func, select
from trial_world import actor, days_ago

from securebase.analysis.datasets import extract_datasets
from securebase.linkage import link
from securebase.linkage.report import match_rates
from securebase.linkage.synthetic import Child, Episode, cin_xml, make_upn, school_csv, ssda903_files
from securebase.store.crypto import new_key
from securebase.store.tables import AuditRecord, LinkageExtract, LinkageIdentifier, LinkedRecord

KEY = new_key()
LA = "E06000001"


def _setup(store, n=3, consent=True):  # type: ignore[no-untyped-def]
    pids = maltreatment_trial(store, n=n, back=400)
    dm = actor(store, "mdm", MALT)
    kids = []
    with store.unit_of_work(actor="mdm") as uow:
        for i, pid in enumerate(pids):
            child = Child(f"LA01C{i + 1:04d}", "1", days_ago(365 * 9), make_upn(201, 2000, 2018, i + 1))
            link.register_identifiers(uow, dm, pid, key=KEY, la_child_id=child.child, upn=child.upn)
            if consent:
                link.record_linkage_consent(uow, dm, pid, basis="consent", reference="linkage consent form 1.0",
                                            sources=["ssda903", "cin", "school"], given_on=days_ago(401))
            kids.append(child)
        uow.commit()
    return pids, kids, dm


def _import(store, dm, source, files, **kw):  # type: ignore[no-untyped-def]
    args = {"site_code": "LA01", "period_start": days_ago(430), "period_end": days_ago(3), "extract_date": days_ago(2),
            "key": KEY, "la_code": LA}
    args.update(kw)
    with store.unit_of_work(actor="mdm") as uow:
        res = link.import_extract(uow, dm, source, files, **args)
        uow.commit()
    return res


def _count(store, table) -> int:  # type: ignore[no-untyped-def]
    with store.read() as s:
        return s.execute(select(func.count()).select_from(table)).scalar_one()


def test_linkage_without_consent_is_refused(store) -> None:  # type: ignore[no-untyped-def]
    _, kids, dm = _setup(store, n=1, consent=False)
    kids[0].referrals = [{"referral": days_ago(100)}]
    with pytest.raises(link.LinkageNotConsented, match="linkage consent"):
        _import(store, dm, "cin", {"cin.xml": cin_xml(kids, la_number="201", year=2026, reference_date=days_ago(3))})
    assert _count(store, LinkageExtract) == 0 and _count(store, LinkedRecord) == 0


def test_identifiers_are_encrypted_and_cin_links_deterministically(store) -> None:  # type: ignore[no-untyped-def]
    pids, kids, dm = _setup(store, n=3)
    with store.read() as s:
        tokens = [r.token for r in s.execute(select(LinkageIdentifier)).scalars()]
    assert len(tokens) == 6 and not any(k.child.encode() in t or k.upn.encode() in t for k in kids for t in tokens)
    with store.unit_of_work(actor="mdm") as uow:
        assert link.reveal_identifier(uow, dm, pids[0], "la_child_id", key=KEY) == "LA01C0001"
        uow.commit()
    kids[0].referrals = [{"referral": days_ago(200), "s47": [days_ago(190)]}]
    kids[1].referrals = [{"referral": days_ago(420)}]  # before randomisation: does not count
    stranger = Child("LA01C9999", "2", days_ago(365 * 7), make_upn(201, 2000, 2019, 999),
                     referrals=[{"referral": days_ago(50)}])
    res = _import(store, dm, "cin", {"cin.xml": cin_xml(kids + [stranger], la_number="201", year=2026,
                                                         reference_date=days_ago(3))})
    assert (res.status, res.children_total, res.children_matched, res.records_linked) == ("imported", 3, 2, 3)
    _import(store, dm, "ssda903", ssda903_files([Child("LA01C0001", "1", days_ago(365 * 9), kids[0].upn, episodes=[
        Episode(days_ago(380), "S", dec=days_ago(300), rec="E4A")])], LA))
    with store.read() as s:
        got = extract_datasets(s, actor(store, "mstat", MALT)).participants.set_index("participant_id")
    assert got.loc[pids[0], "maltreatment_12"] == 1.0  # section 47 enquiry (and entry to care) within the year
    assert got.loc[pids[1], "maltreatment_12"] == 0.0 and got.loc[pids[2], "maltreatment_12"] == 0.0
    with store.read() as s:
        rates = match_rates(s, actor(store, "mstat", MALT))
        blinded = match_rates(s, dm)
    assert rates["pooled"]["cin"] == {"participants": 3, "consented": 3, "linked": 2, "rate": 0.667}
    assert "by_site_arm" in rates and sum(r["cin"]["linked"] for r in rates["by_site_arm"]) == 2
    assert "by_site_arm" not in blinded and blinded["pooled"]["cin"]["linked"] == 2


@pytest.mark.slow
def test_ssda903_validated_reimport_idempotent_correction_supersedes(store) -> None:  # type: ignore[no-untyped-def]
    pids, kids, dm = _setup(store, n=2)
    kids[0].episodes = [Episode(days_ago(500), "S", dec=days_ago(300), rec="X1", reason="CARPL"),
                        Episode(days_ago(300), "P", place="U2", dec=days_ago(200), rec="X1", reason="CREQB"),
                        Episode(days_ago(200), "P")]
    kids[1].episodes = [Episode(days_ago(500), "S", dec=days_ago(100), rec="X1", reason="CARPL"),
                        Episode(days_ago(100), "P", place="U2")]
    files = ssda903_files(kids, LA)
    res = _import(store, dm, "ssda903", files)
    assert res.validation.validator.startswith("quality-lac-data-validator") and res.validation.ok
    assert len(res.validation.rules_run) > 100 and (res.children_matched, res.records_linked) == (2, 5)
    before = (_count(store, LinkageExtract), _count(store, LinkedRecord), _count(store, AuditRecord))
    again = _import(store, dm, "ssda903", files)
    assert again.status == "unchanged" and again.extract_id == res.extract_id
    assert (_count(store, LinkageExtract), _count(store, LinkedRecord), _count(store, AuditRecord)) == before
    with store.read() as s:
        got = extract_datasets(s, actor(store, "mstat", MALT)).participants.set_index("participant_id")
    assert (got.loc[pids[0], "placement_end_event"], got.loc[pids[0], "placement_end_time"]) == (1, 200.0)  # CREQB
    assert got.loc[pids[1], "placement_end_event"] == 0  # a planned move (CARPL) is not a disruption
    # the authority corrects the reason for child 1's move: the corrected extract supersedes the old one
    kids[0].episodes[1].reason = "CARPL"
    fixed = _import(store, dm, "ssda903", ssda903_files(kids, LA))
    assert fixed.superseded == res.extract_id
    with store.read() as s:
        old = s.get(LinkageExtract, res.extract_id)
        assert old.status == "superseded"
        audit = s.execute(select(AuditRecord).where(AuditRecord.action == "linkage_extract_superseded")).scalars().all()
        assert [a.record_id for a in audit] == [str(res.extract_id)]
        got = extract_datasets(s, actor(store, "mstat", MALT)).participants.set_index("participant_id")
    assert got.loc[pids[0], "placement_end_event"] == 0


@pytest.mark.slow
def test_a_faulty_ssda903_file_is_refused_with_rule_code_and_row(store) -> None:  # type: ignore[no-untyped-def]
    _, kids, dm = _setup(store, n=1)
    kids[0].episodes = [Episode(days_ago(500), "S", dec=days_ago(300), rec="E99", reason="CARPL")]
    with pytest.raises(link.ExtractRefused) as exc:
        _import(store, dm, "ssda903", ssda903_files(kids, LA))
    codes = {(e.code, e.table, e.row) for e in exc.value.validation.errors}
    assert ("149", "Episodes", 1) in codes and "was not imported" in str(exc.value)
    assert _count(store, LinkageExtract) == 0 and _count(store, LinkedRecord) == 0


def test_school_records_give_attendance_and_attainment(store) -> None:  # type: ignore[no-untyped-def]
    pids, kids, dm = _setup(store, n=2)
    kids[0].school = [{"start": days_ago(390), "end": days_ago(200), "possible": 300, "attended": 240, "suspensions": 2,
                       "ks2_reading": 100, "ks2_maths": 104}]
    res = _import(store, dm, "school", {"school.csv": school_csv(kids)})
    assert res.children_matched == 1
    with store.read() as s:
        got = extract_datasets(s, actor(store, "mstat", MALT)).participants.set_index("participant_id")
    assert got.loc[pids[0], "attendance_12"] == pytest.approx(0.8) and got.loc[pids[0], "exclusions_12"] == 2.0
    assert got.loc[pids[0], "ks2_mean_12"] == 102.0 and got.loc[pids[0], "persistent_absence_12"] == 1.0
    assert math.isnan(got.loc[pids[1], "attendance_12"])
    bad = school_csv(kids).replace(b",240,", b",340,")
    with pytest.raises(link.ExtractRefused, match="SB-SCH-3"):
        _import(store, dm, "school", {"school.csv": bad}, period_start=days_ago(429))


def test_a_locked_trial_refuses_every_linkage_write(store) -> None:  # type: ignore[no-untyped-def]
    from securebase.errors import TrialLocked
    from securebase.trial.lock import lock_trial

    pids, kids, dm = _setup(store, n=1)
    with store.unit_of_work(actor="mdm") as uow:
        lock_trial(uow, dm, "final analysis")
        uow.commit()
    before = _count(store, LinkageExtract)
    kids[0].referrals = [{"referral": days_ago(100)}]
    with pytest.raises(TrialLocked):
        _import(store, dm, "cin", {"cin.xml": cin_xml(kids, la_number="201", year=2026, reference_date=days_ago(3))})
    with store.unit_of_work(actor="mdm") as uow, pytest.raises(TrialLocked):
        link.record_linkage_consent(uow, dm, pids[0], basis="consent", reference="form 1.1",
                                    sources=["cin"], given_on=days_ago(5))
    with store.unit_of_work(actor="mdm") as uow, pytest.raises(TrialLocked):
        link.register_identifiers(uow, dm, pids[0], key=KEY, la_child_id="LA01C0099", upn=kids[0].upn)
    assert _count(store, LinkageExtract) == before
