"""Every route of the app with its path parameters filled in, and a plausible body for each POST."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi.routing import APIRoute

TODAY = date.today().isoformat()

#: POST bodies by the route's last path segment (API, JSON).
API_BODIES: dict[str, dict[str, Any] | None] = {
    "screening": {"site_code": "LA01", "answers": {"care_status": "foster"}},
    "approach": {"approached": True}, "decline": {"reason": "not now"},
    "consent": {"kind": "carer_consent", "form_version": "2.0", "signatory_role": "foster_carer"},
    "enrol": {}, "randomise": None, "outcome": {"status": "completed"},
    "{instrument}": {"responses": {"1": 1}, "complete": False},
    "resolve": {"item": "1", "value": 1, "reason": "checked"},
    "events": {"event_type": "return_home", "occurred_on": TODAY},
    "delivery": {"session_number": 20, "offered_on": TODAY, "attended": True, "therapist": "T9"},
    "withdrawals": {"level": "follow_up", "reason": "checking"},
    "queries": None, "answer": {"answer": "checked"}, "close": None, "assessor": {"assessor": "assessor1"},
}
#: POST form fields by the route's last path segment (pages).
PAGE_FORMS: dict[str, dict[str, str]] = {
    "screening": {"site_code": "LA01", "care_status": "foster"}, "approach": {"approached": "yes"},
    "decline": {"reason": "not now"},
    "consent": {"kind": "carer_consent", "form_version": "2.0", "signatory_role": "foster_carer", "given": "yes"},
    "enrol": {}, "randomise": {"confirm": "yes"}, "outcome": {"status": "completed"}, "{instrument}": {"item_1": "1"},
    "validate": {"item_1": "5"}, "resolve": {"item": "1", "value": "1", "reason": "checked"},
    "events": {"event_type": "return_home", "occurred_on": TODAY},
    "delivery": {"session_number": "20", "offered_on": TODAY, "attended": "yes", "therapist": "T9"},
    "withdraw": {"level": "follow_up", "reason": "checking"}, "answer": {"answer": "checked"}, "close": {},
    "queries": {"participant_id": "CARE-0001", "table_name": "visits", "record_id": "1", "field": "status",
                "question": "?"},
    "correct": {"age_years": "9", "care_status": "foster", "reason": "checked against the referral"},
    "in-error": {"reason": "entered against the wrong child", "entry": "1"},
    "consent-in-error": {"consent_id": "1", "reason": "entered against the wrong child"},
    "event-in-error": {"event_id": "1", "reason": "entered against the wrong child"},
    "login": {"username": "nobody", "password": "wrong-password"}, "logout": {}, "assessor": {"assessor": "assessor1"},
}


def routes(app: Any) -> list[tuple[str, str]]:
    """(method, path template) of every route, API and pages, except the docs/schema."""
    out: list[tuple[str, str]] = []

    def walk(items: Any) -> None:
        for r in items:
            if isinstance(r, APIRoute):
                out.extend((m, r.path) for m in sorted(r.methods or ()) if m in ("GET", "POST"))
            elif hasattr(r, "original_router"):  # FastAPI's included router (no prefix given at include time)
                walk(r.original_router.routes)
    walk(app.routes)
    return sorted(set(out))


def fill(path: str, values: dict[str, Any]) -> str:
    for k, v in values.items():
        path = path.replace("{" + k + "}", str(v))
    return path


def last_segment(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]
