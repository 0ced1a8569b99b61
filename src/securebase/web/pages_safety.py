"""Safeguarding pages: raise a concern from a participant's page (any role), the safeguarding lead's task
list, and the concern page (referral, sign-off, follow-up). The services decide who sees what: a concern
is ``404`` to everyone but the lead, the chief investigator and the person who raised it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from securebase.errors import ConflictError, InputError, PermissionDenied
from securebase.notify import mailer_from_settings
from securebase.trial import enrol
from securebase.trial.roles import SAFEGUARDING_READERS, SAFEGUARDING_SIGN_OFF
from securebase.trial.safety import concerns
from securebase.web.deps import read, settings_of, write
from securebase.web.pagekit import Form, User, see_other, yesno
from securebase.web.render import field, form, link, page

router = APIRouter(include_in_schema=False)
SOURCE_OPTIONS = list(concerns.SOURCES.items())


def raise_page(request: Request, user: str, trial_id: str, pid: str, *, error: str = "", status: int = 200,
               values: dict[str, str] | None = None) -> HTMLResponse:
    read(request, user, trial_id, lambda s, a: enrol.get_participant(s, a, pid))  # 404 unless reachable
    v = values or {}
    fields = [
        field("source", "Where did the concern come from?", "select", options=SOURCE_OPTIONS, required=True,
              value=v.get("source", "")),
        field("source_detail", "Details of the source", value=v.get("source_detail", ""),
              help="e.g. the visit, the video, or the questionnaire and item"),
        field("what_seen_or_said", "What was seen or said", "textarea", required=True,
              value=v.get("what_seen_or_said", ""), help="in the words used, as soon as you can"),
        field("immediate_action", "Immediate action taken", "textarea", value=v.get("immediate_action", "")),
    ]
    return page(request, f"Raise a safeguarding concern: {pid}", [
        {"text": ["If a child is in immediate danger call 999 first. The trial's safeguarding lead is alerted "
                  "as soon as you save, and the concern is visible only to the lead, the chief investigator "
                  "and you."],
         "form": form(f"/trials/{trial_id}/participants/{pid}/safeguarding", fields, "Raise concern",
                      form_id="concern-form")}], trial_id=trial_id, error=error, status=status)


@router.get("/trials/{trial_id}/participants/{pid}/safeguarding")
def raise_get(request: Request, trial_id: str, pid: str, user: User) -> HTMLResponse:
    return raise_page(request, user, trial_id, pid)


@router.post("/trials/{trial_id}/participants/{pid}/safeguarding")
def raise_post(request: Request, trial_id: str, pid: str, user: User, data: Form) -> Response:
    mailer = mailer_from_settings(settings_of(request))
    base = str(request.base_url)
    try:
        cid = write(request, user, trial_id, lambda u, a: concerns.raise_concern(
            u, a, pid, source=data.get("source", ""), what_seen_or_said=data.get("what_seen_or_said", ""),
            immediate_action=data.get("immediate_action", ""), source_detail=data.get("source_detail", ""),
            mailer=mailer, base_url=base).id)
    except (InputError, ConflictError) as exc:
        return raise_page(request, user, trial_id, pid, error=exc.message, status=exc.http_status, values=data)
    return see_other(f"/trials/{trial_id}/safeguarding/{cid}", "Concern raised; the safeguarding lead has been alerted")


def _rows(trial_id: str, items: list[dict[str, Any]]) -> list[list[Any]]:
    return [[link(f"/trials/{trial_id}/safeguarding/{c['id']}", c["reference"]), c["participant_id"], c["raised_at"],
             c["raised_by"], c["status"], c["sign_off_due_at"], "OVERDUE" if c["overdue"] else "", c["alert"]]
            for c in items]


COLUMNS = ["concern", "participant", "raised (UTC)", "by", "status", "sign off by", "", "alert"]


@router.get("/trials/{trial_id}/safeguarding")
def concerns_home(request: Request, trial_id: str, user: User) -> HTMLResponse:
    mine = read(request, user, trial_id, concerns.raised_by_me)
    is_reader = read(request, user, trial_id, lambda s, a: bool(a.roles & SAFEGUARDING_READERS))
    sections: list[dict[str, Any]] = []
    if is_reader:
        sections.append({"links": [link(f"/trials/{trial_id}/safeguarding/tasks", "Safeguarding task list")]})
    sections.append({"heading": "Concerns you raised", "table": {"columns": COLUMNS, "rows": _rows(trial_id, mine),
                                                                  "empty": "You have not raised a concern."}})
    sections.append({"heading": "Your e-mail for safety alerts", "form": form(
        f"/trials/{trial_id}/safeguarding/contact", [field("email", "E-mail address", "email", required=True)],
        "Save e-mail", form_id="contact-form")})
    sections.append({"text": ["Raise a concern from the participant's page (link 'Raise a safeguarding concern')."],
                     "links": [link(f"/trials/{trial_id}/safety", "Adverse events and deviations")]})
    return page(request, "Safeguarding", sections, trial_id=trial_id)


@router.post("/trials/{trial_id}/safeguarding/contact")
def contact_post(request: Request, trial_id: str, user: User, data: Form) -> Response:
    write(request, user, trial_id, lambda u, a: concerns.set_contact(u, a, user, data.get("email", "")))
    return see_other(f"/trials/{trial_id}/safeguarding", "E-mail saved")


@router.get("/trials/{trial_id}/safeguarding/tasks")
def tasks_page(request: Request, trial_id: str, user: User) -> HTMLResponse:
    items = read(request, user, trial_id, concerns.task_list)
    return page(request, "Safeguarding task list", [{"text": [
        "Open and signed-off concerns not yet closed, oldest first. The clock runs from when each was raised."],
        "table": {"columns": COLUMNS, "rows": _rows(trial_id, items), "empty": "No open concern."}}],
        trial_id=trial_id)


def concern_page(request: Request, user: str, trial_id: str, concern_id: int, *, error: str = "",
                 status: int = 200) -> HTMLResponse:
    c = read(request, user, trial_id, lambda s, a: concerns.get_concern(s, a, concern_id))
    can_sign = read(request, user, trial_id, lambda s, a: bool(a.roles & SAFEGUARDING_SIGN_OFF))
    base = f"/trials/{trial_id}/safeguarding/{concern_id}"
    referral = ("not recorded" if c["referral_made"] is None else "no referral made" if not c["referral_made"]
                else f"{c['referral_to']} at {c['referral_at']} UTC, reference {c['referral_reference']}")
    sections: list[dict[str, Any]] = [{"heading": "Concern", "id": "concern", "dl": [
        ("Reference", c["reference"]), ("Participant", c["participant_id"]), ("Site", c["site"]),
        ("Source", c["source_label"]), ("Source details", c["source_detail"] or "-"),
        ("What was seen or said", c["what_seen_or_said"]), ("Immediate action", c["immediate_action"] or "-"),
        ("Raised by", c["raised_by"]), ("Raised at (UTC)", c["raised_at"]), ("Status", c["status"]),
        ("Sign off by (UTC)", c["sign_off_due_at"] + (" (OVERDUE)" if c["overdue"] else "")),
        ("Hours since raised" if c["status"] == "open" else "Hours to sign-off", c["hours_since_raised"]),
        ("Referral to the front door", referral), ("Signed off", f"{c['signed_off_by']} at {c['signed_off_at']} UTC"
                                                   if c["signed_off_by"] else "not yet"),
        ("Lead's assessment", c["lead_assessment"] or "-"), ("Alert to the lead", c["alert"])]}]
    if c["follow_ups"]:
        sections.append({"heading": "Follow-up", "table": {"columns": ["when (UTC)", "by", "note"], "rows": [
            [f["recorded_at"], f["recorded_by"], f["note"]] for f in c["follow_ups"]]}})
    if c["status"] == "open" and (can_sign or c["raised_by"] == user):
        sections.append({"heading": "Referral to the local authority front door", "form": form(f"{base}/referral", [
            field("made", "Referral made", "select", options=[("yes", "yes"), ("no", "no")], required=True),
            field("to", "Referred to", help="e.g. LA01 MASH / children's services front door"),
            field("at", "Date and time of referral (UTC)", "datetime-local"),
            field("reference", "Front door's reference")], "Record referral", form_id="referral-form")})
    if can_sign and c["status"] == "open":
        sections.append({"heading": "Sign off", "form": form(f"{base}/sign-off", [
            field("assessment", "Your assessment and decision", "textarea", required=True)], "Sign off",
            form_id="sign-off-form")})
    if can_sign and c["status"] != "closed":
        sections.append({"heading": "Follow-up note", "form": form(f"{base}/follow-up", [
            field("note", "Note", "textarea", required=True),
            field("close", "Close the concern", "checkbox")], "Add follow-up", form_id="follow-up-form")})
    return page(request, f"Safeguarding concern {c['reference']}", sections, trial_id=trial_id, error=error,
                status=status)


@router.get("/trials/{trial_id}/safeguarding/{concern_id}")
def concern_get(request: Request, trial_id: str, concern_id: int, user: User) -> HTMLResponse:
    return concern_page(request, user, trial_id, concern_id)


def _action(request: Request, user: str, trial_id: str, concern_id: int, fn: Any, notice: str) -> Response:
    try:
        write(request, user, trial_id, fn)
    except (InputError, ConflictError) as exc:
        return concern_page(request, user, trial_id, concern_id, error=exc.message, status=exc.http_status)
    except PermissionDenied as exc:
        if "signed_off_by" not in exc.message:
            raise
        return concern_page(request, user, trial_id, concern_id, error=exc.message, status=exc.http_status)
    return see_other(f"/trials/{trial_id}/safeguarding/{concern_id}", notice)


@router.post("/trials/{trial_id}/safeguarding/{concern_id}/referral")
def referral_post(request: Request, trial_id: str, concern_id: int, user: User, data: Form) -> Response:
    return _action(request, user, trial_id, concern_id, lambda u, a: concerns.record_referral(
        u, a, concern_id, made=bool(yesno(data.get("made"))), to=data.get("to", ""), at=data.get("at") or None,
        reference_number=data.get("reference", "")), "Referral recorded")


@router.post("/trials/{trial_id}/safeguarding/{concern_id}/sign-off")
def sign_off_post(request: Request, trial_id: str, concern_id: int, user: User, data: Form) -> Response:
    return _action(request, user, trial_id, concern_id, lambda u, a: concerns.sign_off(
        u, a, concern_id, assessment=data.get("assessment", "")), "Signed off")


@router.post("/trials/{trial_id}/safeguarding/{concern_id}/follow-up")
def follow_up_post(request: Request, trial_id: str, concern_id: int, user: User, data: Form) -> Response:
    return _action(request, user, trial_id, concern_id, lambda u, a: concerns.add_follow_up(
        u, a, concern_id, data.get("note", ""), close=bool(yesno(data.get("close")))), "Follow-up added")


@router.get("/trials/{trial_id}/safety")
def safety_page(request: Request, trial_id: str, user: User) -> HTMLResponse:
    """Adverse events (relatedness withheld from blinded roles), the overdue list and deviations."""
    from securebase.trial.safety import adverse, deviations

    aes = read(request, user, trial_id, adverse.list_adverse_events)
    unblinded = read(request, user, trial_id, lambda s, a: a.can_see_allocation())
    sections: list[dict[str, Any]] = []
    if unblinded:
        late = read(request, user, trial_id, adverse.overdue)
        sections.append({"heading": "Overdue reports to the ethics committee", "id": "overdue", "table": {
            "columns": ["event", "participant", "team aware", "due", "days overdue"],
            "rows": [[e["reference"], e["participant_id"], e["aware_on"], e["report_due_on"], e["days_overdue"]]
                     for e in late], "empty": "No report is overdue."}})
    sections.append({"heading": "Adverse events", "id": "adverse-events", "table": {
        "columns": ["event", "participant", "category", "onset", "team aware", "serious", "relatedness", "due",
                    "version"],
        "rows": [[e["reference"], e["participant_id"], e["category"], e["onset_on"], e["aware_on"],
                  ", ".join(e["seriousness"]) if e["serious"] else "no", e["relatedness"] or "not assessed",
                  e["report_due_on"] or "-", e["version"]] for e in aes], "empty": "No adverse event recorded."}})
    devs = read(request, user, trial_id, deviations.list_deviations)
    sections.append({"heading": "Protocol deviations", "id": "deviations", "table": {
        "columns": ["deviation", "site", "category", "aware", "serious breach", "due", "reported", "corrective action"],
        "rows": [[d["reference"], d["site"], d["category"], d["aware_on"], "yes" if d["serious_breach"] else "no",
                  d["report_due_on"] or "-", d["reported_on"] or "-", d["corrective_action"]] for d in devs],
        "empty": "No deviation recorded."}})
    return page(request, "Adverse events and deviations", sections, trial_id=trial_id)
