"""Issue 15 item 6 and 9: hostile JSON bodies are refused with a 422 naming the field (never stored, never a
500), request bodies are bounded, the response is built before the commit, and every response carries the
security headers; the API docs come from the vendored Swagger UI."""

from __future__ import annotations

import json
from typing import Any

import pytest
from web_world import TRIAL

T = f"/api/trials/{TRIAL}"


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth):
        value = {"a": value}
    return value


def _raw(client: Any, path: str, text: str) -> Any:
    return client.post(path, content=text.encode("utf-8"), headers={"content-type": "application/json"})


def _event_count(web: dict[str, Any]) -> int:
    from securebase.store.tables import Event

    with web["store"].read() as s:
        return s.query(Event).count()


def test_event_details_deep_huge_nul_and_surrogate_are_refused_and_reads_stay_well(web, api_for) -> None:  # type: ignore[no-untyped-def]
    tm = api_for("tm")
    path = f"{T}/participants/{web['first']}/events"
    good = {"event_type": "return_home", "occurred_on": "2026-01-01"}
    before = _event_count(web)
    cases = [
        ({**good, "details": _nested(900)}, "nested at most"),       # the poisoning payload of the issue
        ({**good, "details": _nested(6)}, "details.a.a.a.a"),        # beyond the 4 levels events allow
        ({**good, "details": {"note": "x" * 300_000}}, "details.note"),
        ({**good, "details": {"note": "a\u0000b"}}, "details.note"),
        ({**good, "details": {"k" * 300: 1}}, "a key"),
        ({**good, "details": {f"k{i}": i for i in range(3000)}}, "entries"),
    ]
    for body, named in cases:
        r = tm.post(path, json=body)
        assert r.status_code == 422, (named, r.status_code, r.text[:200])
        assert named in r.json()["message"], (named, r.json()["message"][:300])
    r = _raw(tm, path, '{"event_type": "return_home", "occurred_on": "2026-01-01", "details": {"n": "\\ud800"}}')
    assert r.status_code == 422 and "details.n" in r.json()["message"] and "surrogate" in r.json()["message"]
    r = _raw(tm, path, '{"event_type": "return_home", "occurred_on": "2026-01-01", "details": {"n": '
             + "[" * 100_000 + "]" * 100_000 + "}}")
    assert 400 <= r.status_code < 500, r.text[:200]
    assert _event_count(web) == before  # nothing stored
    assert tm.get(f"{T}/events").status_code == 200
    assert tm.get(path).status_code == 200
    r = tm.post(path, json={**good, "details": {"note": "placement moved back home", "days": 3}})
    assert r.status_code == 201 and r.json()["details"]["days"] == 3


def test_large_bodies_get_413_and_unknown_screening_keys_422(web, api_for) -> None:  # type: ignore[no-untyped-def]
    tm = api_for("tm")
    blob = {"event_type": "return_home", "occurred_on": "2026-01-01", "details": {"b": "x" * 2_000_000}}
    r = tm.post(f"{T}/participants/{web['first']}/events", json=blob)
    assert r.status_code == 413 and "SECUREBASE_MAX_REQUEST_BYTES" in r.json()["message"]
    big = {"site_code": "LA01", "answers": {f"junk{i}": "y" * 800 for i in range(1000)}}  # 828 KB in the issue
    assert tm.post(f"{T}/screening", json=big).status_code in (413, 422)
    r = tm.post(f"{T}/screening", json={"site_code": "LA01", "answers": {"care_status": "foster", "shoe_size": 3}})
    assert r.status_code == 422 and "shoe_size" in r.json()["message"] and "answers" in r.json()["message"]
    r = tm.post(f"{T}/screening", json={"site_code": "LA01", "answers": {"care_status": ["f" * 300]}})
    assert r.status_code == 422 and "answers.care_status[0]" in r.json()["message"]


def test_every_json_body_refuses_nul_surrogate_and_depth_with_the_field_named(web, api_for) -> None:  # type: ignore[no-untyped-def]
    tm = api_for("tm")
    schema = tm.get("/api/openapi.json").json()
    real = {"trial_id": TRIAL, "pid": web["first"], "number": "SCR-LA01-0001", "visit_id": "m6",
            "instrument": "sdq_parent", "query_id": str(web["query_id"])}
    routes = [(p, m) for p, ops in schema["paths"].items() for m, op in ops.items()
              if "application/json" in op.get("requestBody", {}).get("content", {})]
    assert len(routes) >= 14
    for path, method in routes:
        url = path
        for k, v in real.items():
            url = url.replace("{" + k + "}", v)
        for text, named in (('{"zz": "a\\u0000b"}', "body.zz"), ('{"zz": "\\udc00"}', "body.zz"),
                            (json.dumps({"zz": _nested(12)}), "nested at most")):
            r = tm.request(method.upper(), url, content=text.encode(), headers={"content-type": "application/json"})
            assert r.status_code == 422, (method, url, r.status_code, r.text[:200])
            assert named in r.json()["message"], (method, url, r.json()["message"][:200])


def test_a_response_that_cannot_be_serialised_is_never_preceded_by_a_commit(web, api_for, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from securebase.trial import events

    monkeypatch.setattr(events, "event_dict", lambda ev, p: {"id": ev.id, "bad": float("nan")})
    before = _event_count(web)
    r = api_for("tm").post(f"{T}/participants/{web['first']}/events",
                           json={"event_type": "return_home", "occurred_on": "2026-01-02"})
    assert r.status_code == 422 and "nothing was saved" in r.json()["message"]
    assert _event_count(web) == before


@pytest.mark.parametrize("path", ["/login", "/api/me", "/api/docs", "/static/sb.css"])
def test_security_headers_on_every_response(web, api_for, path: str) -> None:  # type: ignore[no-untyped-def]
    r = api_for("tm").get(path)
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
    assert "strict-transport-security" not in r.headers  # plain HTTP here; HSTS over HTTPS: test_web_auth


def test_pages_have_no_inline_script_and_api_docs_are_vendored(web, client_for) -> None:  # type: ignore[no-untyped-def]
    import re

    c = client_for("tm")
    for path in ("/", f"/trials/{TRIAL}/dashboard", f"/trials/{TRIAL}/screening", "/api/docs"):
        html = c.get(path).text
        for tag in re.findall(r"<script[^>]*>", html):
            assert "src=\"/static/" in tag, (path, tag)
        assert not re.search(r"<script[^>]*>\s*[^<\s]", html), path  # no inline code
        assert "cdn" not in html.lower() and "https://" not in html, path
    docs = c.get("/api/docs").text
    for ref in re.findall(r'(?:src|href)="(/static/[^"]+)"', docs):
        assert c.get(ref).status_code == 200, ref


def test_health_economist_is_refused_per_participant_allocation(web) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient
    from trial_world import add_users

    from securebase.trial.accounts import create_api_token

    add_users(web["store"], {"econ": ("health_economist", None)})
    with web["store"].unit_of_work(actor="test-setup") as uow:
        token = create_api_token(uow, "econ")
        uow.commit()
    econ = TestClient(web["app"], headers={"Authorization": f"Bearer {token}"})
    r = econ.get(f"{T}/participants/{web['intervention']}/allocation")
    assert r.status_code == 403 and "allocation" in r.json()["message"]
    assert "intervention" not in r.text.replace("reading a participant's allocation", "")
    assert econ.get(f"{T}/participants/{web['intervention']}").status_code == 403  # as for the record itself
