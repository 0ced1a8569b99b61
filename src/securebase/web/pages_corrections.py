"""Pages for corrections and "entered in error" (screening records, signatures, events, forms), each with
a reason; the services audit them and the CONSORT counts follow."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from securebase.errors import ConflictError, InputError
from securebase.protocol import met_field
from securebase.trial import access, corrections
from securebase.web.deps import read, write
from securebase.web.pagekit import Form, User, num, see_other
from securebase.web.render import YES_NO, field, form

router = APIRouter(include_in_schema=False)
REASON_HELP = "Say what was wrong and how it was checked, e.g. 'date of birth mistyped; checked against the referral'"


def _register_section(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not rows:
        return []
    return [{"heading": "Entered in error", "id": "entered-in-error", "table": {
        "columns": ["what", "reason", "by", "when (UTC)"],
        "rows": [[f"{r['kind']}: {r['what']}", r["reason"], r["by"], r["at"]] for r in rows]}}]


def screening_sections(request: Request, user: str, trial_id: str, number: str, rec: dict[str, Any],
                       signatures: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def build(s: Any, a: Any) -> tuple[Any, bool, list[dict[str, Any]]]:
        return access.protocol_of(s, trial_id), a.has(*corrections.CORRECTORS), corrections.register(
            s, a, screening_number=number)
    protocol, can, reg = read(request, user, trial_id, build)
    out = _register_section(reg)
    if not can or rec["outcome"] == "entered_in_error":
        return out
    base = f"/trials/{trial_id}/screening/{number}"
    ans = rec["answers"]
    fields: list[dict[str, Any]] = []
    for c in protocol.eligibility:
        if c.kind == "age_range":
            fields.append(field("age_years", "Age in completed years on the screening date", "number",
                                value=ans.get("age_years")))
        elif c.kind == "in_set":
            fields.append(field(c.field, c.asked, "radio", value=ans.get(c.field),
                                options=[(v, f"Yes: {v.replace('_', ' ')}") for v in c.allowed] +
                                [("none_of_these", "No: none of these")]))
        elif c.kind == "any_in_set":
            fields.append(field(c.field, c.asked, "checkboxes", value=ans.get(c.field) or [],
                                options=[(v, v.replace("_", " ")) for v in c.allowed]))
        else:
            stored = ans.get(c.field)
            met = None if stored is None else ("yes" if bool(stored) == c.expected else "no")
            fields.append(field(met_field(c), c.asked, "radio", value=met, options=YES_NO))
    fields.append(field("reason", "Reason for the correction", required=True, help=REASON_HELP))
    out.append({"heading": "Correct this record", "text": [
        "Change the answers that were wrong; eligibility is worked out again and the change is audited."],
        "form": form(f"{base}/correct", fields, "Save correction", form_id="correct-form")})
    if rec["outcome"] != "enrolled":
        out.append({"heading": "Entered in error?", "text": [
            "For a duplicate, the wrong child or a test entry: the record keeps its number but leaves the screening "
            "counts (CONSORT)."], "form": form(f"{base}/in-error", [
                field("reason", "Reason", required=True, help=REASON_HELP)],
                "Mark entered in error", form_id="screening-in-error-form")})
        if signatures:
            out.append({"heading": "A signature entered in error?", "form": form(f"{base}/consent-in-error", [
                field("consent_id", "Signature", "select", required=True, options=[
                    (str(x["id"]), f"{x['kind_label']}, {x['form_label']}, signed {x['signed_on']}") for x in signatures]),
                field("reason", "Reason", required=True, help=REASON_HELP)],
                "Mark signature entered in error", form_id="consent-in-error-form")})
    return out


def participant_sections(request: Request, user: str, trial_id: str, pid: str,
                         evs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def build(s: Any, a: Any) -> tuple[bool, list[dict[str, Any]]]:
        return a.has(*access.EVENT_ROLES), corrections.register(s, a, participant_id=pid)
    can, reg = read(request, user, trial_id, build)
    out = _register_section(reg)
    if can and evs:
        out.append({"heading": "An event entered in error?", "form": form(
            f"/trials/{trial_id}/participants/{pid}/event-in-error", [
                field("event_id", "Event", "select", required=True, options=[
                    (str(e["id"]), f"{e['event_type'].replace('_', ' ')} on {e['occurred_on']}") for e in evs]),
                field("reason", "Reason", required=True, help=REASON_HELP)],
            "Mark event entered in error", form_id="event-in-error-form")})
    return out


def _do(request: Request, user: str, trial_id: str, fn: Any, back: str, notice: str, error_page: Any,
        reason: str) -> Response:
    if not reason.strip():
        return error_page("Reason: enter the reason for the correction; nothing was changed", 422)
    try:
        write(request, user, trial_id, fn)
    except (InputError, ConflictError) as exc:
        return error_page(exc.message, exc.http_status)
    return see_other(back, notice)


def _screening_error(request: Request, user: str, trial_id: str, number: str) -> Any:
    from securebase.web.pages_screening import screening_record_page

    return lambda msg, status: screening_record_page(request, user, trial_id, number, error=msg, status=status)


@router.post("/trials/{trial_id}/screening/{number}/correct")
def correct_post(request: Request, trial_id: str, number: str, user: User, data: Form) -> Response:
    from securebase.web.pages_screening import answers_of, posted_lists  # noqa: F401

    protocol = read(request, user, trial_id, lambda s, a: access.protocol_of(s, trial_id))
    multi = {k: [v] for k, v in data.items()}
    answers = answers_of(protocol, multi)
    if data.get("age_years"):
        answers["age_years"] = data["age_years"]
    return _do(request, user, trial_id, lambda u, a: corrections.correct_screening(
        u, a, number, answers=answers, reason=data.get("reason", "")), f"/trials/{trial_id}/screening/{number}",
        "Correction saved", _screening_error(request, user, trial_id, number), data.get("reason", ""))


@router.post("/trials/{trial_id}/screening/{number}/in-error")
def screening_in_error_post(request: Request, trial_id: str, number: str, user: User, data: Form) -> Response:
    return _do(request, user, trial_id, lambda u, a: corrections.screening_in_error(
        u, a, number, reason=data.get("reason", "")), f"/trials/{trial_id}/screening/{number}",
        "Marked entered in error", _screening_error(request, user, trial_id, number), data.get("reason", ""))


@router.post("/trials/{trial_id}/screening/{number}/consent-in-error")
def consent_in_error_post(request: Request, trial_id: str, number: str, user: User, data: Form) -> Response:
    cid = num(data.get("consent_id"), "consent_id", int) or 0
    return _do(request, user, trial_id, lambda u, a: corrections.consent_in_error(
        u, a, number, cid, reason=data.get("reason", "")), f"/trials/{trial_id}/screening/{number}",
        "Signature marked entered in error", _screening_error(request, user, trial_id, number), data.get("reason", ""))


@router.post("/trials/{trial_id}/participants/{pid}/event-in-error")
def event_in_error_post(request: Request, trial_id: str, pid: str, user: User, data: Form) -> Response:
    from securebase.web.pages_data import participant_page

    eid = num(data.get("event_id"), "event_id", int) or 0
    return _do(request, user, trial_id, lambda u, a: corrections.event_in_error(
        u, a, pid, eid, reason=data.get("reason", "")), f"/trials/{trial_id}/participants/{pid}",
        "Event marked entered in error",
        lambda msg, status: participant_page(request, user, trial_id, pid, error=msg, status=status), data.get("reason", ""))


@router.post("/trials/{trial_id}/participants/{pid}/visits/{visit_id}/forms/{instrument}/in-error")
def form_in_error_post(request: Request, trial_id: str, pid: str, visit_id: str, instrument: str, user: User,
                       data: Form) -> Response:
    from securebase.web.pages_data import visit_page

    entry = 2 if data.get("entry") == "2" else 1
    return _do(request, user, trial_id, lambda u, a: corrections.form_in_error(
        u, a, pid, visit_id, instrument, entry=entry, reason=data.get("reason", "")),
        f"/trials/{trial_id}/participants/{pid}/visits/{visit_id}", "Form marked entered in error",
        lambda msg, status: visit_page(request, user, trial_id, pid, visit_id, error=msg, status=status),
        data.get("reason", ""))
