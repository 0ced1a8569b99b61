"""Staff pages across participants: visit lists, events, data queries, the dashboard and CSV exports."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from securebase.errors import ConflictError, InputError
from securebase.trial import dashboard, events, queries, visits
from securebase.web.deps import read, write
from securebase.web.pagekit import Form, User, num, see_other
from securebase.web.pager import pager, paging_of
from securebase.web.render import field, form, link, page

router = APIRouter(include_in_schema=False)


# -- lists -------------------------------------------------------------------------------------------------
def _visit_rows(trial_id: str, rows: list[dict[str, Any]]) -> list[list[Any]]:
    return [[link(f"/trials/{trial_id}/participants/{v['participant_id']}/visits/{v['visit_id']}",
                  f"{v['participant_id']} {v['label']}"), v["site"], v["due_on"],
             f"{v['window_opens']} to {v['window_closes']}", v["assessor"], v["days_overdue"] or ""] for v in rows]


@router.get("/trials/{trial_id}/visits")
def visits_get(request: Request, trial_id: str, user: User, mine: bool = False) -> HTMLResponse:
    who = user if mine else None
    up_page, over_page = paging_of(request, "upcoming_cursor"), paging_of(request, "overdue_cursor")
    up = read(request, user, trial_id, lambda s, a: visits.upcoming_visits(s, a, assessor=who, page=up_page))
    over = read(request, user, trial_id, lambda s, a: visits.overdue_visits(s, a, assessor=who, page=over_page))
    cols = ["visit", "site", "due", "window", "assessor", "days overdue"]
    return page(request, "Visits", [
        {"heading": "Overdue", "id": "overdue", "table": {"columns": cols, "rows": _visit_rows(trial_id, over),
                                                          "empty": "No overdue visit."}},
        pager(request, over_page, "overdue_cursor", "overdue visits"),
        {"heading": "Upcoming (next 60 days)", "id": "upcoming", "table": {
            "columns": cols, "rows": _visit_rows(trial_id, up), "empty": "No visit due soon."}},
        pager(request, up_page, "upcoming_cursor", "upcoming visits"),
        {"links": [link(f"/trials/{trial_id}/visits?mine=true", "Only mine")]}], trial_id=trial_id)


@router.get("/trials/{trial_id}/events")
def events_get(request: Request, trial_id: str, user: User, type: str | None = None) -> HTMLResponse:  # noqa: A002
    pg = paging_of(request)
    rows = read(request, user, trial_id, lambda s, a: events.list_events(s, a, event_type=type or None, page=pg))
    return page(request, "Events", [{"table": {"columns": ["date", "participant", "type", "seriousness", "relatedness",
                                                           "expectedness", "details"], "rows": [
        [e["occurred_on"], link(f"/trials/{trial_id}/participants/{e['participant_id']}", e["participant_id"]),
         e["event_type"], e["seriousness"], e["relatedness"], e["expectedness"],
         ", ".join(f"{k}: {v}" for k, v in e["details"].items())] for e in rows], "empty": "No event."}},
        pager(request, pg, what="events")], trial_id=trial_id)


def queries_page(request: Request, user: str, trial_id: str, *, error: str = "", status: int = 200) -> HTMLResponse:
    from securebase.trial import field_queries

    pg = paging_of(request)
    wanted = request.query_params.get("status") or None
    rows = [[link(f"/trials/{trial_id}/queries/{q['id']}", f"Query {q['id']}"),
             link(f"/trials/{trial_id}/participants/{q['participant_id']}", q["participant_id"]), q["about"],
             q["question"], q["status"], q["age"], q["answer"]]
            for q in read(request, user, trial_id, lambda s, a: field_queries.listing(s, a, status=wanted, page=pg))]
    sections: list[dict[str, Any]] = [{"heading": "Data queries", "text": [
        "Raise a query beside the item on a form, or from the participant page."], "table": {
        "columns": ["query", "participant", "about", "question", "status", "open for", "answer"],
        "rows": rows, "empty": "No data query."}}, pager(request, pg, what="queries")]
    return page(request, "Queries", sections, trial_id=trial_id, error=error, status=status)


@router.get("/trials/{trial_id}/queries")
def queries_get(request: Request, trial_id: str, user: User) -> HTMLResponse:
    return queries_page(request, user, trial_id)


@router.post("/trials/{trial_id}/queries")
def queries_post(request: Request, trial_id: str, user: User, data: Form) -> Response:
    try:
        qid = write(request, user, trial_id, lambda u, a: queries.raise_query(
            u, a, data.get("participant_id", ""), table_name=data.get("table_name", ""),
            record_id=num(data.get("record_id"), "record_id", int) or 0, field=data.get("field", ""),
            question=data.get("question", "")).id)
    except (InputError, ConflictError) as exc:
        return queries_page(request, user, trial_id, error=exc.message, status=exc.http_status)
    return see_other(f"/trials/{trial_id}/queries/{qid}", "Query raised")


def query_page(request: Request, user: str, trial_id: str, qid: int, *, error: str = "", status: int = 200) -> HTMLResponse:
    from securebase.trial import field_queries

    q = read(request, user, trial_id, lambda s, a: field_queries.one(s, a, qid))
    about = q["about"]
    sections: list[dict[str, Any]] = [{"dl": [
        ("Participant", q["participant_id"]), ("Site", q["site"]), ("About", about), ("Question", q["question"]),
        ("Status", q["status"]), ("Open for", q["age"]), ("Raised by", q["raised_by"]), ("Raised at (UTC)", q["raised_at"]),
        ("Answer", q["answer"]), ("Answered by", q["answered_by"]), ("Closed by", q["closed_by"])],
        "links": [link(f"/trials/{trial_id}/participants/{q['participant_id']}", f"Participant {q['participant_id']}")]}]
    base = f"/trials/{trial_id}/queries/{qid}"
    if q["status"] != "closed" and read(request, user, trial_id, lambda s, a: a.has(*queries.ANSWERERS)):
        sections.append({"heading": "Answer", "form": form(f"{base}/answer", [
            field("answer", "Answer", "textarea", required=True)], "Send answer", form_id="answer-form")})
    if q["status"] == "answered" and read(request, user, trial_id, lambda s, a: a.has(*queries.RAISERS)):
        sections.append({"heading": "Close", "form": form(f"{base}/close", [], "Close query", form_id="close-form")})
    return page(request, f"Query {qid}", sections, trial_id=trial_id, error=error, status=status)


@router.get("/trials/{trial_id}/queries/{qid}")
def query_get(request: Request, trial_id: str, qid: int, user: User) -> HTMLResponse:
    return query_page(request, user, trial_id, qid)


@router.post("/trials/{trial_id}/queries/{qid}/answer")
def query_answer(request: Request, trial_id: str, qid: int, user: User, data: Form) -> Response:
    try:
        write(request, user, trial_id, lambda u, a: queries.answer_query(u, a, qid, answer=data.get("answer", "")))
    except (InputError, ConflictError) as exc:
        return query_page(request, user, trial_id, qid, error=exc.message, status=exc.http_status)
    return see_other(f"/trials/{trial_id}/queries/{qid}", "Answer sent")


@router.post("/trials/{trial_id}/queries/{qid}/close")
def query_close(request: Request, trial_id: str, qid: int, user: User, data: Form) -> Response:
    try:
        write(request, user, trial_id, lambda u, a: queries.close_query(u, a, qid))
    except (InputError, ConflictError) as exc:
        return query_page(request, user, trial_id, qid, error=exc.message, status=exc.http_status)
    return see_other(f"/trials/{trial_id}/queries/{qid}", "Query closed")


@router.get("/trials/{trial_id}/dashboard")
def dashboard_get(request: Request, trial_id: str, user: User) -> HTMLResponse:
    from securebase.trial.exports import EXPORT_ROLES

    d = read(request, user, trial_id, dashboard.dashboard)
    can_export = read(request, user, trial_id, lambda s, a: a.has(*EXPORT_ROLES))
    sections: list[dict[str, Any]] = [
        {"heading": "Recruitment by site", "dl": [("Recruited", f"{d['recruited']} of {d['target_sample_size']}"),
                                                  ("Overdue visits", d["overdue_total"])],
         "table": {"columns": ["site", "recruited", "target", "per month", "expected to date", "% of target",
                               "overdue visits"],
                   "rows": [[r["site"], r["recruited"], r["target"], r["target_per_month"], r["expected_to_date"],
                             r["percent_of_target"], d["overdue_by_site"].get(r["site"], 0)]
                            for r in d["recruitment_by_site"]]}},
        {"heading": "Recruitment by month", "table": {"columns": ["month", "recruited", "by site"], "rows": [
            [m["month"], m["total"], ", ".join(f"{k} {v}" for k, v in sorted(m["by_site"].items()))]
            for m in d["recruitment_by_month"]], "empty": "No one recruited yet."}},
        {"heading": "Retention", "table": {"columns": ["visit", "due", "completed", "missed", "withdrawn", "retention %"],
                                           "rows": [[r["label"], r["due"], r["completed"], r["missed"], r["withdrawn"],
                                                     r["retention_percent"]] for r in d["retention"]]}},
        {"heading": "Completeness of key outcomes", "table": {
            "columns": ["outcome", "visit", "expected", "available", "%"],
            "rows": [[("PRIMARY: " if c["primary"] else "") + c["label"], c["visit_id"], c["expected"], c["available"],
                      c["percent"]] for c in d["completeness"]]}},
        {"heading": "Exports", "links": [link(f"/trials/{trial_id}/exports", "Export analysis datasets (CSV)")]}]
    if not can_export:
        sections.pop()
    return page(request, f"Dashboard: {trial_id}", sections, trial_id=trial_id)


@router.get("/trials/{trial_id}/export/{frame}.csv")
def export_get(request: Request, trial_id: str, frame: str, user: User, reason: str | None = None) -> PlainTextResponse:
    from securebase.web.api import export_csv

    return PlainTextResponse(export_csv(request, user, trial_id, frame, reason), media_type="text/csv",
                             headers={"Content-Disposition": f'attachment; filename="{trial_id}-{frame}.csv"'})
