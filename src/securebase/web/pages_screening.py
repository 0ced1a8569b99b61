"""Screening and consent pages.

The screening form asks every criterion as a positive yes/no question ("yes" always means the criterion is
met; the ``met_<criterion>`` answers are mapped to the protocol's fields by
:func:`securebase.protocol.answers_from_met`). Nothing is saved until every question is answered and the
person has seen the eligibility summary and confirmed it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from securebase.errors import ConflictError, FieldError, InputError
from securebase.protocol import Protocol, answers_from_met, met_field
from securebase.trial import access, consent, screening
from securebase.web.deps import read, write
from securebase.web.pagekit import Form, User, see_other, yesno
from securebase.web.render import YES_NO, field, form, link, page, set_errors

router = APIRouter(include_in_schema=False)
NONE_OF_THESE = "none_of_these"
FIXED = {"site_code": "Site", "screened_on": "Screened on"}


async def posted_lists(request: Request) -> dict[str, list[str]]:
    """Every value of every posted field (check boxes send several); the CSRF check is done by ``Form``."""
    out: dict[str, list[str]] = {}
    for k, v in (await request.form()).multi_items():
        if isinstance(v, str):
            out.setdefault(k, []).append(v)
    return out


MultiForm = Annotated[dict[str, list[str]], Depends(posted_lists)]


def nice(code: str | None) -> str:
    return "" if code is None else str(code).replace("_", " ")


def input_name(c: Any) -> str:
    """The form field that answers criterion ``c``."""
    return met_field(c) if c.kind == "boolean" else c.field


def _fields(protocol: Protocol, sites: list[tuple[str, str]], values: dict[str, list[str]]) -> list[dict[str, Any]]:
    def one(name: str, default: str = "") -> str:
        v = values.get(name)
        return v[-1] if v else default

    out = [field("site_code", "Site", "select", options=sites, required=True,
                 value=one("site_code", sites[0][0] if len(sites) == 1 else "")),
           field("screened_on", "Screened on", "date", value=one("screened_on", access.today().isoformat()))]
    for c in protocol.eligibility:
        if c.kind == "age_range":
            out.append(field(c.field, "Child's date of birth", "date", required=True, value=one(c.field),
                             help=f"Used to answer \u201c{c.asked}\u201d; the date itself is not kept"))
        elif c.kind == "in_set":
            out.append(field(c.field, c.asked, "radio", required=True, value=one(c.field),
                             options=[(v, f"Yes: {nice(v)}") for v in c.allowed] + [(NONE_OF_THESE, "No: none of these")]))
        elif c.kind == "any_in_set":
            out.append(field(c.field, c.asked, "checkboxes", required=True, value=values.get(c.field, []),
                             options=[(v, nice(v)) for v in c.allowed] + [(NONE_OF_THESE, "None recorded")],
                             help="Tick every type recorded"))
        else:
            out.append(field(met_field(c), c.asked, "radio", required=True, value=one(met_field(c)), options=YES_NO))
    out.append(field("la_parental_responsibility", "Does the local authority share parental responsibility?", "radio",
                     options=YES_NO, value=one("la_parental_responsibility"),
                     help="Leave unanswered to decide from the placement (foster, kinship and residential: yes)"))
    return out


def answers_of(protocol: Protocol, multi: dict[str, list[str]]) -> dict[str, Any]:
    """The protocol's answer fields from the posted form."""
    last = {k: v[-1] for k, v in multi.items() if v}
    out = answers_from_met(protocol, last)
    for c in protocol.eligibility:
        if c.kind == "any_in_set":
            vals = [v for v in multi.get(c.field, []) if v]
            if vals:
                out[c.field] = vals
        elif c.kind != "boolean" and last.get(c.field):
            out[c.field] = last[c.field]
    la = yesno(last.get("la_parental_responsibility"))
    if la is not None:
        out["la_parental_responsibility"] = la
    return out


def _context(request: Request, user: str, trial_id: str) -> tuple[Protocol, list[tuple[str, str]], bool]:
    def build(s: Any, a: Any) -> tuple[Protocol, list[tuple[str, str]], bool]:
        protocol = access.protocol_of(s, trial_id)
        sites = [(x.code, f"{x.code} {x.name}") for x in protocol.sites if a.can_reach_site(x.code)]
        return protocol, sites, a.has(*access.RECRUITMENT_ROLES)
    return read(request, user, trial_id, build)


