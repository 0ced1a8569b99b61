"""Browser tests: Playwright for Python driving Debian's Chromium (headless) against a live server.

Walks a recruiter through screening, consent and randomisation; an assessor through a 6-month visit with a
validation error put right; a data manager through a query; and a participant's withdrawal. Screenshots are
kept under test-artifacts/browser/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_kit import screen_child
from web_world import PASSWORD, start_server, valid_responses

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def live(web: dict[str, Any]) -> Iterator[str]:
    base, server = start_server(web["app"])
    yield base
    server.should_exit = True


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield b
        b.close()


@pytest.fixture
def page_as(browser: Any, live: str):  # type: ignore[no-untyped-def]
    contexts = []

    def make(user: str) -> Any:
        ctx = browser.new_context(base_url=live, viewport={"width": 420, "height": 900})  # a phone-sized screen
        contexts.append(ctx)
        page = ctx.new_page()
        page.goto("/login")
        page.fill("#login #f-username", user)
        page.fill("#login #f-password", PASSWORD)
        page.click("#login button[type=submit]")
        page.wait_for_selector("text=Your trials")
        return page
    yield make
    for c in contexts:
        c.close()


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_recruiter_screens_consents_and_randomises(page_as) -> None:  # type: ignore[no-untyped-def]
    page = page_as("rec1")
    page.click("text=ng26-care")
    page.click("nav >> text=Screening")
    screen_child(page)
    shot(page, "01-screening-summary")
    page.click("#screen-confirm button[value=save]")
    page.wait_for_selector("text=saved: eligible")
    assert "Screening SCR-LA01-" in page.inner_text("h1")
    for kind, version, who in (("carer_consent", "2.0", "foster_carer"), ("child_assent", "1.0", "child"),
                               ("la_consent", "1.1", "social_worker")):
        page.select_option("#consent-form #f-kind", kind)
        page.fill("#consent-form #f-form_version", version)
        page.select_option("#consent-form #f-signatory_role", who)
        page.check("#consent-form input[name=given][value=yes]")
        page.click("#consent-form button[type=submit]")
        page.wait_for_selector("text=Signature recorded")
    assert "written assent form (11-15), version 1.0" in page.content()
    shot(page, "02-consent-complete")
    page.click("#enrol-form button[type=submit]")
    page.wait_for_selector("text=Enrolled")
    pid = page.inner_text("h1").split()[-1]
    page.click("text=Randomise (check first)")
    page.click("#randomise-confirm button[type=submit]")
    page.wait_for_selector("#receipt")
    page.click(f"text=Back to {pid}")
    page.wait_for_selector("#allocation")
    text = page.inner_text("#allocation")
    assert "Arm" in text and ("usual_care" in text or "intervention" in text)
    assert "6 months" in page.content()
    shot(page, "03-randomised")
    assert pid.startswith("CARE-")


def test_assessor_six_month_visit_with_a_validation_error_put_right(page_as, web) -> None:  # type: ignore[no-untyped-def]
    page = page_as("assessor1")
    page.goto("/trials/ng26-care/visits")
    pid = web["participants"]["LA01"][1][0]
    page.click(f"text={pid} 6 months")
    page.click("text=SDQ parent report (4-17)")
    answers = valid_responses("sdq_parent")
    skipped = "12"
    for code, value in answers.items():
        if code != skipped:
            page.select_option(f"#data-entry #f-item_{code}", str(value))
    page.click("#data-entry button[type=submit]")
    err = page.locator(f'.field-error[data-for="item_{skipped}"]')
    assert "has no answer" in err.inner_text()
    shot(page, "04-validation-error")
    page.select_option(f"#data-entry #f-item_{skipped}", str(answers[skipped]))
    page.click("#data-entry button[type=submit]")
    page.wait_for_selector("text=Saved:")
    assert "total" in page.inner_text(".notice")
    shot(page, "05-visit-saved")


def test_data_manager_query_answered_and_closed(page_as, web) -> None:  # type: ignore[no-untyped-def]
    pid = web["participants"]["LA01"][0][0]
    dm = page_as("dm")
    dm.goto(f"/trials/ng26-care/participants/{pid}")
    dm.click("text=Raise a data query")
    dm.select_option("#new-query-form #f-about", label="Participant: Sex")
    dm.fill("#new-query-form #f-question", "Sex differs from the referral form; please check")
    dm.click("#new-query-form button[type=submit]")
    dm.wait_for_selector("text=raised on Participant: Sex")
    dm.locator("#queries tr", has_text="Sex differs from the referral form").locator("a").first.click()
    dm.wait_for_selector("#answer-form, #close-form, dl")
    url = dm.url
    shot(dm, "06-query-raised")
    rec = page_as("rec1")
    rec.goto(url)
    rec.fill("#answer-form #f-answer", "Checked the consent form: recorded correctly")
    rec.click("#answer-form button[type=submit]")
    rec.wait_for_selector("text=Answer sent")
    dm.goto(url)
    dm.click("#close-form button[type=submit]")
    dm.wait_for_selector("text=Query closed")
    assert "closed" in dm.content()
    shot(dm, "07-query-closed")


def test_participant_withdrawal(page_as, web) -> None:  # type: ignore[no-untyped-def]
    pid = web["participants"]["LA01"][2][0]
    page = page_as("rec1")
    page.goto(f"/trials/ng26-care/participants/{pid}")
    page.select_option("#withdraw-form #f-level", "follow_up")
    page.fill("#withdraw-form #f-reason", "family moving abroad")
    page.click("#withdraw-form button[type=submit]")
    page.wait_for_selector("text=Withdrawal recorded")
    content = page.content()
    assert "withdrawn follow up" in content and "stops further follow-up visits" in content
    assert content.count(">withdrawn<") >= 2
    shot(page, "08-withdrawn")
