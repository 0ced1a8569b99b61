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
from securebase.store.tables import TotpFactor
from securebase.trial import enrol, sessions, totp
from securebase.trial.accounts import LoginPolicy, get_user, login, user_trials
from securebase.trial.roles import Role
from securebase.web import (
    pages_corrections,
    pages_data,
    pages_lists,
    pages_queries,
    pages_reports,
    pages_screening,
)
from securebase.web.deps import client_address, read, read_uow, settings_of, store_of, write
from securebase.web.pagekit import Form, User, see_other
from securebase.web.render import field, form, link, page

router = APIRouter(include_in_schema=False)


# -- log-in ------------------------------------------------------------------------------------------
ENROL_MINUTES = 10


def _login_page(request: Request, error: str = "", status: int = 200, nxt: str = "/", username: str = "") -> HTMLResponse:
    return page(request, "Log in", [{"form": form("/login", [
        field("username", "User name", required=True, value=username),
        field("password", "Password", "password", required=True),
        field("code", "One-time code", help="the 6 digits from your authenticator app, if your account has one"),
        field("next", "", "hidden", value=nxt)], "Log in", form_id="login")}], status=status, error=error)


def _safe_next(nxt: str | None) -> str:
    nxt = nxt or "/"
    return nxt if nxt.startswith("/") and not nxt.startswith("//") and "\\" not in nxt else "/"


def _start_session(request: Request, uow: Any, user: Any) -> None:
    sid = sessions.start(uow, user, hours=settings_of(request).session_hours, address=client_address(request))
    request.session.clear()  # a new cookie at every log-in (no session fixation)
    request.session.update({"sid": sid, "user": user.username, "csrf": secrets.token_urlsafe(32)})


def _enrol_page(request: Request, error: str = "", status: int = 200) -> HTMLResponse:
    secret, username = request.session.get("enrol_secret", ""), request.session.get("enrol_user", "")
    return page(request, "Set up your second factor", [
        {"text": ["Add this key to an authenticator app (it works offline), then enter the 6-digit code it shows.",
                  f"Key: {secret}", f"Or open: {totp.provisioning_uri(secret, username)}"]},
        {"form": form("/login/enrol", [field("code", "One-time code", required=True),
                                       field("next", "", "hidden", value=request.session.get("enrol_next", "/"))],
                      "Confirm and log in", form_id="enrol")}], status=status, error=error)


@router.get("/login")
def login_get(request: Request, next: str = "/") -> HTMLResponse:
    return _login_page(request, nxt=_safe_next(next))


@router.post("/login")
def login_post(request: Request, data: Form) -> Response:
    username, password = data.get("username", "").strip()[:120], data.get("password", "")[:1000]
    nxt = _safe_next(data.get("next"))
    with store_of(request).unit_of_work(actor=username or "anonymous") as uow:
        result = login(uow, username, password, address=client_address(request), code=data.get("code", "")[:20],
                       policy=LoginPolicy.from_settings(settings_of(request)))
        if result.error is None and result.user is not None:
            _start_session(request, uow, result.user)
        uow.commit()
    if result.needs == "enrol" and result.user is not None:
        request.session.clear()
        request.session.update({"enrol_user": result.user.username, "enrol_secret": totp.new_secret(),
                                "enrol_at": time.time(), "enrol_next": nxt, "csrf": secrets.token_urlsafe(32)})
        return _enrol_page(request, result.error.message if result.error else "")
    if result.error is not None:
        return _login_page(request, result.error.message, 401, nxt, username if result.needs else "")
    return see_other(nxt)


@router.post("/login/enrol")
def login_enrol(request: Request, data: Form) -> Response:
    username, secret = request.session.get("enrol_user"), request.session.get("enrol_secret")
    if not username or not secret or time.time() - float(request.session.get("enrol_at", 0)) > ENROL_MINUTES * 60:
        request.session.clear()
        return _login_page(request, f"the set-up of your second factor has expired (it lasts {ENROL_MINUTES} "
                           "minutes); log in again", 401)
    code = data.get("code", "")[:20]
    with store_of(request).unit_of_work(actor=str(username)) as uow:
        user = get_user(uow.session, str(username))
        factor = totp.factor_of(uow.session, user)
        if factor is not None and factor.confirmed:
            request.session.clear()
            return _login_page(request, "a second factor is already set up for this account; log in with its code", 401)
        if factor is None:
            factor = TotpFactor(user_id=user.id, secret=str(secret), confirmed=False, last_step=0)
            uow.session.add(factor)
        factor.secret = str(secret)
        if not user.active or not totp.verify(uow, factor, code):
            return _enrol_page(request, f"the code {code!r} does not match the key; check the app's clock and enter "
                               "the code it shows now", 401)
        factor.confirmed = True
        uow.log_event("totp_enrolled", table_name="users", record_id=str(user.id), trial_id=None,
                      detail={"username": user.username, "by": "log-in page"})
        uow.log_event("login", table_name="users", record_id=str(user.id), trial_id=None,
                      detail={"username": user.username, "address": client_address(request)[:64]})
        nxt = _safe_next(request.session.get("enrol_next"))
        _start_session(request, uow, user)
        uow.commit()
    return see_other(nxt)


@router.post("/logout")
def logout(request: Request, data: Form) -> Response:
    sid = request.session.get("sid")
    if isinstance(sid, str):
        with store_of(request).unit_of_work(actor=str(request.session.get("user") or "anonymous")) as uow:
            who = sessions.end(uow, sid)
            if who:
                uow.log_event("logout", table_name="users", record_id=who, trial_id=None, detail={"username": who})
            uow.commit()
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
def participants(request: Request, trial_id: str, user: User, site: str | None = None) -> HTMLResponse:
    from securebase.web.pager import pager, paging_of

    pg = paging_of(request)
    rows = read(request, user, trial_id, lambda s, a: enrol.list_participants(s, a, site_code=site or None, page=pg))
    table = {"columns": ["participant", "site", "status", "enrolled", "age band"],
             "rows": [[link(f"/trials/{trial_id}/participants/{r['participant_id']}", r["participant_id"]), r["site"],
                       r["status"], r["enrolled_on"], r["age_band"]] for r in rows], "empty": "No participant yet."}
    return page(request, "Participants", [{"table": table}, pager(request, pg, what="participants")], trial_id=trial_id)


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
