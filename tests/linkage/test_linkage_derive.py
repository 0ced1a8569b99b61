"""Outcomes derived from linked routine records by the protocol's declared rules (issue 21), on hand-made rows."""

from __future__ import annotations

import math

import pytest
from linkage_world import MALT, extract, link_rows, maltreatment_trial
from trial_world import USERS, actor, add_users, days_ago, enrol_and_randomise

from securebase.analysis.datasets import extract_datasets
from securebase.protocol import load_protocol
from securebase.protocol.derivations import Derivations


def _rows(store, user: str, trial: str, **kw):  # type: ignore[no-untyped-def]
    with store.read() as s:
        df = extract_datasets(s, actor(store, user, trial), **kw).participants
    return {r["participant_id"]: r for r in df.to_dict("records")}


def test_maltreatment_12_from_linked_records_without_the_12_month_visit(store) -> None:  # type: ignore[no-untyped-def]
    clean, entered, s47, unconsented = maltreatment_trial(store, n=4, back=400)
    r0 = days_ago(400)
    pks = {pid: link_rows(store, MALT, pid) for pid in (clean, entered, s47)}
    link_rows(store, MALT, unconsented, consent=False)
    start, end = r0 - __import__("datetime").timedelta(days=30), days_ago(2)
    extract(store, MALT, "ssda903", start, end, [
        {"participant_pk": pks[entered], "kind": "episode", "starts_on": days_ago(300), "ends_on": None,
         "details": {"RNE": "S", "LS": "C2", "PLACE": "U1"}}])
    extract(store, MALT, "cin", start, end, [
        {"participant_pk": pks[s47], "kind": "section47", "starts_on": days_ago(250), "ends_on": None, "details": {}},
        # a referral before randomisation (the one that led to the trial) does not count
        {"participant_pk": pks[clean], "kind": "cin_referral", "starts_on": days_ago(420), "ends_on": None, "details": {}}])
    got = _rows(store, "mstat", MALT)
    assert got[clean]["maltreatment_12"] == 0.0  # missed the 12-month visit, clean linked record
    assert got[entered]["maltreatment_12"] == 1.0  # entry to care counts (composite estimand)
    assert got[s47]["maltreatment_12"] == 1.0  # section 47 enquiry counts
    assert math.isnan(got[unconsented]["maltreatment_12"])  # no linkage consent: not observed
    hand = _rows(store, "mstat", MALT, source="hand_entered")  # the sensitivity source: no visit, no form
    assert all(math.isnan(hand[p]["maltreatment_12"]) for p in (clean, entered, s47))


def test_maltreatment_12_needs_the_whole_window_covered(store) -> None:  # type: ignore[no-untyped-def]
    (pid,) = maltreatment_trial(store, n=1, back=400)
    pk = link_rows(store, MALT, pid)
    extract(store, MALT, "cin", days_ago(430), days_ago(200), [])  # ends before day 365
    extract(store, MALT, "ssda903", days_ago(430), days_ago(2), [])
    assert math.isnan(_rows(store, "mstat", MALT)[pid]["maltreatment_12"])
    extract(store, MALT, "cin", days_ago(199), days_ago(2), [])  # the next year's census joins on
    assert _rows(store, "mstat", MALT)[pid]["maltreatment_12"] == 0.0
    assert pk > 0


def test_planned_move_is_not_a_disruption_unplanned_is(care_trial) -> None:  # type: ignore[no-untyped-def]
    store = care_trial
    add_users(store, USERS)
    planned, unplanned, left, adopted = (enrol_and_randomise(store, "rec1", "LA01", back=300)[0] for _ in range(4))
    pks = {pid: link_rows(store, "ng26-care", pid) for pid in (planned, unplanned, left, adopted)}

    def ep(pid, start, end, rne, reason=None, rec=None):  # type: ignore[no-untyped-def]
        return {"participant_pk": pks[pid], "kind": "episode", "starts_on": days_ago(start),
                "ends_on": days_ago(end) if end is not None else None,
                "details": {"RNE": rne, "REASON_PLACE_CHANGE": reason, "REC": rec}}

    # SSDA903 records the reason for a placement change on the episode that ends with it (REC X1)
    recs = [ep(planned, 500, 250, "S", rec="X1", reason="CARPL"), ep(planned, 250, None, "P"),
            ep(unplanned, 500, 250, "S", rec="X1", reason="CARPL"), ep(unplanned, 250, 100, "P", reason="CREQB", rec="X1"),
            ep(unplanned, 100, None, "P"),
            ep(left, 500, 200, "S", rec="E3"),
            ep(adopted, 500, 150, "S", rec="E11")]
    extract(store, "ng26-care", "ssda903", days_ago(600), days_ago(10), recs)
    got = _rows(store, "ustat", "ng26-care")
    assert (got[planned]["placement_end_event"], got[planned]["placement_end_time"]) == (0, 290.0)  # censored at extract
    assert (got[unplanned]["placement_end_event"], got[unplanned]["placement_end_time"]) == (1, 200.0)  # CREQB
    assert (got[left]["placement_end_event"], got[left]["placement_end_time"]) == (0, 100.0)  # left the authority
    assert (got[adopted]["placement_end_event"], got[adopted]["placement_end_time"]) == (2, 150.0)  # competing