def screening_page(request: Request, user: str, trial_id: str, *, values: dict[str, list[str]] | None = None,
                   errors: dict[str, str] | None = None, error: str = "", status: int = 200) -> HTMLResponse:
    protocol, sites, can = _context(request, user, trial_id)
    from securebase.web.pager import pager, paging_of

    pg = paging_of(request)
    site, outcome = request.query_params.get("site") or None, request.query_params.get("outcome") or None
    rows = read(request, user, trial_id, lambda s, a: screening.list_screening(s, a, site_code=site, outcome=outcome,
                                                                               page=pg))
    table = {"columns": ["number", "site", "screened", "eligible", "outcome", "reasons"],
             "rows": [[link(f"/trials/{trial_id}/screening/{r['screening_number']}", r["screening_number"]), r["site"],
                       r["screened_on"], "yes" if r["eligible"] else "no", nice(r["outcome"]), r["ineligible_reasons"]]
                      for r in rows], "empty": "No child screened yet."}
    sections: list[dict[str, Any]] = [{"heading": "Screening log", "table": table},
                                      pager(request, pg, what="children screened")]
    if can:
        fields = set_errors(_fields(protocol, sites, values or {}), errors or {})
        sections.insert(0, {"heading": "Screen a child", "text": [
            "Every child considered is logged, eligible or not: the log is the source of the CONSORT diagram. "
            "Answer every question; \u201cYes\u201d always means the child meets that criterion. You will see the "
            "eligibility before anything is saved."],
            "form": form(f"/trials/{trial_id}/screening", fields, "Continue", form_id="screen",
                         button=("action", "check"))})
    return page(request, "Screening", sections, trial_id=trial_id, error=error, status=status)


@router.get("/trials/{trial_id}/screening")
def screening_get(request: Request, trial_id: str, user: User) -> HTMLResponse:
    return screening_page(request, user, trial_id)


