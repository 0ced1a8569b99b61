"""Safeguarding through the pages, the API and a real browser (Chromium), with alerts on a real SMTP server.

An outcome assessor records a disclosure from a participant's page; the safeguarding lead receives the
e-mail and sees the task; every other role gets 404 (the concern) or 403 (the task list); and nothing the
assessor is shown changes with the participant's arm.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from web_world import PASSWORD, USERS, build_web_world, csrf, login, start_server

from sb_smtp import smtp_server
from securebase.trial.audit_view import actor_for
from securebase.trial.safety import concerns
from securebase.trial.setup import create_user, grant_role

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
DISCLOSURE = "MARKER she said her foster brother hits her when the carers are out"
OTHERS = [u for u in USERS if u != "assessor1"] + ["assessor9"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from securebase.web import create_app

    with smtp_server() as inbox:
        w = build_web_world(tmp_path_factory.mktemp("safetyweb"))
        store = w["store"]
        with store.unit_of_work(actor="test-setup") as uow:
            from trial_world import password_hash

            for name, role, site in (("dsl", "safeguarding_lead", None), ("ci", "chief_investigator", None),
                                     ("assessor9", "outcome_assessor", None)):
                u = create_user(uow, name, PASSWORD, password_hash=password_hash())
                grant_role(uow, u, "ng26-care", role, site)
            uow.commit()
        with store.unit_of_work(actor="dsl") as uow:
            concerns.set_contact(uow, actor_for(uow.session, "dsl", "ng26-care"), "dsl", "dsl@example.org")
            uow.commit()
        from securebase.trial.accounts import create_api_token

        with store.unit_of_work(actor="test-setup") as uow:
            for name in ("dsl", "ci", "assessor9"):
                w["tokens"][name] = create_api_token(uow, name, label="tests")
            uow.commit()
        w["settings"] = w["settings"].model_copy(update={"smtp_host": inbox.host, "smtp_port": inbox.port,
                                                         "mail_from": "trial@example.org"})
        w["app"] = create_app(w["settings"], store=store, secure_cookies=False)
        w["inbox"] = inbox
        everyone = w["participants"]["LA01"] + w["participants"]["LA02"]
        w["arms"] = dict(everyone)
        yield w
        store.dispose()


def _client(world: dict[str, Any], user: str | None = None, api: bool = False) -> Any:
    from fastapi.testclient import TestClient

    if api:
        return TestClient(world["app"], raise_server_exceptions=False,
                          headers={"Authorization": f"Bearer {world['tokens'][user]}"})
    c = TestClient(world["app"], raise_server_exceptions=False)
    if user:
        assert "Your trials" in login(c, user).text
    return c


def _norm(text: str, *ids: str) -> str:
    for i in ids:
        text = text.replace(i, "<ID>")
    text = re.sub(r'name="csrf_token" value="[^"]+"', "", text)
    text = re.sub(r"SG-\d{4}", "SG-<N>", text)
    text = re.sub(r"/safeguarding/\d+", "/safeguarding/<N>", text)
    text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d", "<TIME>", text)
    return re.sub(r"LA0\d", "<SITE>", text)


def test_assessor_disclosure_in_the_browser(world) -> None:  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`")
    from playwright.sync_api import sync_playwright

    base, server = start_server(world["app"])
    pid = world["first"]  # an LA01 participant, reachable by assessor1
    sent_before = len(world["inbox"].received)
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                  args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])

            def as_user(user: str) -> Any:
                page = b.new_context(base_url=base, viewport={"width": 420, "height": 900}).new_page()
                page.goto("/login")
                page.fill("#login #f-username", user)
                page.fill("#login #f-password", PASSWORD)
                page.click("#login button[type=submit]")
                page.wait_for_selector("text=Your trials")
                return page

            a = as_user("assessor1")
            a.goto(f"/trials/ng26-care/participants/{pid}")
            a.click("text=Raise a safeguarding concern")
            a.select_option("#concern-form #f-source", "visit")
            a.fill("#concern-form #f-source_detail", "6-month visit, after the SDQ")
            a.fill("#concern-form #f-what_seen_or_said", DISCLOSURE)
            a.fill("#concern-form #f-immediate_action", "Listened, did not question; told her I must pass it on")
            a.click("#concern-form button[type=submit]")
            a.wait_for_selector("text=the safeguarding lead has been alerted")
            heading = a.inner_text("h1")
            ref = re.search(r"SG-\d{4}", heading).group(0)  # type: ignore[union-attr]
            assert DISCLOSURE in a.inner_text("#concern")
            SHOTS.mkdir(parents=True, exist_ok=True)
            a.screenshot(path=str(SHOTS / "safety-01-concern-raised.png"), full_page=True)
            # the assessor cannot sign off: the form is not offered
            assert a.locator("#sign-off-form").count() == 0

            assert len(world["inbox"].received) == sent_before + 1
            mail = world["inbox"].received[-1]
            assert mail["Subject"].startswith(f"Safeguarding concern {ref}") and mail["To"] == "dsl@example.org"
            assert "MARKER" not in mail.get_payload(decode=True).decode()

            lead = as_user("dsl")
            lead.goto("/trials/ng26-care/dashboard")
            lead.click("nav >> text=Safeguarding")
            lead.click("text=Safeguarding task list")
            lead.click(f"text={ref}")
            assert DISCLOSURE in lead.inner_text("#concern")
            lead.select_option("#referral-form #f-made", "yes")
            lead.fill("#referral-form #f-to", "LA01 MASH")
            from datetime import UTC, datetime

            lead.fill("#referral-form #f-at", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M"))
            lead.fill("#referral-form #f-reference", "MASH-77")
            lead.click("#referral-form button[type=submit]")
            lead.wait_for_selector("text=Referral recorded")
            lead.fill("#sign-off-form #f-assessment", "Referral right; strategy discussion today")
            lead.click("#sign-off-form button[type=submit]")
            lead.wait_for_selector("text=Signed off")
            assert "signed_off" in lead.inner_text("#concern")
            lead.screenshot(path=str(SHOTS / "safety-02-signed-off.png"), full_page=True)
            b.close()
    finally:
        server.should_exit = True
    cid = int(ref.removeprefix("SG-"))
    for user in OTHERS:
        if user not in world["tokens"]:
            continue
        assert _client(world, user, api=True).get(f"/api/trials/ng26-care/safeguarding/{cid}").status_code == 404
        assert _client(world, user, api=True).get("/api/trials/ng26-care/safeguarding/tasks").status_code == 403
    for user in ("tm", "assessor2", "rec1", "dm"):
        page = _client(world, user)
        r = page.get(f"/trials/ng26-care/safeguarding/{cid}")
        assert r.status_code == 404 and "MARKER" not in r.text
        assert page.get("/trials/ng26-care/safeguarding/tasks").status_code == 403
        hist = page.get(f"/trials/ng26-care/participants/{pid}/audit")
        assert "MARKER" not in hist.text and "safeguarding_concerns" not in hist.text
    assert _client(world, "ci", api=True).get(f"/api/trials/ng26-care/safeguarding/{cid}").json()[
        "what_seen_or_said"] == DISCLOSURE
    steps = [(h["action"], h["table"]) for h in _client(world, "ci", api=True).get(
        f"/api/trials/ng26-care/participants/{pid}/audit").json() if h["table"] == "safeguarding_concerns"]
    assert steps[0] == ("insert", "safeguarding_concerns")
    assert ("safeguarding_alert_sent", "safeguarding_concerns") in steps
    assert len([s for s in steps if s[0] == "update"]) >= 3  # alert, referral, sign-off


def test_assessor_responses_do_not_vary_with_arm(world) -> None:  # type: ignore[no-untyped-def]
    arms = world["arms"]
    inter = next(p for p, a in arms.items() if a == "intervention" and p != world["intervention"])
    usual = next(p for p, a in arms.items() if a == "usual_care" and p != world["first"])
    page, api = _client(world, "assessor9"), _client(world, "assessor9", api=True)
    seen = {}
    for pid in (inter, usual):
        out = [page.get(f"/trials/ng26-care/participants/{pid}/safeguarding").text]
        r = page.post(f"/trials/ng26-care/participants/{pid}/safeguarding", data={
            "source": "intervention_session", "what_seen_or_said": DISCLOSURE, "csrf_token": csrf(out[0])})
        out.append(r.text)
        out.append(page.post(f"/trials/ng26-care/participants/{pid}/safeguarding", data={
            "source": "", "what_seen_or_said": DISCLOSURE, "csrf_token": csrf(out[0])}).text)
        j = api.post(f"/api/trials/ng26-care/participants/{pid}/safeguarding",
                     json={"source": "visit", "what_seen_or_said": DISCLOSURE})
        assert j.status_code == 201
        body = {k: v for k, v in j.json().items() if k not in ("id", "reference", "participant_id", "site",
                                                                  "raised_at", "sign_off_due_at",
                                                                  "hours_since_raised")}
        out.append(str(body))
        out.append(page.get("/trials/ng26-care/safeguarding").text.replace(inter, "<ID>").replace(usual, "<ID>"))
        seen[pid] = [_norm(t, pid) for t in out]
    a, b = seen[inter], seen[usual]
    assert a[:4] == b[:4]
    assert "usual_care" not in " ".join(a + b) and "Intervention delivery" not in " ".join(a + b)


def test_adverse_events_deviations_and_guesses_through_the_api(world) -> None:  # type: ignore[no-untyped-def]
    arms = world["arms"]
    inter = next(p for p, a in arms.items() if a == "intervention")
    usual = next(p for p, a in arms.items() if a == "usual_care")
    assessor, ci = _client(world, "assessor9", api=True), _client(world, "ci", api=True)
    seen = []
    for pid in (inter, usual):
        r = assessor.post(f"/api/trials/ng26-care/participants/{pid}/adverse-events", json={
            "category": "self_harm", "description": "cut her arm", "onset_on": "2026-01-02", "aware_on": "2026-01-05",
            "serious": True, "seriousness": ["hospitalisation"]})
        assert r.status_code == 201, r.text
        ae = r.json()
        a = ci.post(f"/api/trials/ng26-care/adverse-events/{ae['id']}/assessment",
                    json={"relatedness": "possibly", "expectedness": "unexpected"})
        assert a.json()["report_due_on"] == "2026-01-20"  # 5 Jan + 15 days
        g = assessor.post(f"/api/trials/ng26-care/participants/{pid}/blinding-guess", json={"guess": "dont_know"})
        listed = [e for e in assessor.get("/api/trials/ng26-care/adverse-events").json() if e["id"] == ae["id"]][0]
        assert listed["relatedness"] == "withheld"
        seen.append((r.status_code, {k: v for k, v in ae.items() if k not in ("id", "reference")}, g.status_code,
                     g.text.replace(pid, "<ID>"), {k: v for k, v in listed.items()
                                                   if k not in ("id", "reference", "participant_id", "site")}))
    assert seen[0] == seen[1]
    missing = _client(world, "tm", api=True).post("/api/trials/ng26-care/adverse-events/999999/follow-up",
                                                  json={"note": "more"})
    assert missing.status_code == 422 and "adverse_event_id" in missing.json()["message"]
    assert assessor.get("/api/trials/ng26-care/adverse-events/overdue").status_code == 403
    overdue = ci.get("/api/trials/ng26-care/adverse-events/overdue").json()
    assert {e["participant_id"] for e in overdue} >= {inter, usual}
    d = _client(world, "tm", api=True).post("/api/trials/ng26-care/deviations", json={
        "site_code": "LA01", "category": "consent", "description": "wrong form", "occurred_on": "2026-01-02",
        "aware_on": "2026-01-03", "serious_breach": True})
    assert d.status_code == 201 and d.json()["report_due_on"] == "2026-01-10"


def test_safety_page_withholds_relatedness_from_blinded_roles(world) -> None:  # type: ignore[no-untyped-def]
    pid = world["first"]
    r = _client(world, "tm", api=True).post(f"/api/trials/ng26-care/participants/{pid}/adverse-events", json={
        "category": "police_contact", "description": "arrested", "onset_on": "2026-01-02", "serious": True,
        "seriousness": ["police_custody"]})
    assert r.status_code == 201
    blind = _client(world, "assessor9").get("/trials/ng26-care/safety")
    assert blind.status_code == 200 and r.json()["reference"] in blind.text
    assert "withheld" in blind.text and 'id="overdue"' not in blind.text
    ci = _client(world, "ci").get("/trials/ng26-care/safety")
    assert ci.status_code == 200 and 'id="overdue"' in ci.text and "withheld" not in ci.text
