"""Staff pages (server-rendered): log-in, trials, screening, consent, enrolment, participants, randomisation.

Every form carries a CSRF token; every change goes through a service with its role and site checks.
Visits, data entry, events, delivery, queries and the dashboard are in :mod:`securebase.web.pages_data`.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from securebase.errors import ConflictError, InputError, NotFound
from securebase.trial import enrol
from securebase.trial.accounts import NotAuthenticated, login, user_trials
from securebase.trial.roles import Role
from securebase.web import (
    pages_corrections,
    pages_data,
    pages_lists,
    pages_queries,
    pages_reports,
    pages_screening,
)
from securebase.web.deps import read, read_uow, settings_of, store_of, write
from securebase.web.pagekit import Form, User, see_other
from securebase.web.render import field, form, link, page

router = APIRouter(include_in_schema=False)


# -- log-in ------------------------------------------------------------------------------------------
def _login_page(request: Request, error: str = "", status: int = 200, nxt: str = "/") -> HTMLResponse:
    return page(request, "Log in", [{"form": form("/login", [
        field("username", "User name", required=True), field("password", "Password", "password", required=True),
        field("next", "", "hidden", value=nxt)], "Log in", form_id="login")}], status=status, error=error)


@router.get("/login")
def login_get(request: Request, next: str = "/") -> HTMLResponse:
    return _login_page(request, nxt=next)


@router.post("/login")
def login_post(request: Request, data: Form) -> Response:
    username, password = data.get("username", "").strip()[:120], data.get("password", "")
    nxt = data.get("next") or "/"
    if not nxt.startswith("/") or nxt.startswith("//"):
        nxt = "/"
    with store_of(request).unit_of_work(actor=username or "anonymous") as uow:
        result = login(uow, username, password, max_failures=settings_of(request).login_max_failures)
        uow.commit()
    if isinstance(result, NotAuthenticated):
        return _login_page(request, result.message, 401, nxt)
    request.session.clear()
    request.session.update({"user": result.username, "at": time.time(), "csrf": secrets.token_urlsafe(32)})
    return see_other(nxt)


@router.post("/logout")
def logout(request: Request, data: Form) -> Response:
    request.session.clear()
    return see_other("/login")


@router.get("/")
def home(request: Request, user: User) -> HTMLResponse:
    with store_of(request).read() as s:
        roles = user_trials(s, user)
    trials = sorted({t for t, _, _ in roles})
    rows = [[link(f"/trials/{t}/dashboard", t), r, site or "all sites"] for t, r, site in roles]
    return page(request, "Your trials", [{"table": {"columns": ["trial", "role", "sites"], "rows": rows,
                                                     "empty": "You have no role on any trial yet."}}],
                trial_id=trials[0] if len(trials) == 1 else None)


@router.get("/trials/{trial_id}")
def trial_home(trial_id: str, user: User) -> Response:
    return see_other(f"/trials/{trial_id}/dashboard")


# -- participants ---------------------------------------------------------------------------------------
@router.get("/trials/{trial_id}/participants")
def participants(request: Request, trial_id: str, user: User) -> HTMLResponse:
    rows = read(request, user, trial_id, enrol.list_participants)
    table = {"columns": ["participant", "site", "status", "enrolled", "age band"],
             "rows": [[link(f"/trials/{trial_id}/participants/{r['participant_id']}", r["participant_id"]), r["site"],
                       r["status"], r["enrolled_on"], r["age_band"]] for r in rows], "empty": "No participant yet."}
    return page(request, "Participants", [{"table": table}], trial_id=trial_id)


def _randomise_page(request: Request, user: str, trial_id: str, pid: str, *, error: str = "",
                    status: int = 200) -> HTMLResponse:
    from securebase.trial.randomise_confirm import check_ready

    chk = read_uow(request, user, trial_id, lambda u, a: check_ready(u, a, pid))
    base = f"/trials/{trial_id}/participants/{pid}"
    sections: list[dict[str, Any]] = [{"heading": "Check before randomising", "dl": [
        ("Participant", pid), ("Site", chk["site"]), ("Method", chk["method"].replace("_", " "))] + [
        (f"Stratification: {k.replace('_', ' ')}", v) for k, v in chk["factors"].items()]}]
    if chk["ready"]:
        sections.append({"heading": "Ready", "text": [
            "Eligibility has been re-checked against the protocol and every required consent is recorded. "
            "Randomisation cannot be undone: the allocation is final once made."],
            "form": form(f"{base}/randomise", [field("confirm", "", "hidden", value="yes")],
                         f"Randomise {pid} now", form_id="randomise-confirm")})
    else:
        sections.append({"heading": "Not ready", "id": "not-ready", "text": [
            f"{pid} cannot be randomised yet:"] + chk["problems"]})
    sections.append({"links": [link(base, f"Back to {pid}")]})
    return page(request, f"Randomise {pid}?", sections, trial_id=trial_id, error=error, status=status)


@router.get("/trials/{trial_id}/participants/{pid}/randomise")
def randomise_get(request: Request, trial_id: str, pid: str, user: User) -> HTMLResponse:
    return _randomise_page(request, user, trial_id, pid)


@router.post("/trials/{trial_id}/participants/{pid}/randomise")
def randomise_post(request: Request, trial_id: str, pid: str, user: User, data: Form) -> Response:
    from securebase.trial.randomise import randomise

    if data.get("confirm") != "yes":
        return _randomise_page(request, user, trial_id, pid)
    try:
        write(request, user, trial_id, lambda u, a: randomise(u, a, pid))
    except (InputError, ConflictError) as exc:
        return _randomise_page(request, user, trial_id, pid, error=exc.message, status=exc.http_status)
    return see_other(f"/trials/{trial_id}/participants/{pid}/receipt", "Randomised: keep this receipt")


@router.get("/trials/{trial_id}/participants/{pid}/receipt")
def receipt_get(request: Request, trial_id: str, pid: str, user: User) -> HTMLResponse:
    """The printable randomisation receipt (roles that may see the allocation only)."""
    from securebase.trial.randomise import allocation_for

    v = read_uow(request, user, trial_id, lambda u, a: allocation_for(u, a, pid))
    sections: list[dict[str, Any]] = [{"heading": "Allocation", "id": "receipt", "dl": [
        ("Trial", trial_id), ("Participant", v.participant_id), ("Arm", v.arm_name),
        ("Allocation number", v.sequence_number), ("Method", v.method.replace("_", " ")),
        ("Allocated on", v.allocated_on.isoformat()), ("Allocated by", v.allocated_by)]},
        {"heading": "Visits scheduled", "table": {"columns": ["visit", "due", "window opens", "window closes"],
                                                  "rows": [[x.label, x.due.isoformat(), x.opens.isoformat(),
                                                            x.closes.isoformat()] for x in v.visits]}},
        {"text": ["Print this page (Ctrl+P) or save it as PDF for the site file. The allocation is also kept in the "
                  "audit trail."], "links": [link(f"/trials/{trial_id}/participants/{pid}", f"Back to {pid}")]}]
    return page(request, f"Randomisation receipt: {pid}", sections, trial_id=trial_id)


router.include_router(pages_screening.router)
router.include_router(pages_corrections.router)
router.include_router(pages_queries.router)
router.include_router(pages_reports.router)
router.include_router(pages_data.router)
router.include_router(pages_lists.router)

__all__ = ["NotFound", "Role", "router"]
