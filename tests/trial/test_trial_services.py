"""The trial services on SQLite and PostgreSQL: screening, consent, enrolment, visits, data entry, events,
delivery, queries, withdrawal, dashboard and the analysis datasets."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from trial_world import (
    BLINDED_USERS,
    actor,
    add_users,
    answers,
    build_world,
    days_ago,
    screen_and_consent,
    valid_responses,
)

from securebase.analysis import schema
from securebase.analysis.datasets import extract_datasets
from securebase.errors import (
    BlindingError,
    ConflictError,
    FieldError,
    NotFound,
    PermissionDenied,
    ReasonRequired,
)
from securebase.instruments import ResponseValidationError, load_instrument, score
from securebase.store.crypto import new_key
from securebase.store.tables import AuditRecord, Identifier, Response, Score, ScreeningRecord
from securebase.trial import (
    consent,
    dashboard,
    data_entry,
    delivery,
    enrol,
    events,
    queries,
    screening,
    visits,
)


@pytest.fixture
def world(care_trial):  # type: ignore[no-untyped-def]
    return care_trial, build_world(care_trial)


def test_screening_log_numbers_reasons_and_no_date_of_birth(care_trial) -> None:  # type: ignore[no-untyped-def]
    add_users(care_trial)
    a = actor(care_trial, "rec1")
    with care_trial.unit_of_work(actor="rec1") as uow:
        ok = screening.screen(uow, a, site_code="LA01", answers=answers(9))
        too_old = screening.screen(uow, a, site_code="LA01", answers=answers(18, "residential"))
        missing = screening.screen(uow, a, site_code="LA01", answers={"care_status": "foster"})
        uow.commit()
    assert (ok.screening_number, too_old.screening_number) == ("SCR-LA01-0001", "SCR-LA01-0002")
    assert ok.eligible and "date_of_birth" not in ok.answers and ok.answers["age_years"] == 9
    assert not too_old.eligible and "age 18 is not under 18" in too_old.ineligible_reasons
    assert not missing.eligible and "answer missing" in missing.ineligible_reasons
    with care_trial.unit_of_work(actor="rec1") as uow:
        screening.record_decline(uow, a, "SCR-LA01-0001", reason="too busy this year")
        uow.commit()
    with care_trial.read() as s:
        counts = screening.consort_counts(s, a)
    assert counts["assessed"] == 3 and counts["ineligible"] == 2 and counts["declined"] == 1
    with care_trial.unit_of_work(actor="rec1") as uow, pytest.raises(PermissionDenied):
        screening.screen(uow, a, site_code="LA02", answers=answers(9))
    with care_trial.unit_of_work(actor="assessor1") as uow, pytest.raises(PermissionDenied):
        screening.screen(uow, actor(care_trial, "assessor1"), site_code="LA01", answers=answers(9))


def test_consent_forms_la_consent_and_enrolment(care_trial) -> None:  # type: ignore[no-untyped-def]
    add_users(care_trial)
    a = actor(care_trial, "rec1")
    with care_trial.unit_of_work(actor="rec1") as uow:
        rec = screening.screen(uow, a, site_code="LA01", answers=answers(13, "foster"))
        consent.record_consent(uow, a, rec.screening_number, kind="carer_consent", form_version="2.0",
                               signatory_role="foster_carer")
        consent.record_consent(uow, a, rec.screening_number, kind="child_assent", form_version="1.0",
                               signatory_role="child")
        st = consent.consent_status(uow.session, a, rec.screening_number)
        assert st["required"] == ["carer_consent", "child_assent", "la_consent"] and not st["complete"]
        assert st["child_form"] == "assent_11_15"
        with pytest.raises(ConflictError, match="la_consent"):
            enrol.enrol(uow, a, rec.screening_number)
        with pytest.raises(FieldError):
            consent.record_consent(uow, a, rec.screening_number, kind="la_consent", form_version="first",
                                   signatory_role="social_worker")
        la = consent.record_consent(uow, a, rec.screening_number, kind="la_consent", form_version="v1.0",
                                    signatory_role="social_worker")
        assert la.form_version == "la_consent v1.0"  # "v1.0" is accepted and normalised
        assert consent.form_label(la.form_version) == "local authority consent form, version 1.0"
        key = new_key()
        p = enrol.enrol(uow, a, rec.screening_number, sex="male", identifiers={"name": "Synthetic Child"},
                        encryption_key=key)
        uow.commit()
    assert p.participant_id == "CARE-0001" and p.age_band == "11-17" and p.strata["care_status"] == "foster"
    with care_trial.unit_of_work(actor="rec1") as uow:
        assert enrol.read_identifiers(uow, a, "CARE-0001", encryption_key=key) == {"name": "Synthetic Child"}
        uow.commit()
    with care_trial.read() as s:
        assert s.execute(select(Identifier)).scalar_one().ciphertext != b"Synthetic Child"
        texts = " ".join((r.new or "") + (r.old or "") for r in s.execute(select(AuditRecord)).scalars())
        rec2 = s.execute(select(ScreeningRecord)).scalar_one()
    assert "Synthetic Child" not in texts and rec2.outcome == "enrolled"
    # adopted children need no local authority consent; a refusal means declined
    with care_trial.unit_of_work(actor="rec1") as uow:
        r = screening.screen(uow, a, site_code="LA01", answers=answers(7, "adopted"))
        consent.record_consent(uow, a, r.screening_number, kind="carer_consent", form_version="2.0",
                               signatory_role="adoptive_parent", given=False)
        assert r.outcome == "declined"
        uow.commit()


def test_visit_lists_and_outcomes(world) -> None:  # type: ignore[no-untyped-def]
    store, w = world
    pid = w["participants"]["LA01"][0][0]
    a1, a2 = actor(store, "assessor1"), actor(store, "assessor2")
    with store.read() as s:
        up = visits.upcoming_visits(s, a1)
        over = visits.overdue_visits(s, a1)
        assert {v["participant_id"][:4] for v in up} == {"CARE"}
        assert all(v["site"] == "LA01" for v in up + over)
        assert any(v["visit_id"] == "m6" and v["participant_id"] == pid for v in up)
        assert any(v["visit_id"] == "baseline" for v in over)  # baseline window closed at randomisation
        assert "arm" not in up[0]
        with pytest.raises(NotFound):
            visits.participant_visits(s, a2, pid)
    with store.unit_of_work(actor="assessor1") as uow:
        with pytest.raises(FieldError):
            visits.record_visit_outcome(uow, a1, pid, "baseline", status="missed", missed_reason="nope")
        visits.record_visit_outcome(uow, a1, pid, "baseline", status="missed", missed_reason="could_not_contact")
        uow.commit()
    with store.unit_of_work(actor="assessor1") as uow, pytest.raises(ReasonRequired):
        visits.record_visit_outcome(uow, a1, pid, "baseline", status="completed", completed_on=days_ago(199))
    with store.unit_of_work(actor="assessor1", reason="found the paper form") as uow:
        v = visits.record_visit_outcome(uow, a1, pid, "baseline", status="completed", completed_on=days_ago(199))
        uow.commit()
    assert v.status == "completed" and v.assessor == "assessor1"


def test_data_entry_scores_partial_reason_and_double_entry(world) -> None:  # type: ignore[no-untyped-def]
    store, w = world
    pid = w["participants"]["LA01"][0][0]
    a1, dm = actor(store, "assessor1"), actor(store, "dm")
    good = valid_responses("sdq_parent")
    bad = dict(good, **{"7": 3, "3": 9})
    with store.unit_of_work(actor="assessor1") as uow, pytest.raises(ResponseValidationError) as err:
        data_entry.save_responses(uow, a1, pid, "m6", "sdq_parent", bad)
    assert len(err.value.issues) == 2 and "item 7 must be" in err.value.message
    with store.read() as s:
        assert s.execute(select(Response)).first() is None  # all or nothing
    partial = {k: v for k, v in good.items() if k in ("1", "2", "3")}
    with store.unit_of_work(actor="assessor1") as uow:
        r = data_entry.save_responses(uow, a1, pid, "m6", "sdq_parent", partial, complete=False)
        uow.commit()
    assert r.changed == 3 and not r.scores
    with store.unit_of_work(actor="assessor1") as uow, pytest.raises(ResponseValidationError, match="no answer"):
        data_entry.save_responses(uow, a1, pid, "m6", "sdq_parent", {"4": 1})
    with store.unit_of_work(actor="assessor1") as uow:
        r = data_entry.save_responses(uow, a1, pid, "m6", "sdq_parent", good)
        uow.commit()
    expected = score(load_instrument("sdq_parent"), good)
    assert r.scores["total"]["value"] == expected["total"].value and r.visit_status == "partial"
    changed = dict(good, **{"5": (good["5"] + 1) % 3})
    with store.unit_of_work(actor="assessor1") as uow, pytest.raises(ReasonRequired):
        data_entry.save_responses(uow, a1, pid, "m6", "sdq_parent", changed)
    with store.unit_of_work(actor="assessor1", reason="carer corrected item 5") as uow:
        r = data_entry.save_responses(uow, a1, pid, "m6", "sdq_parent", changed)
        uow.commit()
    assert r.scores["total"]["value"] == score(load_instrument("sdq_parent"), changed)["total"].value
    # double data entry by someone else, with one discrepancy, resolved with a reason
    second = dict(changed, **{"9": (changed["9"] + 1) % 3})
    with store.unit_of_work(actor="assessor1") as uow, pytest.raises(ConflictError, match="someone other"):
        data_entry.save_responses(uow, a1, pid, "m6", "sdq_parent", second, entry=2)
    with store.unit_of_work(actor="dm") as uow:
        data_entry.save_responses(uow, dm, pid, "m6", "sdq_parent", second, entry=2)
        uow.commit()
    with store.read() as s:
        d = data_entry.discrepancies(s, dm, pid, "m6", "sdq_parent")
    assert [x["item"] for x in d] == ["9"]
    with store.unit_of_work(actor="dm") as uow, pytest.raises(ReasonRequired):
        data_entry.resolve_discrepancy(uow, dm, pid, "m6", "sdq_parent", "9", changed["9"])
    with store.unit_of_work(actor="dm", reason="checked against the paper form") as uow:
        data_entry.resolve_discrepancy(uow, dm, pid, "m6", "sdq_parent", "9", changed["9"])
        uow.commit()
    with store.read() as s:
        assert data_entry.discrepancies(s, dm, pid, "m6", "sdq_parent") == []
        n_scores = len(s.execute(select(Score).where(Score.instrument == "sdq_parent")).all())
    assert n_scores == len(load_instrument("sdq_parent").scales)


def test_events_sae_and_records(world) -> None:  # type: ignore[no-untyped-def]
    store, w = world
    pid = w["participants"]["LA01"][0][0]
    a = actor(store, "rec1")
    with store.unit_of_work(actor="rec1") as uow:
        with pytest.raises(FieldError, match="seriousness"):
            events.record_event(uow, a, pid, event_type="serious_adverse_event", occurred_on=days_ago(5))
        sae = events.record_event(uow, a, pid, event_type="serious_adverse_event", occurred_on=days_ago(5),
                                  seriousness="hospitalisation", relatedness="possibly", expectedness="unexpected")
        with pytest.raises(ResponseValidationError):
            events.record_event(uow, a, pid, event_type="school_record", occurred_on=days_ago(3),
                                details={"sessions_possible": 10, "sessions_attended": 12})
        events.record_event(uow, a, pid, event_type="unplanned_placement_ending", occurred_on=days_ago(20))
        uow.commit()
    # the clock runs from the day the team learned of it (by default the day it is recorded), not the event date
    assert sae.details["report_due_by"] == (days_ago(0) + timedelta(days=15)).isoformat()
    with store.unit_of_work(actor="rec1") as uow:
        late = events.record_event(uow, a, pid, event_type="serious_adverse_event", occurred_on=days_ago(40),
                                   aware_on=days_ago(3), seriousness="hospitalisation", relatedness="probably",
                                   expectedness="unexpected")
        assert late.details["report_due_by"] == (days_ago(3) + timedelta(days=15)).isoformat()
        with pytest.raises(FieldError, match="aware_on"):
            events.record_event(uow, a, pid, event_type="serious_adverse_event", occurred_on=days_ago(3),
                                aware_on=days_ago(5), seriousness="death", relatedness="unrelated",
                                expectedness="expected")
    with store.read() as s:
        assert len(events.list_events(s, actor(store, "dm"), participant_id=pid)) == 2
        assert events.list_events(s, actor(store, "rec2")) == []


def test_delivery_log_blinding_and_compliance(world) -> None:  # type: ignore[no-untyped-def]
    store, w = world
    inter = next(p for p, arm in w["participants"]["LA01"] + w["participants"]["LA02"] if arm == "intervention")
    usual = next(p for p, arm in w["participants"]["LA01"] + w["participants"]["LA02"] if arm == "usual_care")
    tm = actor(store, "tm")
    with store.unit_of_work(actor="tm") as uow:
        for i in range(1, 8):
            delivery.record_session(uow, tm, inter, session_number=i, offered_on=days_ago(190 - 7 * i),
                                    attended=i != 3, therapist="LA01-T1", fidelity_rating=4)
        with pytest.raises(ConflictError, match="not in the 'intervention' arm"):
            delivery.record_session(uow, tm, usual, session_number=1, offered_on=days_ago(10), attended=True,
                                    therapist="T")
        uow.commit()
    with store.read() as s:
        d = delivery.delivery_summary(s, tm, inter)
        assert (d["sessions_offered"], d["sessions_attended"], d["complier"]) == (7, 6, 1)
        for name in BLINDED_USERS:
            with pytest.raises(BlindingError) as e:
                delivery.delivery_summary(s, actor(store, name), inter)
            assert "usual_care" not in e.value.message and "intervention'" not in e.value.message


def test_queries_flow_and_isolation(world) -> None:  # type: ignore[no-untyped-def]
    store, w = world
    pid = w["participants"]["LA01"][0][0]
    dm, rec1, rec2 = actor(store, "dm"), actor(store, "rec1"), actor(store, "rec2")
    with store.unit_of_work(actor="dm") as uow:
        mine = visits.get_visit(uow.session, dm, pid, "m6")[1].id
        with pytest.raises(NotFound):
            queries.raise_query(uow, dm, pid, table_name="visits", record_id=10**6, field="status", question="?")
        q = queries.raise_query(uow, dm, pid, table_name="visits", record_id=mine, field="completed_on",
                                question="date looks early; please check")
        uow.commit()
    with store.unit_of_work(actor="rec2") as uow, pytest.raises(NotFound):
        queries.answer_query(uow, rec2, q.id, answer="x")
    with store.unit_of_work(actor="dm") as uow, pytest.raises(ConflictError):
        queries.close_query(uow, dm, q.id)
    with store.unit_of_work(actor="rec1") as uow:
        queries.answer_query(uow, rec1, q.id, answer="checked: correct")
        uow.commit()
    with store.unit_of_work(actor="dm") as uow:
        queries.close_query(uow, dm, q.id)
        uow.commit()
    with store.read() as s:
        assert queries.get_query(s, dm, q.id)["status"] == "closed"
        trail = s.execute(select(AuditRecord).where(AuditRecord.table_name == "data_queries")).scalars().all()
    assert [r.action for r in trail] == ["insert", "update", "update"]


def test_withdrawal_levels(world) -> None:  # type: ignore[no-untyped-def]
    store, w = world
    pid, arm = w["participants"]["LA01"][1]
    rec1, dm = actor(store, "rec1"), actor(store, "dm")
    with store.unit_of_work(actor="dm") as uow, pytest.raises(BlindingError):
        consent.withdraw(uow, dm, pid, level="intervention", reason="carer too busy")
    with store.unit_of_work(actor="rec1") as uow:
        consent.withdraw(uow, rec1, pid, level="intervention", reason="carer too busy")
        consent.withdraw(uow, rec1, pid, level="follow_up", reason="moving abroad")
        uow.commit()
    with store.read() as s:
        assert [x["level"] for x in consent.withdrawals(s, dm, pid)] == ["follow_up"]
        assert len(consent.withdrawals(s, rec1, pid)) == 2
        vs = visits.participant_visits(s, dm, pid)
        assert {v["status"] for v in vs} == {"withdrawn"}
        assert pid not in {v["participant_id"] for v in visits.overdue_visits(s, dm)}
    with store.unit_of_work(actor="assessor1") as uow, pytest.raises(ConflictError, match="withdrawn"):
        visits.record_visit_outcome(uow, actor(store, "assessor1"), pid, "m6", status="completed")


def test_dashboard_and_datasets_blinding(world) -> None:  # type: ignore[no-untyped-def]
    store, w = world
    pid = w["participants"]["LA01"][0][0]
    a1 = actor(store, "assessor1")
    with store.unit_of_work(actor="assessor1") as uow:
        for inst in ("sdq_parent", "rpq", "eq5d_5l"):
            data_entry.save_responses(uow, a1, pid, "m6", inst, valid_responses(inst))
        uow.commit()
    with store.read() as s:
        blind = dashboard.dashboard(s, actor(store, "dm"))
        open_ = dashboard.dashboard(s, actor(store, "tm"))
        site1 = dashboard.dashboard(s, actor(store, "rec1"))
        assert "allocated_by_arm" not in blind and sum(open_["allocated_by_arm"].values()) == 6
        assert blind["recruited"] == 6 and site1["recruited"] == 3
        assert [r["site"] for r in site1["recruitment_by_site"]] == ["LA01"]
        full = extract_datasets(s, actor(store, "ustat"))
        bl = extract_datasets(s, actor(store, "bstat"))
    assert list(full.participants.columns[:14]) == list(schema.PARTICIPANT_COLUMNS)
    assert not set(bl.participants.columns) & {"arm", "treat", "therapist", "sessions_attended", "complier"}
    assert "arm" not in bl.visits.columns and len(full.participants) == 6 and len(full.visits) == 18
    row = full.participants.set_index("participant_id").loc[pid]
    expected = score(load_instrument("sdq_parent"), valid_responses("sdq_parent"))["total"].value
    assert row["sdq_total_6"] == expected and row["days_6"] == 200.0
    assert set(full.participants["treat"]) <= {0, 1}


@pytest.mark.parametrize("who", ["rec2", "assessor2"])
def test_site_isolation_in_services(world, who) -> None:  # type: ignore[no-untyped-def]
    store, w = world
    pid = w["participants"]["LA01"][0][0]
    a = actor(store, who)
    with store.read() as s:
        for fn in (lambda: visits.participant_visits(s, a, pid), lambda: events.list_events(s, a, participant_id=pid),
                   lambda: data_entry.saved_scores(s, a, pid),
                   lambda: screening.get_screening(s, a, "SCR-LA01-0001")):
            with pytest.raises(NotFound):
                fn()
        if who == "rec2":
            with pytest.raises(NotFound):
                enrol.get_participant(s, a, pid)
            with pytest.raises(NotFound) as guessed:
                enrol.get_participant(s, a, "CARE-9999")
            assert "not found" in guessed.value.message


def test_screen_and_consent_helper_marks_consented(care_trial) -> None:  # type: ignore[no-untyped-def]
    add_users(care_trial)
    number = screen_and_consent(care_trial, "rec1", "LA01")
    with care_trial.read() as s:
        assert screening.get_screening(s, actor(care_trial, "rec1"), number)["outcome"] == "consented"
    assert date.today() > days_ago(1)


def test_what_each_withdrawal_level_stops(world) -> None:  # type: ignore[no-untyped-def]
    store, w = world
    everyone = w["participants"]["LA01"] + w["participants"]["LA02"]
    inter = next(p for p, arm in everyone if arm == "intervention")
    other = next(p for p, _ in everyone if p != inter)
    tm, a1 = actor(store, "tm"), actor(store, "assessor1")
    la01 = w["participants"]["LA01"][0][0]
    with store.unit_of_work(actor="tm") as uow:
        delivery.record_session(uow, tm, inter, session_number=1, offered_on=days_ago(150), attended=True,
                                therapist="T1")
        consent.withdraw(uow, tm, inter, level="intervention", reason="carer stopped", withdrawn_on=days_ago(100))
        with pytest.raises(ConflictError, match="withdrew from the intervention"):
            delivery.record_session(uow, tm, inter, session_number=2, offered_on=days_ago(90), attended=True,
                                    therapist="T1")
        uow.commit()
    with store.read() as s:  # follow-up continues after an intervention withdrawal
        assert any(v["participant_id"] == inter for v in visits.upcoming_visits(s, tm))
    with store.unit_of_work(actor="assessor1") as uow:
        data_entry.save_responses(uow, a1, la01, "m6", "sdq_parent", valid_responses("sdq_parent"))
        uow.commit()
    with store.unit_of_work(actor="tm") as uow:
        consent.withdraw(uow, tm, la01, level="data_use", reason="asked that no more data be used",
                         withdrawn_on=days_ago(50))
        consent.withdraw(uow, tm, other if other != la01 else inter, level="follow_up", reason="moved")
        uow.commit()
    with store.read() as s:
        data = extract_datasets(s, actor(store, "ustat"))
        row = data.participants.set_index("participant_id").loc[la01]
        assert row.isna()["sdq_total_6"]  # collected after the data-use withdrawal: not used
        assert len(data.participants) == 6  # the participant stays in the ITT population
        assert visits.participant_visits(s, tm, la01)[2]["status"] == "withdrawn"


def test_resource_use_entry_reaches_the_analysis_frame(world) -> None:  # type: ignore[no-untyped-def]
    store, w = world
    pid = w["participants"]["LA01"][0][0]
    a1 = actor(store, "assessor1")
    answers = valid_responses("resource_use")
    answers.update({"period_start": days_ago(200).isoformat(), "period_end": days_ago(20).isoformat(),
                    "gp_contacts": 3, "camhs_contacts": 2})
    with store.unit_of_work(actor="assessor1") as uow:
        data_entry.save_responses(uow, a1, pid, "m6", "resource_use", answers)
        uow.commit()
    with store.read() as s:
        ru = extract_datasets(s, actor(store, "ustat")).resource_use
        blind = extract_datasets(s, actor(store, "bstat")).resource_use
    mine = ru[ru["participant_id"] == pid].set_index("item")
    inst = load_instrument("resource_use")
    gp, camhs = inst.item("gp_contacts").cost_key, inst.item("camhs_contacts").cost_key
    assert mine.loc[gp, "quantity"] == 3.0 and mine.loc[camhs, "quantity"] == 2.0
    assert mine.loc[gp, "period_start_days"] == 0 and mine.loc[gp, "period_end_days"] == 180
    assert list(ru.columns) == list(schema.RESOURCE_USE_COLUMNS) and "arm" not in blind.columns


def test_maltreatment_trial_end_to_end(store) -> None:  # type: ignore[no-untyped-def]
    """The second NG26 trial through the same services: its own eligibility, strata and outcome events."""
    from securebase.protocol import load_protocol
    from securebase.trial.randomise import randomise
    from securebase.trial.setup import create_trial

    with store.unit_of_work(actor="test-setup") as uow:
        create_trial(uow, load_protocol("ng26-maltreatment"), seed=5)
        uow.commit()
    users = {"mrec": ("site_recruiter", None), "mstat": ("unblinded_statistician", None)}
    add_users(store, users, trial="ng26-maltreatment")
    a = actor(store, "mrec", "ng26-maltreatment")
    site = load_protocol("ng26-maltreatment").sites[0].code
    dob = (date.today() - timedelta(days=365 * 10 + 40)).isoformat()
    with store.unit_of_work(actor="mrec") as uow:
        rec = screening.screen(uow, a, site_code=site, screened_on=days_ago(400), answers={
            "date_of_birth": dob, "maltreatment_status": "maltreated", "maltreatment_types": ["neglect", "physical"],
            "safe_to_take_part": True})
        assert rec.eligible, rec.ineligible_reasons
        consent.record_consent(uow, a, rec.screening_number, kind="carer_consent", form_version="1.0",
                               signatory_role="birth_parent", signed_on=days_ago(399))
        consent.record_consent(uow, a, rec.screening_number, kind="child_assent", form_version="1.0",
                               signatory_role="child", signed_on=days_ago(399))
        p = enrol.enrol(uow, a, rec.screening_number, enrolled_on=days_ago(398))
        view = randomise(uow, a, p.participant_id, on=days_ago(395))
        events.record_event(uow, a, p.participant_id, event_type="rereferral", occurred_on=days_ago(200))
        uow.commit()
    assert p.participant_id.split("-")[1] == "0001" and p.maltreatment_type == "neglect"
    assert view.arm in {arm.id for arm in load_protocol("ng26-maltreatment").arms}
    stat = actor(store, "mstat", "ng26-maltreatment")
    with store.read() as s:
        data = extract_datasets(s, stat)
    row = data.participants.iloc[0]
    assert row["maltreatment_12"] == 1.0 and row["maltreatment_type"] == "neglect" and pd_isna(row["care_status"])


def pd_isna(value) -> bool:  # type: ignore[no-untyped-def]
    import pandas as pd

    return bool(pd.isna(value))


def test_assign_assessor_needs_a_blinded_assessor_of_the_site(world) -> None:  # type: ignore[no-untyped-def]
    store, w = world
    pid = w["participants"]["LA01"][0][0]
    tm = actor(store, "tm")
    with store.unit_of_work(actor="tm") as uow:
        for bad in ("rec1", "assessor2", "nobody"):
            with pytest.raises(FieldError):
                visits.assign_assessor(uow, tm, pid, "m12", bad)
        v = visits.assign_assessor(uow, tm, pid, "m12", "assessor1")
        uow.commit()
    assert v.assessor == "assessor1"
    with store.read() as s:
        mine = visits.upcoming_visits(s, actor(store, "assessor1"), assessor="assessor1", horizon_days=400)
    assert any(x["visit_id"] == "m12" and x["assessor"] == "assessor1" for x in mine)


def test_store_frames_have_the_simulator_columns(world) -> None:  # type: ignore[no-untyped-def]
    """The extraction gives exactly the frames the simulator gives (same columns, same order)."""
    import numpy as np

    from securebase.analysis.design.parameters import SimulationParameters
    from securebase.analysis.design.simulate import simulate

    store, _ = world
    sim = simulate(SimulationParameters(n_participants=10), np.random.default_rng(1))
    with store.read() as s:
        got = extract_datasets(s, actor(store, "ustat"))
    assert list(got.participants.columns) == list(sim.participants.columns)
    assert list(got.visits.columns) == list(sim.visits.columns)
    assert list(got.resource_use.columns) == list(sim.resource_use.columns)
    assert str(got.participants["randomised_on"].dtype).startswith("datetime64")
