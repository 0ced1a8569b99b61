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
from securebase.trial import access, consent, enrol, screening
from securebase.trial.accounts import NotAuthenticated, login, user_trials
from securebase.trial.roles import Role
from securebase.web import pages_data, pages_lists
from securebase.web.deps import read, settings_of, store_of, write
from securebase.web.pagekit import Form, User, see_other, yesno
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
