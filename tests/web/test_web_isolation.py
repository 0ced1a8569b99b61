"""Site isolation: a user of one site cannot read or change another site's participants by any route.

For every route that names a participant, screening record or query, the answer for another site's real
record is the same as for a guessed ID that does not exist (404, same message up to the ID), so existence
does not leak; and nothing is written.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select
from web_routes import API_BODIES, PAGE_FORMS, fill, last_segment, routes
from web_world import csrf

from securebase.store.tables import AuditRecord

KEYS = ("{pid}", "{number}", "{query_id}", "{qid}")


def _norm(text: str, *ids: str) -> str:
    for i in ids:
        text = text.replace(i, "<ID>")
    return re.sub(r'name="csrf_token" value="[^"]+"', "", text)


@pytest.mark.parametrize("user", ["rec2", "assessor2", "dm2"])
def test_other_site_is_indistinguishable_from_missing(web, client_for, api_for, user) -> None:  # type: ignore[no-untyped-def]
    real = {"trial_id": "ng26-care", "pid": web["first"], "number": "SCR-LA01-0001", "visit_id": "m6",
            "instrument": "sdq_parent", "query_id": web["query_id"], "qid": web["query_id"], "frame": "participants"}
    fake = dict(real, pid="CARE-9999", number="SCR-LA01-9999", query_id=999999, qid=999999)
    page_client, api = client_for(user), api_for(user)
    token = csrf(page_client.get("/").text)
    with web["store"].read() as s:
        before = s.execute(select(func.count()).select_from(AuditRecord).where(AuditRecord.action != "login")).scalar_one()
    checked = 0
    for method, template in routes(web["app"]):
        if not any(k in template for k in KEYS):
            continue
        is_api = template.startswith("/api")
        client = api if is_api else page_client
        answers = []
        for values in (real, fake):
            path = fill(template, values)
            if method == "GET":
                r = client.get(path)
            elif is_api:
                r = client.post(path, json=API_BODIES.get(last_segment(template)))
            else:
                r = client.post(path, data={**PAGE_FORMS.get(last_segment(template), {}), "csrf_token": token})
            answers.append(r)
        a, b = answers
        ids = (str(real["pid"]), str(fake["pid"]), real["number"], fake["number"], str(real["query_id"]), "999999")
        assert a.status_code == b.status_code, (method, template, a.status_code, b.status_code, a.text[:200])
        assert a.status_code in (403, 404, 422), (method, template, a.status_code)
        if method == "GET" and a.status_code == 403:  # only a role refusal, the same whatever the ID
            assert "role" in a.text, (method, template, a.text[:200])
        assert _norm(a.text, *ids) == _norm(b.text, *ids), (method, template)
        checked += 1
    assert checked >= 30
    with web["store"].read() as s:
        after = s.execute(select(func.count()).select_from(AuditRecord).where(AuditRecord.action != "login")).scalar_one()
    assert after == before  # nothing written by any refused request


def test_reads_of_another_site_are_404(web, api_for) -> None:  # type: ignore[no-untyped-def]
    api = api_for("rec2")
    pid = web["first"]
    for path in (f"/api/trials/ng26-care/participants/{pid}", f"/api/trials/ng26-care/participants/{pid}/visits",
                 f"/api/trials/ng26-care/participants/{pid}/audit", "/api/trials/ng26-care/screening/SCR-LA01-0001",
                 f"/api/trials/ng26-care/queries/{web['query_id']}"):
        r = api.get(path)
        assert r.status_code == 404 and r.json()["error"] == "NotFound", path
    listed = {p["participant_id"] for p in api.get("/api/trials/ng26-care/participants").json()}
    assert listed and all(p in {x for x, _ in web["participants"]["LA02"]} for p in listed)
