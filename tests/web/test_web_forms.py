"""Issue 17, slice 2: forms that help (error summary with a line per field and the message beside it,
values kept, no "(got None)", no preselected consent, "v1.0" accepted), randomisation with a confirmation
step and a printable receipt, and success messages that never travel in the URL."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from browser_kit import browser, live, page_as, screen_child, shot  # noqa: F401 (fixtures)
from web_world import csrf, valid_responses

T = "/trials/ng26-care"


def _eligible_record(c: Any) -> str:
    page = c.get(f"{T}/screening").text
    dob = (date.today() - timedelta(days=365 * 12 + 30)).isoformat()
    r = c.post(f"{T}/screening", data={"csrf_token": csrf(page), "action": "save", "site_code": "LA01",
                                        "date_of_birth": dob, "care_status": "foster", "met_carer_available": "yes",
                                        "met_placement_ending_planned": "yes"})
    assert r.status_code == 200, r.text[:300]
    return re.search(r"Screening (SCR-LA01-\d+)", r.text).group(1)  # type: ignore[union-attr]


def test_empty_sdq_gives_one_linked_line_per_item_and_messages_beside_items(client_for, web) -> None:  # type: ignore[no-untyped-def]
    c = client_for("assessor1")
    pid = web["participants"]["LA01"][1][0]
    url = f"{T}/participants/{pid}/visits/m6/forms/sdq_parent"
    page = c.get(url).text
    r = c.post(url, data={"csrf_token": csrf(page), "complete": "yes"})
    assert r.status_code == 422
    html = r.text
    n_items = len(valid_responses("sdq_parent"))
    summary = html[html.index('id="error-summary"'):html.index("</div>", html.index('id="error-summary"'))]
    assert summary.count('<a href="#f-item_') == n_items and 'class="error"' not in summary
    assert html.count('role="alert"') == 1  # the summary only: no empty alert regions per item
    assert html.count('class="field-error" id="e-item_') == n_items
    assert html.count('aria-invalid="true"') == n_items and "(got None)" not in html


def test_consent_form_has_no_default_keeps_values_and_accepts_v_prefix(client_for) -> None:  # type: ignore[no-untyped-def]
    c = client_for("rec1")
    number = _eligible_record(c)
    page = c.get(f"{T}/screening/{number}").text
    form = page[page.index('id="consent-form"'):page.index("</form>", page.index('id="consent-form"'))]
    assert 'type="radio" name="given"' in form and "checked" not in form
    r = c.post(f"{T}/screening/{number}/consent", data={"csrf_token": csrf(page), "kind": "carer_consent",
                                                         "form_version": "v2.0", "signatory_role": "foster_carer"})
    assert r.status_code == 422 and '<a href="#f-given">Was consent given?: Answer whether consent was given' in r.text
    assert 'value="v2.0"' in r.text and '<option value="foster_carer" selected>' in r.text
    r = c.post(f"{T}/screening/{number}/consent", data={"csrf_token": csrf(page), "kind": "carer_consent",
                                                         "form_version": "first", "signatory_role": "foster_carer",
                                                         "given": "yes"})
    assert r.status_code == 422 and 'value="first"' in r.text and 'id="e-form_version"' in r.text
    r = c.post(f"{T}/screening/{number}/consent", data={"csrf_token": csrf(page), "kind": "carer_consent",
                                                         "form_version": "v2.0", "signatory_role": "foster_carer",
                                                         "given": "yes"})
    assert r.status_code == 200 and "carer consent form, version 2.0" in r.text and "Signature recorded" in r.text
    assert "carer_consent v2.0" not in r.text


def test_event_form_keeps_values_after_an_error(client_for, web) -> None:  # type: ignore[no-untyped-def]
    c = client_for("rec1")
    pid = web["participants"]["LA01"][0][0]
    page = c.get(f"{T}/participants/{pid}").text
    r = c.post(f"{T}/participants/{pid}/events", data={"csrf_token": csrf(page), "event_type": "return_home",
                                                        "details": "note: kept after the error"})
    assert r.status_code == 422 and "kept after the error" in r.text
    assert '<option value="return_home" selected>' in r.text and '<a href="#f-occurred_on">Date: Enter the date' in r.text
    future = (date.today() + timedelta(days=30)).isoformat()
    r = c.post(f"{T}/participants/{pid}/events", data={"csrf_token": csrf(page), "event_type": "return_home",
                                                        "occurred_on": future})
    assert r.status_code == 422 and f'value="{future}"' in r.text and "(got None)" not in r.text


def test_describe_never_says_got_none() -> None:
    from securebase.errors import describe

    assert describe("reason", None, "a reason") == "reason must be a reason (nothing was entered)"
    assert describe("reason", "  ", "a reason").endswith("(nothing was entered)")


@pytest.mark.browser
def test_browser_randomisation_confirm_receipt_and_no_score_in_any_url(page_as, web) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    page = page_as("rec1")
    urls: list[str] = []
    page.on("request", lambda req: urls.append(req.url))
    screen_child(page, age=9, care_status="adopted")
    page.click("#screen-confirm button[value=save]")
    page.wait_for_selector("text=saved: eligible")
    for kind, version, who in (("carer_consent", "v2.0", "adoptive_parent"), ("child_assent", "1.0", "child")):
        page.select_option("#consent-form #f-kind", kind)
        page.fill("#consent-form #f-form_version", version)
        page.select_option("#consent-form #f-signatory_role", who)
        page.check("#consent-form input[name=given][value=yes]")
        page.click("#consent-form button[type=submit]")
        page.wait_for_selector("text=Signature recorded")
    page.click("#enrol-form button[type=submit]")
    page.wait_for_selector("text=Enrolled")
    pid = page.inner_text("h1").split()[-1]
    with web["store"].read() as s:
        from sqlalchemy import select

        from securebase.store.tables import Allocation, Participant
        pk = s.execute(select(Participant.id).where(Participant.participant_id == pid)).scalar_one()
        assert s.execute(select(Allocation).where(Allocation.participant_pk == pk)).first() is None
    page.click("text=Randomise (check first)")
    page.wait_for_selector("#randomise-confirm")
    assert "Randomise " in page.inner_text("h1") and "cannot be undone" in page.content()
    with web["store"].read() as s:  # the confirmation page allocates nothing
        assert s.execute(select(Allocation).where(Allocation.participant_pk == pk)).first() is None
    shot(page, "randomise-confirm")
    page.click("#randomise-confirm button[type=submit]")
    page.wait_for_selector("#receipt")
    receipt = page.inner_text("#receipt")
    assert pid in receipt and "Allocation number" in receipt and "Allocated by\nrec1" in receipt
    shot(page, "randomise-receipt")
    # an assessor saves an SDQ: the scores are shown on the next page but no URL ever carries them
    a = page_as("assessor1")
    a.on("request", lambda req: urls.append(req.url))
    other = web["participants"]["LA01"][1][0]
    a.goto(f"{T}/participants/{other}/visits/baseline/forms/sdq_parent")
    for code, value in valid_responses("sdq_parent").items():
        a.select_option(f"#data-entry #f-item_{code}", str(value))
    a.click("#data-entry button[type=submit]")
    a.wait_for_selector("text=Saved:")
    assert "total" in a.inner_text(".notice")
    assert urls and not [u for u in urls if "notice" in u or "total" in u or "score" in u.lower()], urls
    a.reload()
    assert a.locator(".notice").count() == 0  # shown once
