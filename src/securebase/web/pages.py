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
from securebase.trial import access, consent, enrol, screening, sessions, totp
from securebase.trial.accounts import LoginPolicy, get_user, login, user_trials
from securebase.trial.roles import Role
from securebase.web import pages_data, pages_lists
from securebase.web.deps import client_address, read, settings_of, store_of, write
from securebase.web.pagekit import Form, User, see_other, yesno
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


# -- screening -----------------------------------------------------------------------------------------
def _eligibility_fields(request: Request, user: str, trial_id: str) -> list[dict[str, Any]]:
    def build(s: Any, a: Any) -> list[dict[str, Any]]:
        protocol = access.protocol_of(s, trial_id)
        sites = [(x.code, f"{x.code} {x.name}") for x in protocol.sites if a.can_reach_site(x.code)]
        out = [field("site_code", "Site", "select", options=sites, required=True, value=sites[0][0] if len(sites) == 1 else ""),
               field("screened_on", "Screened on", "date", value=access.today().isoformat())]
        for c in protocol.eligibility:
            if c.kind == "age_range":
                out.append(field(c.field, f"Date of birth ({c.label})", "date", required=True))
            elif c.kind == "in_set":
                out.append(field(c.field, c.label, "select", options=[(v, v.replace("_", " ")) for v in c.allowed]))
            elif c.kind == "any_in_set":
                out.append(field(c.field, c.label, help="comma-separated: " + ", ".join(c.allowed)))
            else:
                out.append(field(c.field, c.label, "select", options=[("yes", "yes"), ("no", "no")]))
        out.append(field("la_parental_responsibility", "Local authority shares parental responsibility", "select",
                         options=[("yes", "yes"), ("no", "no")], help="leave blank to decide from the placement"))
        return out
    return read(request, user, trial_id, build)


def _answers(request: Request, user: str, trial_id: str, data: dict[str, str]) -> dict[str, Any]:
    protocol = read(request, user, trial_id, lambda s, a: access.protocol_of(s, trial_id))
    kinds = {c.field: c.kind for c in protocol.eligibility}
    out: dict[str, Any] = {}
    for k, v in data.items():
        if k in ("site_code", "screened_on") or v == "":
            continue
        kind = kinds.get(k)
        if kind == "boolean" or k == "la_parental_responsibility":
            out[k] = yesno(v)
        elif kind == "any_in_set":
            out[k] = [x.strip() for x in v.split(",") if x.strip()]
        else:
            out[k] = v
    return out


def screening_page(request: Request, user: str, trial_id: str, *, error: str = "", status: int = 200) -> HTMLResponse:
    rows = read(request, user, trial_id, screening.list_screening)
    table = {"columns": ["number", "site", "screened", "eligible", "outcome", "reasons"],
             "rows": [[link(f"/trials/{trial_id}/screening/{r['screening_number']}", r["screening_number"]), r["site"],
                       r["screened_on"], "yes" if r["eligible"] else "no", r["outcome"], r["ineligible_reasons"]]
                      for r in rows], "empty": "No child screened yet."}
    sections = [{"heading": "Screening log", "table": table}]
    if read(request, user, trial_id, lambda s, a: a.has(*access.RECRUITMENT_ROLES)):
        sections.insert(0, {"heading": "Screen a child", "text": [
            "Every child considered is logged, eligible or not: the log is the source of the CONSORT diagram. "
            "The date of birth is used to work out the age and is not kept."],
            "form": form(f"/trials/{trial_id}/screening", _eligibility_fields(request, user, trial_id), "Screen",
                         form_id="screen")})
    return page(request, "Screening", sections, trial_id=trial_id, error=error, status=status)


@router.get("/trials/{trial_id}/screening")
def screening_get(request: Request, trial_id: str, user: User) -> HTMLResponse:
    return screening_page(request, user, trial_id)


