"""The JSON API and the page plumbing: token auth, one error shape, a whole participant journey through the
API, log-in throttling, CSRF, session cookie flags, no traceback on an internal error."""

from __future__ import annotations

from datetime import date, timedelta

from web_world import PASSWORD, csrf, login, valid_responses

T = "/api/trials/ng26-care"


def _shape(r) -> dict:  # type: ignore[no-untyped-def]
    body = r.json()
    assert set(body) == {"error", "message", "status"} and body["status"] == r.status_code
    assert "Traceback" not in r.text
    return body


def test_token_auth_and_error_shape(web, api_for) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    anon = TestClient(web["app"], raise_server_exceptions=False)
    assert _shape(anon.get(f"{T}/participants"))["error"] == "NotAuthenticated"
    bad = TestClient(web["app"], raise_server_exceptions=False, headers={"Authorization": "Bearer sb_nope"})
    assert bad.get(f"{T}/participants").status_code == 401
    api = api_for("rec1")
    assert api.get("/api/me").json()["roles"] == [{"trial_id": "ng26-care", "role": "site_recruiter", "site": "LA01"}]
    assert _shape(api.get("/api/nowhere"))["status"] == 404
    assert _shape(api.post(f"{T}/screening", json={"site_code": 3}))["error"] == "InputError"
    assert _shape(api.get("/api/trials/other-trial/participants"))["error"] == "PermissionDenied"
    r = api.post(f"{T}/screening", json={"site_code": "LA01", "answers": {"date_of_birth": "not a date"}})
    assert _shape(r)["error"] == "FieldError" and "date_of_birth" in r.json()["message"]


def test_participant_journey_through_the_api(web, api_for) -> None:  # type: ignore[no-untyped-def]
    rec, assessor, dm = api_for("rec1"), api_for("assessor1"), api_for("dm")
    dob = (date.today() - timedelta(days=365 * 8 + 30)).isoformat()
    r = rec.post(f"{T}/screening", json={"site_code": "LA01", "answers": {
        "date_of_birth": dob, "care_status": "adopted", "carer_available": True, "placement_ending_planned": False}})
    assert r.status_code == 201 and r.json()["eligible"], r.text
    number = r.json()["screening_number"]
    for body in ({"kind": "carer_consent", "form_version": "2.0", "signatory_role": "adoptive_parent"},
                 {"kind": "carer_consent", "form_version": "2.0", "signatory_role": "adoptive_parent"},
                 {"kind": "child_assent", "form_version": "1.0", "signatory_role": "child"}):
        r = rec.post(f"{T}/screening/{number}/consent", json=body)
        assert r.status_code == 201, r.text
    assert r.json()["complete"] and len(r.json()["signatures"]) == 3
    r = rec.post(f"{T}/screening/{number}/enrol", json={"sex": "male"})
    pid = r.json()["participant_id"]
    r = rec.post(f"{T}/participants/{pid}/randomise")
    assert r.status_code == 200 and r.json()["arm"] in ("intervention", "usual_care"), r.text
    assert _shape(assessor.get(f"{T}/participants/{pid}/allocation"))["error"] == "BlindingError"
    assert _shape(assessor.post(f"{T}/participants/{pid}/randomise"))["status"] == 403
    visits = assessor.get(f"{T}/participants/{pid}/visits").json()
    assert [v["visit_id"] for v in visits] == ["baseline", "m6", "m12"] and "arm" not in visits[0]
    answers = valid_responses("sdq_parent")
    r = assessor.post(f"{T}/participants/{pid}/visits/baseline/forms/sdq_parent",
                      json={"responses": dict(answers, **{"7": 3})})
    assert _shape(r)["status"] == 422 and "item 7 must be" in r.json()["message"]
    r = assessor.post(f"{T}/participants/{pid}/visits/baseline/forms/sdq_parent", json={"responses": answers})
    assert r.status_code == 200 and r.json()["scores"]["total"]["value"] is not None
    scores = assessor.get(f"{T}/participants/{pid}/scores").json()
    total = next(s for s in scores if s["scale"] == "total")
    r = dm.post(f"{T}/queries", json={"participant_id": pid, "table_name": "scores", "record_id": total["record_id"],
                                      "field": "value", "question": "total looks high; please check item 7"})
    qid = r.json()["id"]
    assert _shape(dm.post(f"{T}/queries/{qid}/close"))["status"] == 409
    assert rec.post(f"{T}/queries/{qid}/answer", json={"answer": "checked against the form"}).json()["status"] == "answered"
    assert dm.post(f"{T}/queries/{qid}/close").json()["status"] == "closed"
    r = rec.post(f"{T}/participants/{pid}/withdrawals", json={"level": "follow_up", "reason": "family moved"})
    assert r.status_code == 201 and r.json()[0]["level"] == "follow_up"
    assert {v["status"] for v in assessor.get(f"{T}/participants/{pid}/visits").json()} >= {"withdrawn"}
    csv = dm.get(f"{T}/datasets/participants").text
    assert pid in csv and "arm" not in csv.splitlines()[0].split(",")


def test_login_throttle_csrf_and_cookie_flags(web, client_for) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from securebase.web import create_app

    c = client_for()
    for _ in range(web["settings"].login_max_failures):
        assert login(c, "coder", "wrong-password-1").status_code == 401
    r = login(c, "coder", PASSWORD)
    assert r.status_code == 401 and "wait 5 seconds" in r.text and "locked" not in r.text
    ok = client_for("tm")
    page = ok.get("/trials/ng26-care/screening")
    r = ok.post("/trials/ng26-care/screening", data={"site_code": "LA01"})
    assert r.status_code == 403 and "CSRF" in r.text
    r = ok.post("/trials/ng26-care/screening", data={"site_code": "LA01", "csrf_token": csrf(page.text)},
                follow_redirects=False)
    assert r.status_code == 422 and "There is a problem" in r.text  # past the CSRF check; incomplete form saves nothing
    secure = TestClient(create_app(web["settings"], store=web["store"], secure_cookies=True), base_url="https://testserver")
    r = secure.get("/login")
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" in cookie
    assert TestClient(web["app"]).get("/trials/ng26-care/dashboard", follow_redirects=False).status_code == 303


def test_internal_error_has_no_traceback(web, api_for, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from securebase.trial import dashboard

    def boom(*a, **k):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internal detail")
    monkeypatch.setattr(dashboard, "dashboard", boom)
    r = api_for("tm").get(f"{T}/dashboard")
    assert _shape(r)["status"] == 500 and "secret internal detail" not in r.text


def test_out_of_range_ids_are_answered_not_crashed(web, client_for, api_for) -> None:  # type: ignore[no-untyped-def]
    page = client_for("dm")
    assert page.get("/trials/ng26-care/queries/99999999999999999999").status_code == 404
    assert page.get("/trials/ng26-care/queries/-1").status_code == 404
    r = api_for("dm").post(f"{T}/queries", json={"participant_id": web["first"], "table_name": "visits",
                                                 "record_id": 2_000_000_000, "field": "status", "question": "?"})
    assert _shape(r)["status"] == 404
    assert page.get("/trials/ng26-care/participants/%00%ff/visits/m6").status_code == 404
