"""Issue 17, slice 1: eligibility asked as positive questions, nothing saved from an empty or partial
screening form, an eligibility summary before saving, and the re-check at randomisation."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from browser_kit import browser, live, page_as, screen_child, shot  # noqa: F401 (fixtures)
from sqlalchemy import func, select
from web_world import csrf

from securebase.protocol import answers_from_met, builtin_names, check_eligibility, load_protocol, met_field
from securebase.protocol.models import Criterion
from securebase.store.tables import ScreeningRecord

T = "/trials/ng26-care"


def _count(web: dict[str, Any]) -> int:
    with web["store"].read() as s:
        return s.execute(select(func.count()).select_from(ScreeningRecord)).scalar_one()


def test_every_builtin_criterion_is_a_positive_question() -> None:
    for name in builtin_names():
        for c in load_protocol(name).eligibility:
            assert c.question and c.question.endswith("?"), (name, c.id)
            assert not any(w in c.question.lower().split() for w in ("no", "not", "never", "none")), c.question


def test_question_yes_means_met_even_for_an_exclusion() -> None:
    p = load_protocol("ng26-care")
    c = next(x for x in p.eligibility if x.id == "placement_ending_planned")
    assert c.question == "Is the current placement expected to continue for at least the next 3 months?"
    base = {"age_years": 9, "care_status": "foster", "carer_available": True}
    yes = answers_from_met(p, {met_field(c): "yes"})
    no = answers_from_met(p, {met_field(c): "no"})
    assert yes == {"placement_ending_planned": False} and no == {"placement_ending_planned": True}
    assert check_eligibility(p, base | yes).eligible
    r = check_eligibility(p, base | no)
    assert not r.eligible and r.reasons == ("No placement ending planned within 3 months (exclusion criterion met)",)


def test_a_negative_question_is_refused() -> None:
    with pytest.raises(ValueError, match="phrased positively"):
        Criterion(id="x", label="x", question="Is no ending planned?", kind="boolean", field="x", expected=False)


def _form(page: str, **fields: str) -> dict[str, str]:
    return {"csrf_token": csrf(page), **fields}


def test_empty_screening_form_saves_nothing_and_lists_every_missing_answer(client_for, web) -> None:  # type: ignore[no-untyped-def]
    c = client_for("rec1")
    page = c.get(f"{T}/screening").text
    before = _count(web)
    r = c.post(f"{T}/screening", data=_form(page, site_code="", action="save"))
    assert r.status_code == 422 and _count(web) == before
    html = r.text
    assert "There is a problem" in html and html.count('role="alert"') == 1
    for anchor, label in (("#f-site_code", "Site"), ("#f-date_of_birth", "Child&#39;s date of birth"),
                          ("#f-care_status", "Is the child adopted"),
                          ("#f-met_carer_available", "Is a carer able to take part"),
                          ("#f-met_placement_ending_planned", "Is the current placement expected to continue")):
        assert f'<a href="{anchor}">{label}' in html, anchor
    assert "answer missing" not in html


def test_partial_form_keeps_values_and_saves_nothing(client_for, web) -> None:  # type: ignore[no-untyped-def]
    c = client_for("rec1")
    page = c.get(f"{T}/screening").text
    before = _count(web)
    dob = (date.today() - timedelta(days=365 * 9)).isoformat()
    r = c.post(f"{T}/screening", data=_form(page, site_code="LA01", date_of_birth=dob, care_status="kinship",
                                             met_carer_available="yes", action="check"))
    assert r.status_code == 422 and _count(web) == before
    assert f'value="{dob}"' in r.text and 'value="kinship" checked' in r.text and 'value="yes" checked' in r.text
    assert '<a href="#f-met_placement_ending_planned">' in r.text and '<a href="#f-care_status">' not in r.text


def test_summary_before_saving_then_save(client_for, web) -> None:  # type: ignore[no-untyped-def]
    c = client_for("rec1")
    page = c.get(f"{T}/screening").text
    before = _count(web)
    dob = (date.today() - timedelta(days=365 * 9)).isoformat()
    fields = dict(site_code="LA01", date_of_birth=dob, care_status="adopted", met_carer_available="yes",
                  met_placement_ending_planned="no")
    r = c.post(f"{T}/screening", data=_form(page, action="check", **fields))
    assert r.status_code == 200 and _count(web) == before
    assert "Check the eligibility before saving" in r.text and "Not eligible: No placement ending planned" in r.text
    r = c.post(f"{T}/screening", data=_form(page, action="save", **fields))
    assert r.status_code == 200 and _count(web) == before + 1 and "saved: not eligible" in r.text
    assert "?notice" not in str(r.url) and "notice=" not in str(r.url)


def test_randomisation_rechecks_eligibility(web) -> None:  # type: ignore[no-untyped-def]
    """A participant whose screening answers no longer pass the protocol is refused at randomisation."""
    from trial_world import actor

    from securebase.errors import NotEligible
    from securebase.trial import consent, enrol, screening
    from securebase.trial.randomise import randomise

    store = web["store"]
    a = actor(store, "rec1")
    with store.unit_of_work(actor="rec1") as uow:
        rec = screening.screen(uow, a, site_code="LA01", screened_on=date.today() - timedelta(days=800), answers={
            "age_years": 16, "care_status": "adopted", "carer_available": True, "placement_ending_planned": False})
        for kind, who in (("carer_consent", "adoptive_parent"), ("child_assent", "young_person")):
            consent.record_consent(uow, a, rec.screening_number, kind=kind, form_version="1.0", signatory_role=who,
                                   signed_on=date.today() - timedelta(days=790))
        p = enrol.enrol(uow, a, rec.screening_number, sex="female", enrolled_on=date.today() - timedelta(days=790))
        uow.commit()
    with store.unit_of_work(actor="tm") as uow, pytest.raises(NotEligible, match="re-checked at randomisation"):
        randomise(uow, actor(store, "tm"), p.participant_id)


@pytest.mark.browser
@pytest.mark.parametrize("answer,eligible", [("yes", True), ("no", False)])
def test_browser_placement_question_both_ways(page_as, web, answer: str, eligible: bool) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    page = page_as("rec1")
    screen_child(page, placement_continues=answer)
    summary = page.inner_text("#eligibility-summary")
    assert "Is the current placement expected to continue for at least the next 3 months?" in summary
    assert summary.count("Eligible: every criterion is met.") == (1 if eligible else 0)
    shot(page, f"eligibility-summary-{answer}")
    page.click("#screen-confirm button[value=save]")
    page.wait_for_selector(".notice")
    notice = page.inner_text(".notice")
    assert notice.endswith("saved: eligible" if eligible else "saved: not eligible"), notice
    assert "notice" not in page.url
    record = page.inner_text("main")
    assert ("Eligible\nyes" if eligible else "Eligible\nno") in record


@pytest.mark.browser
def test_browser_empty_screening_form_saves_nothing(page_as, web) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    before = _count(web)
    page = page_as("rec1")
    page.goto(f"{T}/screening")
    page.select_option("#screen #f-site_code", "")
    page.click("#screen button[type=submit]")
    page.wait_for_selector("#error-summary")
    assert _count(web) == before
    links = page.locator("#error-summary a")
    assert links.count() == 5
    page.locator('#error-summary a[href="#f-met_placement_ending_planned"]').click()
    assert page.evaluate("document.activeElement.name") == "met_placement_ending_planned"
    shot(page, "eligibility-empty-form")