def _missing(protocol: Protocol, multi: dict[str, list[str]], answers: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not (multi.get("site_code") or [""])[-1]:
        errors["site_code"] = "Choose the site"
    from securebase.protocol import unanswered

    for c in unanswered(protocol, answers):
        errors[input_name(c)] = ("Enter the child's date of birth" if c.kind == "age_range"
                                 else "Tick at least one box" if c.kind == "any_in_set" else "Answer yes or no")
    return errors


@router.post("/trials/{trial_id}/screening")
def screening_post(request: Request, trial_id: str, user: User, data: Form, multi: MultiForm) -> Response:
    protocol, _, _ = _context(request, user, trial_id)
    answers = answers_of(protocol, multi)
    if data.get("action") == "change":
        return screening_page(request, user, trial_id, values=multi)
    errors = _missing(protocol, multi, answers)
    if errors:
        return screening_page(request, user, trial_id, values=multi, errors=errors, status=422)
    site, on = data.get("site_code", ""), data.get("screened_on") or None
    try:
        if data.get("action") == "save":
            rec = write(request, user, trial_id, lambda u, a: screening.to_dict(screening.screen(
                u, a, site_code=site, answers=answers, screened_on=on, require_complete=True)))
        else:
            pv = read(request, user, trial_id, lambda s, a: screening.preview(
                s, a, site_code=site, answers=answers, screened_on=on))
    except FieldError as exc:
        name = exc.field if exc.field in {f["name"] for f in _fields(protocol, [("", "")], {})} else ""
        if name:
            return screening_page(request, user, trial_id, values=multi, errors={name: exc.message}, status=422)
        return screening_page(request, user, trial_id, values=multi, error=exc.message, status=exc.http_status)
    except (InputError, ConflictError) as exc:
        return screening_page(request, user, trial_id, values=multi, error=exc.message, status=exc.http_status)
    if data.get("action") == "save":
        verdict = "eligible" if rec["eligible"] else "not eligible"
        return see_other(f"/trials/{trial_id}/screening/{rec['screening_number']}",
                         f"Screening record {rec['screening_number']} saved: {verdict}")
    return summary_page(request, trial_id, multi, pv)


def summary_page(request: Request, trial_id: str, multi: dict[str, list[str]], pv: dict[str, Any]) -> HTMLResponse:
    hidden = [field(k, "", "hidden", value=v) for k, vs in multi.items() if k not in ("csrf_token", "action") for v in vs]
    verdict = ("Eligible: every criterion is met." if pv["eligible"] else
               "Not eligible: " + "; ".join(pv["reasons"]) + ".")
    sections = [{"heading": "Eligibility", "id": "eligibility-summary", "text": [verdict], "table": {
        "columns": ["question", "answer"],
        "rows": [[q.question, q.answer + (f" ({q.detail})" if q.detail and q.met is False else "")]
                 for q in pv["questions"]]}},
        {"heading": "Save or change", "form": form(
            f"/trials/{trial_id}/screening", hidden, "Save screening record", form_id="screen-confirm",
            button=("action", "save"), extra_buttons=[{"name": "action", "value": "change", "text": "Change answers"}])}]
    return page(request, "Check the eligibility before saving", sections, trial_id=trial_id)


# -- one screening record: consent, approach, decline, enrol ---------------------------------------------------
def _consent_fields(values: dict[str, str]) -> list[dict[str, Any]]:
    v = values.get
    return [field("kind", "What is being signed", "select", required=True, value=v("kind"),
                  options=[(k, consent.KIND_LABELS[k]) for k in consent.KINDS]),
            field("form_version", "Form version", required=True, value=v("form_version"),
                  help="As printed on the signed form, for example 2.0 or v2.0"),
            field("signatory_role", "Signed by", "select", required=True, value=v("signatory_role"),
                  options=[(k, nice(k)) for k in consent.SIGNATORY_ROLES]),
            field("signed_on", "Signed on", "date", value=v("signed_on") or access.today().isoformat()),
            field("given", "Was consent given?", "radio", required=True, value=v("given"),
                  options=[("yes", "Yes, consent given"), ("no", "No, refused")])]


def screening_record_page(request: Request, user: str, trial_id: str, number: str, *, error: str = "",
                          status: int = 200, form_id: str = "", values: dict[str, str] | None = None,
                          errors: dict[str, str] | None = None) -> HTMLResponse:
    rec = read(request, user, trial_id, lambda s, a: screening.get_screening(s, a, number))
    qs = read(request, user, trial_id, lambda s, a: screening.questions_of(s, a, number))
    can = read(request, user, trial_id, lambda s, a: a.has(*access.RECRUITMENT_ROLES))
    sections: list[dict[str, Any]] = [{"heading": "Record", "dl": [
        ("Screening number", rec["screening_number"]), ("Site", rec["site"]), ("Screened on", rec["screened_on"]),
        ("Eligible", "yes" if rec["eligible"] else "no"), ("Reasons", rec["ineligible_reasons"] or "-"),
        ("Outcome", nice(rec["outcome"])), ("Declined because", rec["declined_reason"] or "-")]},
        {"heading": "Eligibility questions", "table": {"columns": ["question", "criterion met"],
                                                       "rows": [[q.question, q.answer] for q in qs]}}]
    base = f"/trials/{trial_id}/screening/{number}"

    def vals(fid: str) -> dict[str, str]:
        return (values or {}) if form_id == fid else {}

    def errs(fid: str) -> dict[str, str]:
        return (errors or {}) if form_id == fid else {}
    if can and rec["eligible"]:
        st = read(request, user, trial_id, lambda s, a: consent.consent_status(s, a, number))
        labels = consent.KIND_LABELS
        sections.append({"heading": "Consent and assent", "id": "consent", "text": [
            f"Required: {', '.join(labels[k] for k in st['required'])}. "
            f"Given: {', '.join(labels[k] for k in st['given']) or 'none'}. "
            f"Child's form for this age: {consent.FORM_LABELS.get(st['child_form'] or '', nice(st['child_form']))}."],
            "table": {"columns": ["what", "form", "signatory", "given", "signed on", "recorded by"],
                      "rows": [[x["kind_label"], x["form_label"], nice(x["signatory_role"]),
                                "yes" if x["given"] else "refused", x["signed_on"], x["recorded_by"]]
                               for x in st["signatures"]],
                      "empty": "No signature recorded yet."}})
        if rec["outcome"] in ("eligible", "approached", "consented"):
            sections.append({"heading": "Record a signature", "form": form(
                f"{base}/consent", set_errors(_consent_fields(vals("consent-form")), errs("consent-form")),
                "Record signature", form_id="consent-form")})
        if rec["outcome"] in ("eligible", "not_approached", "approached"):
            v = vals("approach-form")
            sections.append({"heading": "Approach", "form": form(f"{base}/approach", set_errors([
                field("approached", "Was the family approached?", "radio", options=YES_NO, required=True,
                      value=v.get("approached")),
                field("not_approached_reason", "Reason not approached", value=v.get("not_approached_reason"))],
                errs("approach-form")), "Record approach", form_id="approach-form")})
            sections.append({"heading": "Declined", "form": form(f"{base}/decline", set_errors([
                field("reason", "Reason given", required=True, value=vals("decline-form").get("reason"))],
                errs("decline-form")), "Record decline", form_id="decline-form")})
        if rec["outcome"] == "consented":
            sections.append({"heading": "Enrol", "form": form(f"{base}/enrol", [
                field("sex", "Sex", "select", options=[("female", "female"), ("male", "male")]),
                field("enrolled_on", "Enrolled on", "date", value=access.today().isoformat())],
                "Enrol", form_id="enrol-form")})
    from securebase.web import pages_corrections

    sigs = st["signatures"] if can and rec["eligible"] else []
    sections += pages_corrections.screening_sections(request, user, trial_id, number, rec, sigs)
    return page(request, f"Screening {number}", sections, trial_id=trial_id, error=error, status=status)


@router.get("/trials/{trial_id}/screening/{number}")
def screening_record(request: Request, trial_id: str, number: str, user: User) -> HTMLResponse:
    return screening_record_page(request, user, trial_id, number)


def _screening_action(request: Request, user: str, trial_id: str, number: str, fn: Any, notice: str, *,
                      form_id: str = "", values: dict[str, str] | None = None,
                      required: dict[str, str] | None = None) -> Response:
    missing = {k: msg for k, msg in (required or {}).items() if not (values or {}).get(k)}
    if missing:
        return screening_record_page(request, user, trial_id, number, status=422, form_id=form_id, values=values,
                                     errors=missing)
    try:
        out = write(request, user, trial_id, fn)
    except FieldError as exc:
        return screening_record_page(request, user, trial_id, number, status=exc.http_status, form_id=form_id,
                                     values=values, errors={exc.field: exc.message})
    except (InputError, ConflictError) as exc:
        return screening_record_page(request, user, trial_id, number, error=exc.message, status=exc.http_status,
                                     form_id=form_id, values=values)
    if isinstance(out, str):
        return see_other(out, notice)
    return see_other(f"/trials/{trial_id}/screening/{number}", notice)


@router.post("/trials/{trial_id}/screening/{number}/consent")
def consent_post(request: Request, trial_id: str, number: str, user: User, data: Form) -> Response:
    return _screening_action(request, user, trial_id, number, lambda u, a: consent.record_consent(
        u, a, number, kind=data.get("kind", ""), form_version=data.get("form_version", ""),
        signatory_role=data.get("signatory_role", ""), signed_on=data.get("signed_on") or None,
        given=bool(yesno(data.get("given")))) and None, "Signature recorded", form_id="consent-form", values=data,
        required={"kind": "Choose what is being signed", "form_version": "Enter the form version from the signed form",
                  "signatory_role": "Choose who signed", "given": "Answer whether consent was given"})


@router.post("/trials/{trial_id}/screening/{number}/approach")
def approach_post(request: Request, trial_id: str, number: str, user: User, data: Form) -> Response:
    return _screening_action(request, user, trial_id, number, lambda u, a: screening.record_approach(
        u, a, number, approached=bool(yesno(data.get("approached"))),
        not_approached_reason=data.get("not_approached_reason") or None) and None, "Approach recorded",
        form_id="approach-form", values=data, required={"approached": "Answer whether the family was approached"})


@router.post("/trials/{trial_id}/screening/{number}/decline")
def decline_post(request: Request, trial_id: str, number: str, user: User, data: Form) -> Response:
    return _screening_action(request, user, trial_id, number, lambda u, a: screening.record_decline(
        u, a, number, reason=data.get("reason", "")) and None, "Decline recorded", form_id="decline-form",
        values=data, required={"reason": "Enter the reason given (or 'not given')"})


@router.post("/trials/{trial_id}/screening/{number}/enrol")
def enrol_post(request: Request, trial_id: str, number: str, user: User, data: Form) -> Response:
    from securebase.trial import enrol

    def run(u: Any, a: Any) -> str:
        p = enrol.enrol(u, a, number, sex=data.get("sex") or None, enrolled_on=data.get("enrolled_on") or None)
        return f"/trials/{trial_id}/participants/{p.participant_id}"
    return _screening_action(request, user, trial_id, number, run, "Enrolled")
