"""Every page and API route, as every blinded role: no allocation anywhere.

The responses (bodies, errors, CSV exports, the audit view) must contain no arm id or name, no therapist,
no session or fidelity field, no allocation diagnostics and not the intervention-level withdrawal. The
OpenAPI schema and its docs page are left out: they describe field names, not anyone's data. (The
resource-use form's generic "therapist_hours" item is a cost item every participant is asked about, so
the word therapist is looked for as a field or column name and as the therapist's code.)
"""

from __future__ import annotations

from typing import Any

import pytest
from web_routes import API_BODIES, PAGE_FORMS, fill, last_segment, routes
from web_world import BLINDED_USERS, THERAPIST, WITHDRAWAL_MARKER, csrf

from securebase.protocol import load_protocol

SKIP = {"/api/openapi.json", "/api/docs", "/api/docs/oauth2-redirect", "/login", "/logout"}


def forbidden() -> list[str]:
    p = load_protocol("ng26-care")
    out = ["usual_care", '"intervention"', "(intervention)", ",intervention", "intervention,", '"arm"', "arm,",
           ",arm", '"therapist"', "therapist,", ",therapist", "Therapist or group", "Therapists", THERAPIST, "sessions_offered", "fidelity", "complier", "allocated_by_arm",
           "Allocation number", "diagnostics", "list_version", "sequence_number", WITHDRAWAL_MARKER,
           "randomise-form"]
    out += [a.name for a in p.arms]
    return out


def leaks(text: str) -> list[str]:
    return [f for f in forbidden() if f in text]


def params_for(web: dict[str, Any], user: str) -> dict[str, Any]:
    pid = web["first"] if user == "assessor1" else web["intervention"]
    number = "SCR-LA01-0001" if user == "assessor1" else "SCR-LA02-0001"
    return {"trial_id": "ng26-care", "pid": pid, "number": number, "visit_id": "m6", "instrument": "sdq_parent",
            "query_id": web["query_id"], "qid": web["query_id"], "frame": "participants"}


@pytest.mark.parametrize("user", BLINDED_USERS)
def test_no_allocation_in_any_route(web, client_for, api_for, user) -> None:  # type: ignore[no-untyped-def]
    page_client, api = client_for(user), api_for(user)
    token = csrf(page_client.get("/").text)
    values = params_for(web, user)
    seen, problems = 0, []
    for method, template in routes(web["app"]):
        if template in SKIP:
            continue
        path = fill(template, values)
        is_api = template.startswith("/api")
        client = api if is_api else page_client
        if method == "GET":
            responses = [client.get(path)]
            if template.endswith("{frame}") or template.endswith("{frame}.csv"):
                responses += [client.get(path.replace("participants", f)) for f in ("visits", "resource_use")]
            if "{instrument}" in template:
                responses.append(client.get(path.replace("sdq_parent", "resource_use")))
        elif is_api:
            responses = [client.post(path, json=API_BODIES.get(last_segment(template)))]
        else:
            responses = [client.post(path, data={**PAGE_FORMS.get(last_segment(template), {}), "csrf_token": token},
                                     follow_redirects=True)]
        for r in responses:
            seen += 1
            assert r.status_code < 500, (method, path, r.status_code, r.text[:300])
            bad = leaks(r.text)
            if bad:
                problems.append((method, path, r.status_code, bad))
    assert seen > 60
    assert problems == [], "\n".join(map(str, problems))


def test_sweep_would_catch_a_leak(web, client_for) -> None:  # type: ignore[no-untyped-def]
    """The same checks find the allocation in what an unblinded trial manager is shown."""
    tm = client_for("tm")
    page = tm.get(f"/trials/ng26-care/participants/{web['intervention']}").text
    assert leaks(page)
    delivery = tm.get(f"/trials/ng26-care/participants/{web['intervention']}/delivery").text
    assert THERAPIST in delivery
    csv = tm.get("/trials/ng26-care/export/participants.csv", params={"reason": "checking the blinding sweep"}).text
    assert "arm," in csv.splitlines()[0] + ","
