"""Issue 17, slice 4: data queries raised on the field (beside a form item, or from the participant page by
choosing what they are about), shown where the data are with their age, and e-mailed through a real local
SMTP server to the people at the site who must answer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from browser_kit import browser, shot  # noqa: F401 (fixture)
from web_world import PASSWORD, csrf, start_server

T = "/trials/ng26-care"


@pytest.fixture(scope="module")
def emails(web: dict[str, Any]) -> dict[str, str]:
    from trial_world import actor

    from securebase.trial import field_queries

    addresses = {"rec1": "rec1@la01.example.org", "assessor1": "assessor1@la01.example.org",
                 "rec2": "rec2@la02.example.org", "dm": "dm@ctu.example.org"}
    with web["store"].unit_of_work(actor="tm") as uow:
        for user, email in addresses.items():
            field_queries.set_email(uow, actor(web["store"], "tm"), user, email)
        uow.commit()
    return addresses


@pytest.fixture
def mail_live(web: dict[str, Any], smtp_inbox: Any) -> Iterator[str]:
    from securebase.web import create_app

    settings = web["settings"].model_copy(update={"smtp_host": smtp_inbox.host, "smtp_port": smtp_inbox.port,
                                                  "mail_from": "queries@ctu.example.org"})
    base, server = start_server(create_app(settings, store=web["store"], secure_cookies=False))
    yield base
    server.should_exit = True


def test_recipients_are_the_answerers_of_the_site(web, emails) -> None:  # type: ignore[no-untyped-def]
    from securebase.trial import field_queries

    with web["store"].read() as s:
        assert field_queries.recipients(s, "ng26-care", "LA01") == [("assessor1", emails["assessor1"]),
                                                                  ("rec1", emails["rec1"])]


def test_query_from_the_participant_page_by_choosing_what(client_for, web, emails) -> None:  # type: ignore[no-untyped-def]
    c = client_for("dm")
    pid = web["first"]
    page = c.get(f"{T}/participants/{pid}").text
    assert "Raise a data query" in page and "Query " in page  # the world's query shows on the participant
    form = c.get(f"{T}/participants/{pid}/queries/new").text
    assert "record number" not in form.lower() and "table" not in form.lower()
    assert '<option value="participants:' in form and "Participant: Sex" in form
    about = next(v for v in form.split('<option value="')[1:] if "Participant: Sex" in v).split('"')[0]
    r = c.post(f"{T}/participants/{pid}/queries/new", data={"csrf_token": csrf(form), "about": about, "question": ""})
    assert r.status_code == 422 and 'href="#f-question"' in r.text and f'value="{about}" selected' in r.text
    r = c.post(f"{T}/participants/{pid}/queries/new", data={"csrf_token": csrf(form), "about": about,
                                                             "question": "Sex differs from the referral; please check"})
    assert r.status_code == 200 and "raised on Participant: Sex" in r.text
    section = r.text[r.text.index('id="queries"'):]
    assert "Sex differs from the referral; please check" in section and "under an hour" in section
    # roles that do not raise queries are not offered the link, and are refused the page
    rec = client_for("rec1")
    assert "Raise a data query" not in rec.get(f"{T}/participants/{pid}").text
    assert rec.get(f"{T}/participants/{pid}/queries/new").status_code == 403


@pytest.mark.browser
def test_browser_query_raised_beside_an_item_emails_the_site(browser, mail_live, smtp_inbox, web, emails) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    ctx = browser.new_context(base_url=mail_live, viewport={"width": 420, "height": 900})
    try:
        page = ctx.new_page()
        page.goto("/login")
        page.fill("#login #f-username", "dm")
        page.fill("#login #f-password", PASSWORD)
        page.click("#login button[type=submit]")
        page.wait_for_selector("text=Your trials")
        pid = web["first"]
        url = f"{T}/participants/{pid}/visits/m6/forms/sdq_parent"
        page.goto(url)
        page.click('#f-item_5 ~ a.raise-query, a.raise-query[href*="item=5"]')
        page.wait_for_selector("#new-query-form")
        assert "sdq_parent item 5 (6 months)" in page.inner_text("main")
        page.fill("#new-query-form #f-question", "Item 5 looks out of line with the paper form; please check")
        page.click("#new-query-form button[type=submit]")
        page.wait_for_selector(".notice")
        notice = page.inner_text(".notice")
        assert "raised on sdq_parent item 5 (6 months); e-mailed assessor1, rec1" in notice, notice
        assert page.url.endswith(url)
        beside = page.locator("#f-item_5").locator("xpath=..").inner_text()
        assert "Open query (under an hour): Item 5 looks out of line with the paper form; please check" in beside
        shot(page, "query-beside-item")
    finally:
        ctx.close()
    assert len(smtp_inbox.received) == 1
    mail = smtp_inbox.received[0]
    assert sorted(smtp_inbox.envelopes[0][1]) == [emails["assessor1"], emails["rec1"]]
    assert mail["Subject"].startswith("Data query ") and pid in mail["Subject"]
    body = mail.get_payload(decode=True).decode() if not mail.is_multipart() else mail.get_payload(0).get_payload(decode=True).decode()
    assert "Item 5 looks out of line with the paper form" in body and f"{mail_live}/trials/ng26-care/queries/" in body