@router.post("/trials/{trial_id}/screening")
def screening_post(request: Request, trial_id: str, user: User, data: Form) -> Response:
    answers = _answers(request, user, trial_id, data)
    try:
        rec = write(request, user, trial_id, lambda u, a: screening.to_dict(screening.screen(
            u, a, site_code=data.get("site_code", ""), answers=answers, screened_on=data.get("screened_on") or None)))
    except (InputError, ConflictError) as exc:
        return screening_page(request, user, trial_id, error=exc.message, status=exc.http_status)
    verdict = "eligible" if rec["eligible"] else "not eligible: " + rec["ineligible_reasons"]
    return see_other(f"/trials/{trial_id}/screening/{rec['screening_number']}", f"{rec['screening_number']} {verdict}")


def screening_record_page(request: Request, user: str, trial_id: str, number: str, *, error: str = "",
                          status: int = 200) -> HTMLResponse:
    rec = read(request, user, trial_id, lambda s, a: screening.get_screening(s, a, number))
    can = read(request, user, trial_id, lambda s, a: a.has(*access.RECRUITMENT_ROLES))
    sections: list[dict[str, Any]] = [{"heading": "Record", "dl": [
        ("Screening number", rec["screening_number"]), ("Site", rec["site"]), ("Screened on", rec["screened_on"]),
        ("Eligible", "yes" if rec["eligible"] else "no"), ("Reasons", rec["ineligible_reasons"] or "-"),
        ("Outcome", rec["outcome"]), ("Declined because", rec["declined_reason"] or "-"),
        ("Answers", ", ".join(f"{k}: {v}" for k, v in rec["answers"].items()))]}]
    base = f"/trials/{trial_id}/screening/{number}"
    if can and rec["eligible"]:
        st = read(request, user, trial_id, lambda s, a: consent.consent_status(s, a, number))
        sections.append({"heading": "Consent and assent", "id": "consent", "text": [
            f"Required: {', '.join(st['required'])}. Given: {', '.join(st['given']) or 'none'}. "
            f"Child's form for this age: {st['child_form']}."],
            "table": {"columns": ["kind", "form", "signatory", "given", "signed on", "recorded by"],
                      "rows": [[x["kind"], x["form_version"], x["signatory_role"], "yes" if x["given"] else "refused",
                                x["signed_on"], x["recorded_by"]] for x in st["signatures"]],
                      "empty": "No signature recorded yet."}})
        if rec["outcome"] in ("eligible", "approached", "consented"):
            sections.append({"heading": "Record a signature", "form": form(f"{base}/consent", [
                field("kind", "Kind", "select", options=[(k, k.replace("_", " ")) for k in consent.KINDS], required=True),
                field("form_version", "Form version", required=True, help="as printed on the signed form, e.g. 2.0"),
                field("signatory_role", "Signed by", "select",
                      options=[(k, k.replace("_", " ")) for k in consent.SIGNATORY_ROLES], required=True),
                field("signed_on", "Signed on", "date", value=access.today().isoformat()),
                field("given", "Consent given (untick for a refusal)", "checkbox", value=True)],
                "Record signature", form_id="consent-form")})
        if rec["outcome"] in ("eligible", "not_approached", "approached"):
            sections.append({"heading": "Approach", "form": form(f"{base}/approach", [
                field("approached", "Family approached", "select", options=[("yes", "yes"), ("no", "no")], required=True),
                field("not_approached_reason", "Reason not approached")], "Record approach", form_id="approach-form")})
            sections.append({"heading": "Declined", "form": form(f"{base}/decline", [
                field("reason", "Reason given", required=True)], "Record decline", form_id="decline-form")})
        if rec["outcome"] == "consented":
            sections.append({"heading": "Enrol", "form": form(f"{base}/enrol", [
                field("sex", "Sex", "select", options=[("female", "female"), ("male", "male")]),
                field("enrolled_on", "Enrolled on", "date", value=access.today().isoformat())],
                "Enrol", form_id="enrol-form")})
    return page(request, f"Screening {number}", sections, trial_id=trial_id, error=error, status=status)


