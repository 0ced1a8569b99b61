"""Issue 17, slice 3: corrections and "entered in error" with reasons, audited, reflected in CONSORT."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from web_world import csrf, valid_responses

from securebase.store.tables import AuditRecord, Consent, Event, Response, ScreeningRecord

T = "/trials/ng26-care"


def _screen(c: Any, **over: str) -> str:
    page = c.get(f"{T}/screening").text
    dob = (date.today() - timedelta(days=365 * 10 + 30)).isoformat()
    data = {"csrf_token": csrf(page), "action": "save", "site_code": "LA01", "date_of_birth": dob,
            "care_status": "adopted", "met_carer_available": "yes", "met_placement_ending_planned": "yes", **over}
    r = c.post(f"{T}/screening", data=data)
    assert r.status_code == 200
    return re.search(r"Screening (SCR-LA01-\d+)", r.text).group(1)  # type: ignore[union-attr]



def _counts(web: dict[str, Any]) -> dict[str, Any]:
    from trial_world import actor

    from securebase.trial import screening

    with web["store"].read() as s:
        return screening.consort_counts(s, actor(web["store"], "tm"))


def _audit_reasons(web: dict[str, Any], table: str) -> list[str]:
    with web["store"].read() as s:
        return [r for (r,) in s.execute(select(AuditRecord.reason).where(AuditRecord.table_name == table))]


def test_screening_corrected_and_marked_in_error_leaves_consort(client_for, web) -> None:  # type: ignore[no-untyped-def]
    c = client_for("rec1")
    number = _screen(c, met_placement_ending_planned="no")  # a recruiter's slip: the placement is continuing
    before = _counts(web)
    page = c.get(f"{T}/screening/{number}").text
    assert "Correct this record" in page
    r = c.post(f"{T}/screening/{number}/correct", data={"csrf_token": csrf(page), "age_years": "10",
                                                         "care_status": "adopted", "met_carer_available": "yes",
                                                         "met_placement_ending_planned": "yes", "reason": ""})
    assert r.status_code == 422 and "reason" in r.text.lower()
    r = c.post(f"{T}/screening/{number}/correct", data={"csrf_token": csrf(page), "age_years": "10",
                                                         "care_status": "adopted", "met_carer_available": "yes",
                                                         "met_placement_ending_planned": "yes",
                                                         "reason": "placement answer mistyped; checked with the social worker"})
    assert r.status_code == 200 and "Correction saved" in r.text
    with web["store"].read() as s:
        rec = s.execute(select(ScreeningRecord).where(ScreeningRecord.screening_number == number)).scalar_one()
        assert rec.eligible and rec.outcome == "eligible" and rec.answers["placement_ending_planned"] is False
    assert "placement answer mistyped; checked with the social worker" in _audit_reasons(web, "screening")
    after = _counts(web)
    assert after["ineligible"] == before["ineligible"] - 1 and after["assessed"] == before["assessed"]
    page = c.get(f"{T}/screening/{number}").text
    r = c.post(f"{T}/screening/{number}/in-error", data={"csrf_token": csrf(page),
                                                          "reason": "duplicate of an earlier record of the same child"})
    assert r.status_code == 200 and "Marked entered in error" in r.text and "duplicate of an earlier record" in r.text
    final = _counts(web)
    assert final["assessed"] == after["assessed"] - 1 and final["entered_in_error"] == after["entered_in_error"] + 1


def test_signature_event_and_form_entered_in_error(client_for, web) -> None:  # type: ignore[no-untyped-def]
    c = client_for("rec1")
    number = _screen(c)
    page = c.get(f"{T}/screening/{number}").text
    r = c.post(f"{T}/screening/{number}/consent", data={"csrf_token": csrf(page), "kind": "carer_consent",
                                                         "form_version": "2.0", "signatory_role": "adoptive_parent",
                                                         "given": "no"})
    assert r.status_code == 200
    with web["store"].read() as s:
        rec = s.execute(select(ScreeningRecord).where(ScreeningRecord.screening_number == number)).scalar_one()
        assert rec.outcome == "declined"
        cid = s.execute(select(Consent.id).where(Consent.screening_pk == rec.id)).scalar_one()
    r = c.post(f"{T}/screening/{number}/consent-in-error", data={
        "csrf_token": csrf(page), "consent_id": str(cid), "reason": "refusal recorded against the wrong child"})
    assert r.status_code == 200 and "Signature marked entered in error" in r.text
    with web["store"].read() as s:
        rec = s.execute(select(ScreeningRecord).where(ScreeningRecord.screening_number == number)).scalar_one()
        assert rec.outcome == "approached" and s.get(Consent, cid) is None
    assert "refusal recorded against the wrong child" in _audit_reasons(web, "consents")
    # an event
    pid = web["participants"]["LA01"][0][0]
    page = c.get(f"{T}/participants/{pid}").text
    c.post(f"{T}/participants/{pid}/events", data={"csrf_token": csrf(page), "event_type": "return_home",
                                                   "occurred_on": date.today().isoformat()})
    with web["store"].read() as s:
        eid = s.execute(select(func.max(Event.id))).scalar_one()
    r = c.post(f"{T}/participants/{pid}/event-in-error", data={"csrf_token": csrf(page), "event_id": str(eid),
                                                                "reason": "entered for the wrong child"})
    assert r.status_code == 200 and "Event marked entered in error" in r.text and "entered for the wrong child" in r.text
    with web["store"].read() as s:
        assert s.get(Event, eid) is None
    # a form
    a = client_for("assessor1")
    other = web["participants"]["LA01"][1][0]
    url = f"{T}/participants/{other}/visits/baseline/forms/sdq_parent"
    page = a.get(url).text
    data = {"csrf_token": csrf(page), "complete": "yes"} | {f"item_{k}": str(v) for k, v in valid_responses("sdq_parent").items()}
    assert a.post(url, data=data).status_code == 200
    page = a.get(url).text
    assert "This form entered in error?" in page
    r = a.post(f"{url}/in-error", data={"csrf_token": csrf(page), "entry": "1", "reason": "answers were for another child"})
    assert r.status_code == 200 and "Form marked entered in error" in r.text
    with web["store"].read() as s:
        from securebase.store.tables import Participant, Visit

        vpk = s.execute(select(Visit.id).join(Participant, Participant.id == Visit.participant_pk).where(
            Participant.participant_id == other, Visit.visit_id == "baseline")).scalar_one()
        assert s.execute(select(func.count()).select_from(Response).where(
            Response.visit_pk == vpk, Response.instrument == "sdq_parent")).scalar_one() == 0
    assert "answers were for another child" in _audit_reasons(web, "responses")
