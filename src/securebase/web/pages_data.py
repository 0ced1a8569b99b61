"""Staff pages for follow-up: participant, visits, data-entry forms (from the instrument definitions, with
inline validation), events, the delivery log, withdrawals and the audit view. Lists, data queries and the
dashboard are in :mod:`securebase.web.pages_lists`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from securebase.errors import BlindingError, ConflictError, FieldError, InputError
from securebase.instruments import ResponseValidationError, load_instrument, validate_responses
from securebase.trial import access, consent, data_entry, delivery, enrol, events, visits
from securebase.web import history, pages_corrections, pages_queries
from securebase.web.deps import read, read_uow, write
from securebase.web.pagekit import Form, User, num, see_other
from securebase.web.render import field, form, link, page, set_errors

router = APIRouter(include_in_schema=False)
ASSIGNERS = (access.Role.trial_manager, access.Role.administrator, access.Role.data_manager, access.Role.site_recruiter)


def nice(code: Any) -> str:
    """A stored code as people read it (``withdrawn_follow_up`` -> ``withdrawn follow up``)."""
    return "" if code is None else str(code).replace("_", " ")


def participant_page(request: Request, user: str, trial_id: str, pid: str, *, error: str = "",
                     status: int = 200, form_id: str = "", values: dict[str, str] | None = None,
                     errors: dict[str, str] | None = None) -> HTMLResponse:
    base = f"/trials/{trial_id}/participants/{pid}"

    def vals(fid: str) -> dict[str, str]:
        return (values or {}) if form_id == fid else {}

    def errs(fid: str) -> dict[str, str]:
        return (errors or {}) if form_id == fid else {}

    def build(s: Any, a: Any) -> list[dict[str, Any]]:
        p = enrol.get_participant(s, a, pid)
        out: list[dict[str, Any]] = [{"heading": "Participant", "dl": [
            ("Trial ID", p["participant_id"]), ("Site", p["site"]), ("Status", nice(p["status"])),
            ("Enrolled on", p["enrolled_on"]), ("Age", p["age_years"]), ("Age band", p["age_band"]), ("Sex", p["sex"]),
            ("Care status", nice(p["care_status"])), ("Maltreatment type", nice(p["maltreatment_type"]))]}]
        vs = visits.participant_visits(s, a, pid) if a.has(*access.VISIT_ROLES) else []
        if a.can_see_allocation() and a.has(*access.RECRUITMENT_ROLES):
            if vs:
                from securebase.trial.randomise import allocation_for

                intervention_arms = {x.id for x in access.protocol_of(s, trial_id).arms if x.intervention}

                view = read_uow(request, user, trial_id, lambda u, act: allocation_for(u, act, pid))
                out.append({"heading": "Allocation", "id": "allocation", "dl": [
                    ("Arm", f"{view.arm_name} ({view.arm})"), ("Allocation number", view.sequence_number),
                    ("Allocated on", view.allocated_on.isoformat()), ("By", view.allocated_by)],
                    "links": [link(f"{base}/receipt", "Randomisation receipt")] + (
                        [link(f"{base}/delivery", "Intervention delivery log")] if view.arm in intervention_arms else [])})
            elif p["status"] == "enrolled":
                out.append({"heading": "Randomisation", "id": "randomise-form", "text": [
                    "Randomisation has a check and confirmation step before the allocation is made."],
                    "links": [link(f"{base}/randomise", "Randomise (check first)")]})
        out.append({"heading": "Visits", "table": {
            "columns": ["visit", "due", "window", "status", "completed", "assessor"],
            "rows": [[link(f"{base}/visits/{v['visit_id']}", v["label"]), v["due_on"],
                      f"{v['window_opens']} to {v['window_closes']}", nice(v["status"]), v["completed_on"], v["assessor"]]
                     for v in vs], "empty": "Visits are scheduled at randomisation."}})
        evs = events.list_events(s, a, participant_id=pid)
        types = events.event_types(s, trial_id)
        out.append({"heading": "Events", "table": {"columns": ["date", "type", "details", "SAE"], "rows": [
            [e["occurred_on"], types.get(e["event_type"], nice(e["event_type"])), ", ".join(f"{k}: {v}" for k, v in e["details"].items()),
             " / ".join(x for x in (e["seriousness"], e["relatedness"], e["expectedness"]) if x)] for e in evs],
            "empty": "No event recorded."}})
        if a.has(*access.EVENT_ROLES):
            v = vals("event-form")
            out.append({"heading": "Record an event", "form": form(f"{base}/events", set_errors([
                field("event_type", "Event", "select", options=list(types.items()), required=True, value=v.get("event_type")),
                field("occurred_on", "Date", "date", required=True, value=v.get("occurred_on")),
                field("details", "Details", "textarea", value=v.get("details"),
                      help="one 'name: value' per line (records are checked against their definitions)"),
                field("seriousness", "Seriousness (SAE)", "select", options=[(x, nice(x)) for x in events.SERIOUSNESS],
                      value=v.get("seriousness")),
                field("relatedness", "Relatedness (SAE)", "select", options=[(x, nice(x)) for x in events.RELATEDNESS],
                      value=v.get("relatedness")),
                field("expectedness", "Expectedness (SAE)", "select", options=[(x, nice(x)) for x in events.EXPECTEDNESS],
                      value=v.get("expectedness"))], errs("event-form")),
                "Record event", form_id="event-form")})
        ws = consent.withdrawals(s, a, pid)
        out.append({"heading": "Withdrawals", "table": {"columns": ["level", "on", "reason", "what it stops"], "rows": [
            [nice(w["level"]), w["withdrawn_on"], w["reason"], w["stops"]] for w in ws], "empty": "No withdrawal."}})
        if a.has(*(access.RECRUITMENT_ROLES | {access.Role.data_manager})):
            levels = [(k, f"{k.replace('_', ' ')}: {v}") for k, v in consent.WITHDRAWAL_LEVELS.items()
                      if a.can_see_allocation() or k != "intervention"]
            v = vals("withdraw-form")
            out.append({"heading": "Record a withdrawal", "form": form(f"{base}/withdraw", set_errors([
                field("level", "Level", "select", options=levels, required=True, value=v.get("level")),
                field("reason", "Reason given", required=True, value=v.get("reason")),
                field("withdrawn_on", "Date", "date", value=v.get("withdrawn_on") or access.today().isoformat())],
                errs("withdraw-form")), "Record withdrawal", form_id="withdraw-form")})
        out.append({"links": [link(f"{base}/audit", "Audit trail"),
                              link(f"{base}/safeguarding", "Raise a safeguarding concern")]})
        return out + pages_queries.participant_section(request, user, trial_id, pid) + \
            pages_corrections.participant_sections(request, user, trial_id, pid, evs)
    sections = read(request, user, trial_id, build)
    return page(request, f"Participant {pid}", sections, trial_id=trial_id, error=error, status=status)


@router.get("/trials/{trial_id}/participants/{pid}")
def participant_get(request: Request, trial_id: str, pid: str, user: User) -> HTMLResponse:
    return participant_page(request, user, trial_id, pid)


def _details(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            if k.strip():
                out[k.strip()] = v.strip()
    return out


def _participant_action(request: Request, user: str, trial_id: str, pid: str, fn: Any, notice: str,
                        reason: str | None = None, *, form_id: str = "", values: dict[str, str] | None = None,
                        required: dict[str, str] | None = None) -> Response:
    """Run a participant form's service call; on an error the page comes back with the values kept and the
    message beside the field it concerns (and in the error summary)."""
    missing = {k: msg for k, msg in (required or {}).items() if not (values or {}).get(k)}
    if missing:
        return participant_page(request, user, trial_id, pid, status=422, form_id=form_id, values=values, errors=missing)
    try:
        write(request, user, trial_id, fn, reason=reason)
    except FieldError as exc:
        return participant_page(request, user, trial_id, pid, status=exc.http_status, form_id=form_id, values=values,
                                errors={exc.field: exc.message})
    except (InputError, ConflictError) as exc:
        return participant_page(request, user, trial_id, pid, error=exc.message, status=exc.http_status,
                                form_id=form_id, values=values)
    return see_other(f"/trials/{trial_id}/participants/{pid}", notice)


@router.post("/trials/{trial_id}/participants/{pid}/events")
def event_post(request: Request, trial_id: str, pid: str, user: User, data: Form) -> Response:
    return _participant_action(request, user, trial_id, pid, lambda u, a: events.record_event(
        u, a, pid, event_type=data.get("event_type", ""), occurred_on=data.get("occurred_on") or None,
        details=_details(data.get("details", "")), seriousness=data.get("seriousness") or None,
        relatedness=data.get("relatedness") or None, expectedness=data.get("expectedness") or None), "Event recorded",
        form_id="event-form", values=data, required={"event_type": "Choose the event", "occurred_on": "Enter the date"})


@router.post("/trials/{trial_id}/participants/{pid}/withdraw")
def withdraw_post(request: Request, trial_id: str, pid: str, user: User, data: Form) -> Response:
    return _participant_action(request, user, trial_id, pid, lambda u, a: consent.withdraw(
        u, a, pid, level=data.get("level", ""), reason=data.get("reason", ""),
        withdrawn_on=data.get("withdrawn_on") or None), "Withdrawal recorded", form_id="withdraw-form", values=data,
        required={"level": "Choose what the participant withdraws from", "reason": "Enter the reason given (or 'not given')"})


@router.get("/trials/{trial_id}/participants/{pid}/audit")
def audit_get(request: Request, trial_id: str, pid: str, user: User) -> HTMLResponse:
    rows = read(request, user, trial_id, lambda s, a: history.participant_audit(s, a, pid))
    chain = any("seq" in r for r in rows)  # the global chain position: only for roles that may see allocation
    table = {"columns": ["#", *(["audit seq"] if chain else []), "when (UTC)", "who", "action", "table", "old",
                         "new", "reason"],
             "rows": [[r["entry"], *([r.get("seq")] if chain else []), r["at"], r["actor"], r["action"], r["table"],
                       r["old"], r["new"], r["reason"]] for r in rows]}
    return page(request, f"Audit trail of {pid}", [{"table": table}], trial_id=trial_id)


# -- delivery (roles that may see allocation only) -----------------------------------------------------------
def delivery_page(request: Request, user: str, trial_id: str, pid: str, *, error: str = "", status: int = 200) -> HTMLResponse:
    d = read(request, user, trial_id, lambda s, a: delivery.delivery_summary(s, a, pid))
    base = f"/trials/{trial_id}/participants/{pid}"
    sections: list[dict[str, Any]] = [{"heading": "Summary", "dl": [
        ("Sessions offered", d["sessions_offered"]), ("Sessions attended", d["sessions_attended"]),
        ("Complier (threshold)", f"{d['complier']} ({d['threshold']})"), ("Therapists", ", ".join(d["therapists"])),
        ("Mean fidelity", d["mean_fidelity"])]},
        {"heading": "Sessions", "table": {"columns": ["#", "offered on", "attended", "therapist", "minutes", "fidelity"],
                                         "rows": [[x["session_number"], x["offered_on"], "yes" if x["attended"] else "no",
                                                   x["therapist"], x["duration_minutes"], x["fidelity_rating"]]
                                                  for x in d["sessions"]]}},
        {"heading": "Log a session", "form": form(f"{base}/delivery", [
            field("session_number", "Session number", "number", value=d["sessions_offered"] + 1, required=True),
            field("offered_on", "Offered on", "date", required=True),
            field("attended", "Attended", "checkbox", value=True),
            field("therapist", "Therapist or group", required=True),
            field("duration_minutes", "Minutes", "number", value=90),
            field("fidelity_rating", "Fidelity (1-5)", "number")], "Log session", form_id="session-form")}]
    return page(request, f"Delivery log of {pid}", sections, trial_id=trial_id, error=error, status=status)


@router.get("/trials/{trial_id}/participants/{pid}/delivery")
def delivery_get(request: Request, trial_id: str, pid: str, user: User) -> HTMLResponse:
    return delivery_page(request, user, trial_id, pid)


@router.post("/trials/{trial_id}/participants/{pid}/delivery")
def delivery_post(request: Request, trial_id: str, pid: str, user: User, data: Form) -> Response:
    try:
        write(request, user, trial_id, lambda u, a: delivery.record_session(
            u, a, pid, session_number=num(data.get("session_number"), "session_number", int) or 0,
            offered_on=data.get("offered_on") or None, attended=bool(data.get("attended")),  # type: ignore[arg-type]
            therapist=data.get("therapist", ""), duration_minutes=num(data.get("duration_minutes"), "duration_minutes") or 90.0,
            fidelity_rating=num(data.get("fidelity_rating"), "fidelity_rating")))
    except (InputError, ConflictError) as exc:
        return delivery_page(request, user, trial_id, pid, error=exc.message, status=exc.http_status)
    return see_other(f"/trials/{trial_id}/participants/{pid}/delivery", "Session logged")


# -- visits and data entry ---------------------------------------------------------------------------------
def visit_page(request: Request, user: str, trial_id: str, pid: str, visit_id: str, *, error: str = "",
               status: int = 200) -> HTMLResponse:
    base = f"/trials/{trial_id}/participants/{pid}/visits/{visit_id}"

    def build(s: Any, a: Any) -> tuple[str, list[dict[str, Any]]]:
        p, v = visits.get_visit(s, a, pid, visit_id)
        label = access.protocol_of(s, trial_id).visit(visit_id).label
        d = visits.visit_dict(v, p, label)
        insts = data_entry.instruments_for_visit(s, a, pid, visit_id)

        def may_enter(respondent: str) -> bool:  # the same rule as data_entry._check_role
            if not a.has(*access.DATA_ENTRY_ROLES):
                return False
            return not (a.roles <= {access.Role.coder} and respondent != "blinded_coder")
        def enterable(i: dict[str, Any]) -> bool:  # no form link for a questionnaire not used at the child's age
            return may_enter(i["respondent"]) and i["state"] != "not for this age"
        rows = [[link(f"{base}/forms/{i['instrument']}", i["label"]) if enterable(i) else i["label"],
                 nice(i["respondent"]), "optional" if i["optional"] else "required", i["state"],
                 link(f"{base}/forms/{i['instrument']}?entry=2", f"second entry of {i['label']}")
                 if enterable(i) else ""] for i in insts]
        sections: list[dict[str, Any]] = [
            {"heading": "Visit", "dl": [("Participant", pid), ("Due", d["due_on"]),
                                        ("Window", f"{d['window_opens']} to {d['window_closes']}"),
                                        ("Status", d["status"]), ("Completed on", d["completed_on"]),
                                        ("Missed reason", d["missed_reason"]), ("Assessor", d["assessor"])]},
            {"heading": "Instruments", "table": {"columns": ["instrument", "respondent", "", "state", ""], "rows": rows}},
            {"heading": "Visit outcome", "form": form(f"{base}/outcome", [
                field("status", "Outcome", "select", options=[(x, x) for x in visits.OUTCOMES], required=True),
                field("completed_on", "Date of the visit", "date"),
                field("missed_reason", "Reason missed", "select", options=[(x, x.replace("_", " ")) for x in visits.MISSED_REASONS]),
                field("reason", "Reason for change (when changing a recorded outcome)")],
                "Record outcome", form_id="outcome-form")}]
        if a.has(*ASSIGNERS):
            sections.append({"heading": "Assessor", "form": form(f"{base}/assessor", [
                field("assessor", "Blinded assessor (user name)", value=d["assessor"], required=True)],
                "Assign", form_id="assessor-form")})
        return label, sections
    label, sections = read(request, user, trial_id, build)
    return page(request, f"{pid}: {label}", sections, trial_id=trial_id, error=error, status=status)


@router.get("/trials/{trial_id}/participants/{pid}/visits/{visit_id}")
def visit_get(request: Request, trial_id: str, pid: str, visit_id: str, user: User) -> HTMLResponse:
    return visit_page(request, user, trial_id, pid, visit_id)


@router.post("/trials/{trial_id}/participants/{pid}/visits/{visit_id}/assessor")
def assessor_post(request: Request, trial_id: str, pid: str, visit_id: str, user: User, data: Form) -> Response:
    try:
        write(request, user, trial_id, lambda u, a: visits.assign_assessor(u, a, pid, visit_id, data.get("assessor", "")))
    except (InputError, ConflictError) as exc:
        return visit_page(request, user, trial_id, pid, visit_id, error=exc.message, status=exc.http_status)
    return see_other(f"/trials/{trial_id}/participants/{pid}/visits/{visit_id}", "Assessor assigned")


@router.post("/trials/{trial_id}/participants/{pid}/visits/{visit_id}/outcome")
def outcome_post(request: Request, trial_id: str, pid: str, visit_id: str, user: User, data: Form) -> Response:
    try:
        write(request, user, trial_id, lambda u, a: visits.record_visit_outcome(
            u, a, pid, visit_id, status=data.get("status", ""), completed_on=data.get("completed_on") or None,
            missed_reason=data.get("missed_reason") or None), reason=data.get("reason") or None)
    except (InputError, ConflictError) as exc:
        return visit_page(request, user, trial_id, pid, visit_id, error=exc.message, status=exc.http_status)
    return see_other(f"/trials/{trial_id}/participants/{pid}/visits/{visit_id}", "Visit outcome recorded")


def _item_fields(f: dict[str, Any], values: dict[str, Any], issues: dict[str, str],
                 query_url: Any = None, open_q: dict[str, list[dict[str, str]]] | None = None) -> list[dict[str, Any]]:
    mc = f["missing_codes"]
    missing = [(str(mc["not_answered"]), "not answered"), (str(mc["not_applicable"]), "not applicable"),
               (str(mc["refused"]), "refused")]
    out = []
    for it in f["items"]:
        code = it["code"]
        value = values.get(code, it["value"])
        label = f"{code}. {it['label']}" if it["label"] != code else code
        if it["allowed"]:
            labels = it["value_labels"] or {}
            opts = [(str(v), f"{v} {labels.get(str(v), '')}".strip()) for v in it["allowed"]] + missing
            out.append(field(f"item_{code}", label, "select", value=value, options=opts, error=issues.get(code, ""),
                             query_url=query_url(code) if query_url and it["value"] not in (None, "") else "",
                             queries=(open_q or {}).get(code)))
        else:
            kind = "date" if it["response_type"] == "date" else "text"
            rng = f"{it['minimum']} to {it['maximum']}" if it["minimum"] is not None else ""
            help_ = "; ".join(x for x in (rng, it["unit"] or "", "or a missing code " + "/".join(c for c, _ in missing)) if x)
            out.append(field(f"item_{code}", label, kind, value=value, help=help_, error=issues.get(code, ""),
                             query_url=query_url(code) if query_url and it["value"] not in (None, "") else "",
                             queries=(open_q or {}).get(code)))
    return out


def form_page(request: Request, user: str, trial_id: str, pid: str, visit_id: str, instrument: str, entry: int,
              *, values: dict[str, Any] | None = None, issues: dict[str, str] | None = None, error: str = "",
              status: int = 200) -> HTMLResponse:
    from securebase.trial import field_queries, queries

    def build(s: Any, a: Any) -> tuple[dict[str, Any], bool, dict[str, list[dict[str, str]]]]:
        return (data_entry.form(s, a, pid, visit_id, instrument, entry), a.has(*queries.RAISERS),
                field_queries.item_queries(s, a, pid, visit_id, instrument))
    f, can_query, open_q = read(request, user, trial_id, build)
    base = f"/trials/{trial_id}/participants/{pid}/visits/{visit_id}/forms/{instrument}"

    def query_url(code: str) -> str:
        return pages_queries.new_query_url(trial_id, pid, visit=visit_id, instrument=instrument, item=code,
                                           entry=entry if entry == 2 else None)
    fields = _item_fields(f, values or {}, issues or {}, query_url if can_query else None, open_q) + [
        field("entry", "", "hidden", value=entry),
        field("complete", "Complete (every item answered or coded); untick to save as partial", "checkbox", value=True),
        field("reason", "Reason for change (needed when changing saved answers)")]
    sections: list[dict[str, Any]] = [{"text": [f"{f['title']}, answered by the {f['respondent']}; entry {entry}"
                          + (" (second, independent entry)" if entry == 2 else "") + "."],
                 "form": form(f"{base}?entry={entry}", fields, "Save", form_id="data-entry",
                              validate_url=f"{base}/validate")}]
    if entry == 2:
        sections.append({"links": [{"href": f"{base}/discrepancies", "text": "Compare the two entries"}]})
    if any(it["value"] not in (None, "") for it in f["items"]):
        sections.append({"heading": "This form entered in error?", "text": [
            "For answers saved against the wrong child, visit or form: they are removed (the audit trail keeps them)."],
            "form": form(f"{base}/in-error", [field("entry", "", "hidden", value=entry),
                                              field("reason", "Reason", required=True)],
                         "Mark form entered in error", form_id="form-in-error-form")})
    return page(request, f"{pid}: {f['title']}", sections, trial_id=trial_id, error=error, status=status)


@router.get("/trials/{trial_id}/participants/{pid}/visits/{visit_id}/forms/{instrument}")
def form_get(request: Request, trial_id: str, pid: str, visit_id: str, instrument: str, user: User,
             entry: int = 1) -> HTMLResponse:
    return form_page(request, user, trial_id, pid, visit_id, instrument, 2 if entry == 2 else 1)


def _item_codes(request: Request, user: str, trial_id: str, pid: str, visit_id: str, instrument: str) -> set[str]:
    f = read(request, user, trial_id, lambda s, a: data_entry.form(s, a, pid, visit_id, instrument))
    return {it["code"] for it in f["items"]}


def _responses(data: dict[str, str]) -> dict[str, str]:
    return {k[5:]: v for k, v in data.items() if k.startswith("item_")}


@router.post("/trials/{trial_id}/participants/{pid}/visits/{visit_id}/forms/{instrument}")
def form_post(request: Request, trial_id: str, pid: str, visit_id: str, instrument: str, user: User, data: Form,
              entry: int = 1) -> Response:
    entry = 2 if entry == 2 or data.get("entry") == "2" else 1
    responses = _responses(data)
    try:
        result = write(request, user, trial_id, lambda u, a: data_entry.save_responses(
            u, a, pid, visit_id, instrument, responses, entry=entry, complete=bool(data.get("complete"))),
            reason=data.get("reason") or None)
    except ResponseValidationError as exc:
        issues = {i.item: i.message for i in exc.issues}
        codes = _item_codes(request, user, trial_id, pid, visit_id, instrument)
        unplaced = [i.message for i in exc.issues if i.item not in codes]  # beside no item: shown in the summary
        return form_page(request, user, trial_id, pid, visit_id, instrument, entry, values=responses, issues=issues,
                         error="; ".join(unplaced), status=422)
    except (InputError, ConflictError) as exc:
        return form_page(request, user, trial_id, pid, visit_id, instrument, entry, values=responses,
                         error=exc.message, status=exc.http_status)
    return see_other(f"/trials/{trial_id}/participants/{pid}/visits/{visit_id}", "Saved: " + result.summary())


@router.post("/trials/{trial_id}/participants/{pid}/visits/{visit_id}/forms/{instrument}/validate")
def form_validate(request: Request, trial_id: str, pid: str, visit_id: str, instrument: str, user: User,
                  data: Form) -> JSONResponse:
    """Inline validation: check the answers without saving; returns ``{"issues": {item: message}}``."""
    read(request, user, trial_id, lambda s, a: data_entry.form(s, a, pid, visit_id, instrument))
    responses = {k: v for k, v in _responses(data).items() if v != ""}
    try:
        validate_responses(load_instrument(instrument), responses, participant=pid, visit=visit_id)
    except ResponseValidationError as exc:
        # only the items answered so far: an item not reached yet is not an error while typing
        return JSONResponse({"issues": {i.item: i.message for i in exc.issues if i.item in responses}})
    return JSONResponse({"issues": {}})


@router.get("/trials/{trial_id}/participants/{pid}/visits/{visit_id}/forms/{instrument}/discrepancies")
def discrepancies_get(request: Request, trial_id: str, pid: str, visit_id: str, instrument: str,
                      user: User) -> HTMLResponse:
    return discrepancies_page(request, user, trial_id, pid, visit_id, instrument)


def discrepancies_page(request: Request, user: str, trial_id: str, pid: str, visit_id: str, instrument: str, *,
                       error: str = "", status: int = 200) -> HTMLResponse:
    rows = read(request, user, trial_id, lambda s, a: data_entry.discrepancies(s, a, pid, visit_id, instrument))
    base = f"/trials/{trial_id}/participants/{pid}/visits/{visit_id}/forms/{instrument}"
    sections: list[dict[str, Any]] = [{"table": {"columns": ["item", "first entry", "by", "second entry", "by"],
                                                  "rows": [[r["item"], r["first"], r["first_by"], r["second"], r["second_by"]]
                                                           for r in rows], "empty": "The two entries agree."}}]
    if rows:
        sections.append({"heading": "Resolve", "form": form(f"{base}/resolve", [
            field("item", "Item", "select", options=[(r["item"], r["item"]) for r in rows], required=True),
            field("value", "Agreed value", required=True),
            field("reason", "Reason", required=True, help="e.g. checked against the paper form")], "Resolve",
            form_id="resolve-form")})
    return page(request, f"{pid}: {instrument} double entry", sections, trial_id=trial_id, error=error, status=status)


@router.post("/trials/{trial_id}/participants/{pid}/visits/{visit_id}/forms/{instrument}/resolve")
def resolve_post(request: Request, trial_id: str, pid: str, visit_id: str, instrument: str, user: User,
                 data: Form) -> Response:
    base = f"/trials/{trial_id}/participants/{pid}/visits/{visit_id}/forms/{instrument}"
    try:
        write(request, user, trial_id, lambda u, a: data_entry.resolve_discrepancy(
            u, a, pid, visit_id, instrument, data.get("item", ""), data.get("value", "")), reason=data.get("reason") or None)
    except (InputError, ConflictError) as exc:
        return discrepancies_page(request, user, trial_id, pid, visit_id, instrument, error=exc.message,
                                  status=exc.http_status)
    return see_other(f"{base}/discrepancies", "Resolved")


__all__ = ["BlindingError", "router"]
