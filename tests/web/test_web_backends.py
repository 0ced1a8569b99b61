"""The API on SQLite and PostgreSQL: awkward values (NUL characters, over-long strings, huge numbers) are
answered with the error shape, never a server error, whichever database is behind it."""

from __future__ import annotations

import secrets

from trial_world import add_users, enrol_and_randomise

from securebase.protocol import load_protocol
from securebase.settings import Settings
from securebase.trial.accounts import create_api_token
from securebase.trial.setup import create_trial

T = "/api/trials/ng26-care"


def test_awkward_values_never_give_a_server_error(store, store_url) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from securebase.web import create_app

    with store.unit_of_work(actor="test-setup") as uow:
        create_trial(uow, load_protocol("ng26-care"), seed=3)
        uow.commit()
    add_users(store, {"tm": ("trial_manager", None), "rec1": ("site_recruiter", "LA01")})
    pid, _ = enrol_and_randomise(store, "rec1", "LA01")
    with store.unit_of_work(actor="test-setup") as uow:
        token = create_api_token(uow, "tm")
        uow.commit()
    app = create_app(Settings(database_url=store_url, secret_key=secrets.token_urlsafe(48)), store=store)
    c = TestClient(app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {token}"})
    long = "x" * 5000
    requests = [
        ("GET", f"{T}/participants/CARE%00X", None), ("GET", f"{T}/screening/SCR%00", None),
        ("GET", f"{T}/visits/upcoming?site=LA%0001", None),
        ("POST", f"{T}/screening", {"site_code": "LA01", "answers": {"care_status": "fo\u0000ster"}}),
        ("POST", f"{T}/screening", {"site_code": "LA01", "answers": {long: long, "age_years": 1e308}}),
        ("POST", f"{T}/participants/{pid}/events", {"event_type": "return_home", "occurred_on": "2026-01-01",
                                                   "details": {"note": "a\u0000b"}}),
        ("POST", f"{T}/participants/{pid}/visits/m6/forms/sdq_parent",
         {"responses": {"1": "1\u0000", "2": 10**30, "3": long}, "complete": False}),
        ("POST", f"{T}/participants/{pid}/withdrawals", {"level": "follow_up", "reason": "r\u0000"}),
    ]
    for method, path, body in requests:
        r = c.request(method, path, json=body)
        assert r.status_code < 500, (path, r.status_code, r.text[:300])
        assert r.status_code < 300 or set(r.json()) == {"error", "message", "status"}, r.text[:200]