def test_school_outcomes_and_attainment_from_linked_school_records(care_trial) -> None:  # type: ignore[no-untyped-def]
    store = care_trial
    add_users(store, USERS)
    pid, _ = enrol_and_randomise(store, "rec1", "LA01", back=300)
    pk = link_rows(store, "ng26-care", pid)
    extract(store, "ng26-care", "school", days_ago(320), days_ago(5), [
        {"participant_pk": pk, "kind": "school_period", "starts_on": days_ago(290), "ends_on": days_ago(150),
         "details": {"sessions_possible": 180, "sessions_attended": 150, "suspensions": 1, "permanent_exclusion": "0"}},
        {"participant_pk": pk, "kind": "school_period", "starts_on": days_ago(149), "ends_on": days_ago(10),
         "details": {"sessions_possible": 120, "sessions_attended": 120, "suspensions": 2, "permanent_exclusion": "0",
                     "ks2_reading": 104, "ks2_maths": 98}}])
    row = _rows(store, "ustat", "ng26-care")[pid]
    assert row["attendance_12"] == pytest.approx(270 / 300) and row["exclusions_12"] == 3.0
    assert row["persistent_absence_12"] == 0.0 and row["permanent_exclusion_12"] == 0.0
    assert row["ks2_mean_12"] == 101.0 and math.isnan(row["attainment8_12"])


def test_derivations_are_declared_in_the_protocol_not_switched_on_by_trial_id() -> None:
    malt, care = load_protocol("ng26-maltreatment"), load_protocol("ng26-care")
    assert malt.derivations.ongoing_maltreatment is not None and care.derivations.ongoing_maltreatment is None
    om = malt.derivations.ongoing_maltreatment
    assert {"section47_enquiry", "entry_to_care"} <= set(om.events) and "entry_to_care" in om.composite_intercurrent
    from securebase.analysis.sap import load_plan
    plan = load_plan("ng26-maltreatment")
    est = next(o for o in plan.outcomes if o.estimand.variable == om.variable).estimand
    composite = {e.event for e in est.intercurrent_events if e.strategy == "composite"}
    assert composite == set(om.composite_intercurrent)  # the protocol's rule follows the SAP estimand
    with pytest.raises(ValueError, match="neither planned nor unplanned"):
        Derivations.model_validate({"placement_disruption": {"unplanned_reason_place_change": ["CREQB"],
                                                             "planned_reason_place_change": ["CARPL"]}})
    with pytest.raises(ValueError, match="not DfE SSDA903 codes"):
        Derivations.model_validate({"placement_disruption": {"unplanned_reason_place_change": ["BOGUS"],
                                                             "planned_reason_place_change": []}})


def test_the_sap_shows_the_declared_derivation_rules() -> None:
    from securebase.analysis.sap import load_plan

    text = load_plan("ng26-care").summary("markdown")
    assert "## Outcomes from routine records (protocol derivation rules)" in text
    assert "planned (not a disruption) CARPL, PLACE, CUSTOD, OTHER" in text and "E11 (adoption_order)" in text


def test_linked_outcomes_respect_the_data_cut(store) -> None:  # type: ignore[no-untyped-def]
    (pid,) = maltreatment_trial(store, n=1, back=400)
    pk = link_rows(store, MALT, pid)
    extract(store, MALT, "cin", days_ago(430), days_ago(2), [
        {"participant_pk": pk, "kind": "section47", "starts_on": days_ago(100), "ends_on": None, "details": {}}])
    extract(store, MALT, "ssda903", days_ago(430), days_ago(2), [])
    assert _rows(store, "mstat", MALT)[pid]["maltreatment_12"] == 1.0
    cut = days_ago(200)  # before the enquiry and before day 365: not yet known, not yet observed
    with store.read() as s:
        row = extract_datasets(s, actor(store, "mstat", MALT), as_of=cut).participants.iloc[0]
    assert math.isnan(row["maltreatment_12"]) and row["placement_end_time"] == (cut - days_ago(400)).days


def test_adoption_disruption_is_re_entry_to_care_after_adoption(care_trial) -> None:  # type: ignore[no-untyped-def]
    store = care_trial
    add_users(store, USERS)
    back, stays = (enrol_and_randomise(store, "rec1", "LA01", back=300)[0] for _ in range(2))
    pks = {pid: link_rows(store, "ng26-care", pid) for pid in (back, stays)}

    def ep(pid, start, end, rne, rec=None):  # type: ignore[no-untyped-def]
        return {"participant_pk": pks[pid], "kind": "episode", "starts_on": days_ago(start),
                "ends_on": days_ago(end) if end is not None else None, "details": {"RNE": rne, "REC": rec}}

    extract(store, "ng26-care", "ssda903", days_ago(600), days_ago(10), [
        ep(back, 500, 200, "S", rec="E11"), ep(back, 60, None, "S"), ep(stays, 500, 150, "S", rec="E12")])
    got = _rows(store, "ustat", "ng26-care")
    assert got[back]["adoption_disruption"] == 1.0 and got[stays]["adoption_disruption"] == 0.0
    assert math.isnan(_rows(store, "ustat", "ng26-care", source="hand_entered")[back]["adoption_disruption"])
