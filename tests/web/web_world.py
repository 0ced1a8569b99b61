"""A web app over a SQLite store holding a synthetic trial world with allocation-revealing data in it
(intervention sessions, an intervention withdrawal, an SAE), and helpers to log in through the pages."""

from __future__ import annotations

import re
import secrets
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "trial"))

from trial_world import (  # noqa: E402
    BLINDED_USERS,
    PASSWORD,
    TRIAL,
    USERS,
    actor,
    build_world,
    days_ago,
    valid_responses,
)

from securebase.protocol import load_protocol  # noqa: E402
from securebase.settings import Settings  # noqa: E402
from securebase.store import Store, open_store  # noqa: E402
from securebase.trial import consent, data_entry, delivery, events, queries, visits  # noqa: E402
from securebase.trial.accounts import create_api_token  # noqa: E402
from securebase.trial.setup import create_trial  # noqa: E402

THERAPIST = "LA01-T1-THERAPIST"
WITHDRAWAL_MARKER = "MARKER carer stopped the group sessions"

__all__ = ["BLINDED_USERS", "PASSWORD", "TRIAL", "USERS", "build_web_world", "csrf", "free_port", "login",
           "start_server"]


def csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token in the page"
    return m.group(1)


def login(client: Any, username: str, password: str = PASSWORD) -> Any:
    page = client.get("/login")
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf(page.text),
                                       "next": "/"})


def build_web_world(tmp: Path) -> dict[str, Any]:
    url = f"sqlite:///{tmp / 'web.db'}"
    store: Store = open_store(url)
    with store.unit_of_work(actor="test-setup") as uow:
        create_trial(uow, load_protocol(TRIAL), seed=20261126)
        uow.commit()
    w = build_world(store)
    la01 = w["participants"]["LA01"]
    everyone = la01 + w["participants"]["LA02"]
    inter = next((p for p, arm in la01 + everyone if arm == "intervention"), None)
    usual = next((p for p, arm in la01 + everyone if arm == "usual_care"), None)
    tm = actor(store, "tm")
    with store.unit_of_work(actor="tm") as uow:
        for pid, arm in everyone:
            if arm == "intervention":
                for i in range(1, 4):
                    delivery.record_session(uow, tm, pid, session_number=i, offered_on=days_ago(180 - 7 * i),
                                            attended=True, therapist=THERAPIST, fidelity_rating=4)
        uow.commit()
    first = la01[0][0]
    with store.unit_of_work(actor="rec1") as uow:
        rec1 = actor(store, "rec1")
        if inter:
            consent.withdraw(uow, tm, inter, level="intervention", reason=WITHDRAWAL_MARKER)
        events.record_event(uow, rec1, first, event_type="serious_adverse_event", occurred_on=days_ago(30),
                            seriousness="hospitalisation", relatedness="unlikely", expectedness="expected")
        uow.commit()
    a1 = actor(store, "assessor1")
    with store.unit_of_work(actor="assessor1") as uow:
        for inst in ("sdq_parent", "rpq"):
            data_entry.save_responses(uow, a1, first, "m6", inst, valid_responses(inst))
        uow.commit()
    with store.unit_of_work(actor="dm") as uow:
        dm = actor(store, "dm")
        v = visits.get_visit(uow.session, dm, first, "m6")[1]
        q = queries.raise_query(uow, dm, first, table_name="visits", record_id=v.id, field="completed_on",
                                question="please confirm the visit date")
        qid = q.id
        uow.commit()
    tokens = {}
    with store.unit_of_work(actor="test-setup") as uow:
        for name in USERS:
            tokens[name] = create_api_token(uow, name, label="tests")
        uow.commit()
    # A generated secret (never a default). TOTP is switched off for this shared world, whose users log in many
    # times a minute (a TOTP code is accepted once); tests/web/test_web_auth.py covers the second factor.
    settings = Settings(database_url=url, secret_key=secrets.token_urlsafe(48), login_max_failures=3,
                        cookie_secure="false", totp_required=False)
    return {"store": store, "url": url, "settings": settings, "tokens": tokens, "participants": w["participants"],
            "intervention": inter, "usual": usual, "first": first, "query_id": qid}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(app: Any) -> tuple[str, Any]:
    """Serve ``app`` with uvicorn in a daemon thread; returns (base URL, server)."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server
