"""The respondent pages through HTTP (no browser): the questionnaire shows, saves, resumes and submits without
JavaScript; used, expired and forged links get a plain page and no data; guessing is throttled; no page differs
between arms; nothing on a page identifies the child or the arm."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from respond_world import build_respond_world
from sqlalchemy import select
from trial_world import valid_responses

from securebase.store.tables import Invitation, Response


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from securebase.web import create_app

    w = build_respond_world(tmp_path_factory.mktemp("respond"))
    w["app"] = create_app(w["settings"], store=w["store"], secure_cookies=False)
    yield w
    w["store"].dispose()


def client(world: dict[str, Any], ip: str = "testclient") -> Any:
    from fastapi.testclient import TestClient

    return TestClient(world["app"], raise_server_exceptions=True, client=(ip, 50000))


def link(world: dict[str, Any], kid: int, instrument: str) -> str:
    pid = world["children"][kid]["participant_id"]
    return next(x["token"] for x in world["links"][pid] if x["instrument"] == instrument)


def form_for(answers: dict[str, Any], action: str) -> dict[str, str]:
    return {**{f"item-{k}": str(v) for k, v in answers.items()}, "action": action}


def test_page_shows_the_questionnaire_without_script_or_identifiers(world) -> None:  # type: ignore[no-untyped-def]
    c = client(world)
    tok = link(world, 0, "sdq_parent")
    r = c.get(f"/respond/{tok}")
    assert r.status_code == 200
    html = r.text
    assert "govuk-frontend.min.css" in html and "<script" not in html and " on" + "click=" not in html
    assert 'name="viewport"' in html and "Questions for the child&#39;s carer" in html
    kid = world["children"][0]
    for secret in (kid["participant_id"], kid["arm"], "CARE-", "intervention", "usual"):
        assert secret not in html
    assert r.headers["referrer-policy"] == "no-referrer" and "script-src 'none'" in r.headers["content-security-policy"]
    from securebase.instruments import load_instrument

    items = load_instrument("sdq_parent").items
    assert html.count('type="radio"') == sum(len(it.allowed or ()) + 1 for it in items)  # + "Prefer not to answer"
    assert html.count("<legend") == len(items)


def test_no_page_differs_between_arms(world) -> None:  # type: ignore[no-untyped-def]
    kids = world["children"]
    arms = {k["arm"] for k in kids}
    assert len(arms) == 2, "the world needs children in both arms"
    a = next(i for i, k in enumerate(kids) if k["arm"] == sorted(arms)[0])
    b = next(i for i, k in enumerate(kids) if k["arm"] == sorted(arms)[1])
    c = client(world)
    for inst in ("sdq_parent", "rpq", "eq5d_5l", "resource_use"):
        pages = []
        for kid in (a, b):
            tok = link(world, kid, inst)
            pages.append(c.get(f"/respond/{tok}").text.replace(tok, "TOKEN"))
        assert pages[0] == pages[1], inst
    assert c.get("/respond/thanks").text == c.get("/respond/thanks").text


def test_save_resume_and_submit_without_javascript(world) -> None:  # type: ignore[no-untyped-def]
    c = client(world)
    tok = link(world, 1, "sdq_parent")
    answers = valid_responses("sdq_parent")
    half = dict(list(answers.items())[:12])
    r = c.post(f"/respond/{tok}", data=form_for(half, "save"))
    assert r.status_code == 200 and "Your answers have been saved" in r.text
    again = c.get(f"/respond/{tok}").text  # resume from the same link
    checked = re.findall(r'name="item-([0-9a-z_]+)" type="radio" value="(-?\d+)" checked', again)
    assert dict(checked) == {k: str(v) for k, v in half.items()}
    r = c.post(f"/respond/{tok}", data=form_for(half, "submit"))  # not finished: errors, nothing sent
    assert r.status_code == 422 and "There is a problem" in r.text
    assert "Question 13: choose an answer, or ‘Prefer not to answer’" in r.text
    assert world["children"][1]["participant_id"] not in r.text
    rest = {**answers, "14": "-97"}  # one question declined
    r = c.post(f"/respond/{tok}", data=form_for(rest, "submit"), follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/respond/thanks"
    assert "£10 voucher" in c.get("/respond/thanks").text
    used = c.get(f"/respond/{tok}")
    assert used.status_code == 410 and "already been sent" in used.text and "<form" not in used.text
    with world["store"].read() as s:
        n = len(s.execute(select(Response)).scalars().all())
    r = c.post(f"/respond/{tok}", data=form_for({k: 0 for k in answers}, "submit"))
    assert r.status_code == 410
    with world["store"].read() as s:
        assert len(s.execute(select(Response)).scalars().all()) == n
        refused = s.execute(select(Response).where(Response.item == "14", Response.instrument == "sdq_parent",
                                                   Response.missing_code.is_not(None))).scalar_one()
        assert refused.missing_code == "refused" and refused.entered_by.startswith("respondent:CARER-")


def test_expired_and_forged_links_get_a_plain_page(world) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime, timedelta

    tok = link(world, 2, "rpq")
    with world["store"].unit_of_work(actor="test", reason="test: expire a link") as uow:
        from securebase.trial.invitations import hash_token

        inv = uow.session.execute(select(Invitation).where(Invitation.token_hash == hash_token(tok))).scalar_one()
        inv.expires_at = datetime.now(UTC) - timedelta(minutes=1)
        uow.commit()
    c = client(world, "192.0.2.50")
    r = c.get(f"/respond/{tok}")
    assert r.status_code == 410 and "This link has expired" in r.text and "<form" not in r.text
    r = c.get("/respond/" + secrets.token_urlsafe(32))
    assert r.status_code == 404 and "This link does not work" in r.text and "<form" not in r.text
    for bad in ("abc", "%27%20OR%201%3D1", "x" * 500):
        assert c.get(f"/respond/{bad}").status_code == 404


def test_a_thousand_guesses_from_one_address_are_throttled(world) -> None:  # type: ignore[no-untyped-def]
    c = client(world, "203.0.113.77")
    codes = [c.get("/respond/" + secrets.token_urlsafe(32)).status_code for _ in range(1000)]
    assert codes.count(404) == 20 and codes.count(429) == 980
    real = link(world, 3, "rpq")  # even a real link is refused from that address while throttled
    assert c.get(f"/respond/{real}").status_code == 429
    assert client(world, "198.51.100.4").get(f"/respond/{real}").status_code == 200
