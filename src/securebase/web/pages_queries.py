"""Raising a data query where the data are: beside an item on a form, or from the participant page by
choosing what it is about. The people who must answer are e-mailed (settings ``smtp_*``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from securebase.errors import ConflictError, FieldError, InputError
from securebase.trial import field_queries, queries
from securebase.web.deps import read, settings_of, write
from securebase.web.pagekit import Form, User, see_other
from securebase.web.render import field, form, link, page

router = APIRouter(include_in_schema=False)


def new_query_url(trial_id: str, pid: str, **where: Any) -> str:
    q = {k: v for k, v in where.items() if v not in (None, "")}
    return f"/trials/{trial_id}/participants/{pid}/queries/new" + (f"?{urlencode(q)}" if q else "")


def participant_section(request: Request, user: str, trial_id: str, pid: str) -> list[dict[str, Any]]:
    def build(s: Any, a: Any) -> tuple[list[dict[str, Any]], bool]:
        return field_queries.open_queries(s, a, pid), a.has(*queries.RAISERS)
    rows, can = read(request, user, trial_id, build)
    sec: dict[str, Any] = {"heading": "Data queries", "id": "queries", "table": {
        "columns": ["query", "about", "question", "status", "open for"],
        "rows": [[link(f"/trials/{trial_id}/queries/{q['id']}", f"Query {q['id']}"), q["about"], q["question"],
                  q["status"], q["age"]] for q in rows], "empty": "No data query on this participant."}}
    if can:
        sec["links"] = [link(new_query_url(trial_id, pid), "Raise a data query")]
    return [sec]


def _new_page(request: Request, user: str, trial_id: str, pid: str, where: dict[str, str], *, question: str = "",
              error: str = "", errors: dict[str, str] | None = None, status: int = 200) -> HTMLResponse:
    errors = errors or {}

    def build(s: Any, a: Any) -> tuple[str | None, list[tuple[str, str]]]:
        queries_ok = a.has(*queries.RAISERS)
        if not queries_ok:
            from securebase.trial import access

            access.require(a, queries.RAISERS, "raising a data query")
        if where.get("item"):
            return field_queries.item_target(s, a, pid, where["visit"], where["instrument"], where["item"],
                                             int(where.get("entry") or 1))[3], []
        return None, field_queries.targets(s, a, pid)
    words, choices = read(request, user, trial_id, build)
    fields = [field(k, "", "hidden", value=v) for k, v in where.items() if v]
    if words is None:
        fields.append(field("about", "What is the query about?", "select", options=choices, required=True,
                            value=where.get("about"), error=errors.get("about", "")))
    fields.append(field("question", "Question for the site", "textarea", required=True, value=question,
                        help="Say what looks wrong and what to check", error=errors.get("question", "")))
    sections: list[dict[str, Any]] = [{"dl": [("Participant", pid)] + ([("About", words)] if words else []),
                                       "form": form(new_query_url(trial_id, pid), fields, "Raise query",
                                                    form_id="new-query-form")}]
    return page(request, f"Raise a data query on {pid}", sections, trial_id=trial_id, error=error, status=status)


@router.get("/trials/{trial_id}/participants/{pid}/queries/new")
def new_query_get(request: Request, trial_id: str, pid: str, user: User, visit: str = "", instrument: str = "",
                  item: str = "", entry: str = "") -> HTMLResponse:
    return _new_page(request, user, trial_id, pid, {"visit": visit, "instrument": instrument, "item": item,
                                                    "entry": entry})


@router.post("/trials/{trial_id}/participants/{pid}/queries/new")
def new_query_post(request: Request, trial_id: str, pid: str, user: User, data: Form) -> Response:
    where = {k: data.get(k, "") for k in ("visit", "instrument", "item", "entry")}
    question = data.get("question", "")
    if not question.strip():
        return _new_page(request, user, trial_id, pid, where | {"about": data.get("about", "")}, question=question,
                         errors={"question": "Enter the question for the site"}, status=422)
    back = (f"/trials/{trial_id}/participants/{pid}/visits/{where['visit']}/forms/{where['instrument']}"
            if where["item"] else f"/trials/{trial_id}/participants/{pid}")

    def run(u: Any, a: Any) -> dict[str, Any]:
        if where["item"]:
            target = field_queries.item_target(u.session, a, pid, where["visit"], where["instrument"], where["item"],
                                               int(where["entry"] or 1))
        else:
            target = field_queries.parse_choice(u.session, a, pid, data.get("about", ""))
        return field_queries.raise_on(u, a, pid, target, question, about="")
    try:
        raised = write(request, user, trial_id, run)
    except FieldError as exc:
        return _new_page(request, user, trial_id, pid, where | {"about": data.get("about", "")}, question=question,
                         errors={exc.field: exc.message}, status=exc.http_status)
    except (InputError, ConflictError) as exc:
        return _new_page(request, user, trial_id, pid, where, question=question, error=exc.message,
                         status=exc.http_status)
    from securebase.notify import mailer_from_settings

    raised["path"] = f"/trials/{trial_id}/queries/{raised['id']}"
    told = field_queries.notify(mailer_from_settings(settings_of(request)), raised, str(request.base_url))
    return see_other(back, f"Query {raised['id']} raised on {raised['about']}; {told}")