@router.get("/trials/{trial_id}/screening/{number}")
def screening_record(request: Request, trial_id: str, number: str, user: User) -> HTMLResponse:
    return screening_record_page(request, user, trial_id, number)


def _screening_action(request: Request, user: str, trial_id: str, number: str, fn: Any, notice: str) -> Response:
    try:
        out = write(request, user, trial_id, fn)
    except (InputError, ConflictError) as exc:
        return screening_record_page(request, user, trial_id, number, error=exc.message, status=exc.http_status)
    if isinstance(out, str):
        return see_other(out, notice)
    return see_other(f"/trials/{trial_id}/screening/{number}", notice)


@router.post("/trials/{trial_id}/screening/{number}/consent")
def consent_post(request: Request, trial_id: str, number: str, user: User, data: Form) -> Response:
    return _screening_action(request, user, trial_id, number, lambda u, a: consent.record_consent(
        u, a, number, kind=data.get("kind", ""), form_version=data.get("form_version", ""),
        signatory_role=data.get("signatory_role", ""), signed_on=data.get("signed_on") or None,
        given=bool(yesno(data.get("given")))) and None, "Signature recorded")


@router.post("/trials/{trial_id}/screening/{number}/approach")
def approach_post(request: Request, trial_id: str, number: str, user: User, data: Form) -> Response:
    return _screening_action(request, user, trial_id, number, lambda u, a: screening.record_approach(
        u, a, number, approached=bool(yesno(data.get("approached"))),
        not_approached_reason=data.get("not_approached_reason") or None) and None, "Approach recorded")


@router.post("/trials/{trial_id}/screening/{number}/decline")
def decline_post(request: Request, trial_id: str, number: str, user: User, data: Form) -> Response:
    return _screening_action(request, user, trial_id, number, lambda u, a: screening.record_decline(
        u, a, number, reason=data.get("reason", "")) and None, "Decline recorded")


@router.post("/trials/{trial_id}/screening/{number}/enrol")
def enrol_post(request: Request, trial_id: str, number: str, user: User, data: Form) -> Response:
    def run(u: Any, a: Any) -> str:
        p = enrol.enrol(u, a, number, sex=data.get("sex") or None, enrolled_on=data.get("enrolled_on") or None)
        return f"/trials/{trial_id}/participants/{p.participant_id}"
    return _screening_action(request, user, trial_id, number, run, "Enrolled")


# -- participants ---------------------------------------------------------------------------------------
@router.get("/trials/{trial_id}/participants")
def participants(request: Request, trial_id: str, user: User) -> HTMLResponse:
    rows = read(request, user, trial_id, enrol.list_participants)
    table = {"columns": ["participant", "site", "status", "enrolled", "age band"],
             "rows": [[link(f"/trials/{trial_id}/participants/{r['participant_id']}", r["participant_id"]), r["site"],
                       r["status"], r["enrolled_on"], r["age_band"]] for r in rows], "empty": "No participant yet."}
    return page(request, "Participants", [{"table": table}], trial_id=trial_id)


@router.post("/trials/{trial_id}/participants/{pid}/randomise")
def randomise_post(request: Request, trial_id: str, pid: str, user: User, data: Form) -> Response:
    from securebase.trial.randomise import randomise

    try:
        write(request, user, trial_id, lambda u, a: randomise(u, a, pid))
    except (InputError, ConflictError) as exc:
        return pages_data.participant_page(request, user, trial_id, pid, error=exc.message, status=exc.http_status)
    return see_other(f"/trials/{trial_id}/participants/{pid}", "Randomised: the allocation is shown below")


router.include_router(pages_data.router)
router.include_router(pages_lists.router)

__all__ = ["NotFound", "Role", "router"]
