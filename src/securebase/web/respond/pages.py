"""Routes of the respondent pages: ``GET /respond/<token>`` shows the questionnaire with the answers saved so
far; ``POST`` saves (``action=save``) or sends (``action=submit``) it; ``/respond/thanks`` follows a submission.

A link that opens nothing (unknown, used, expired, withdrawn) gets a plain page, no data, and counts as a
failed guess against the client's address and the token's first characters (``trial.link_throttle``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from securebase.instruments import ResponseValidationError
from securebase.store import Store
from securebase.trial import invitations, link_throttle
from securebase.trial.invitations import LinkNotUsable
from securebase.trial.link_throttle import TooManyGuesses

_ENV: Environment | None = None
CAPTIONS = {"carer": "Questions for the child's carer", "teacher": "Questions for the child's teacher",
            "child": "Questions for you"}
HEADERS = {"Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex, nofollow",
           "Content-Security-Policy": "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; "
                                      "form-action 'self'; frame-ancestors 'none'; img-src 'self'; font-src 'self'"}
LINK_PAGES = {
    "unknown": ("This link does not work", ["Check that you copied the whole link from the e-mail or text message.",
                                            "If it still does not work, contact the study team."]),
    "used": ("These answers have already been sent", ["Thank you. This link has been used and cannot be used again."]),
    "expired": ("This link has expired", ["The time for this questionnaire has passed. "
                                          "If you think this is wrong, contact the study team."]),
    "revoked": ("This link is no longer in use", ["You may have been sent a newer link. "
                                                  "If you are unsure, contact the study team."]),
}


def _env() -> Environment:
    global _ENV
    if _ENV is None:
        _ENV = Environment(loader=PackageLoader("securebase.web.respond", "templates"),
                           autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)
    return _ENV


def _html(template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    return HTMLResponse(_env().get_template(template).render(**ctx), status_code=status, headers=HEADERS)


def _message(title: str, paragraphs: list[str], status: int) -> HTMLResponse:
    return _html("message.html.j2", status, title=title, paragraphs=paragraphs)


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _items(q: dict[str, Any], entered: dict[str, str] | None, errors: dict[str, str]) -> list[dict[str, Any]]:
    refused = str(q["missing_codes"]["refused"])
    out = []
    for it in q["items"]:
        value = entered.get(it["code"], "") if entered is not None else ("" if it["value"] is None else str(it["value"]))
        row: dict[str, Any] = {"code": it["code"], "text": it.get("wording") or it["label"], "value": value,
                               "kind": it["response_type"], "error": errors.get(it["code"], ""),
                               "numeric": it["response_type"] in ("integer", "decimal"), "choices": None, "hint": ""}
        if it["allowed"]:
            labels = it["value_labels"] or {}
            row["choices"] = [{"value": str(v), "label": labels.get(str(v), str(v)), "checked": str(v) == value}
                              for v in it["allowed"]]
            row["choices"].append({"value": refused, "label": "Prefer not to answer", "checked": value == refused})
        elif it["response_type"] == "date":
            row["hint"] = "For example, 2026-03-27 (year-month-day)"
        elif row["numeric"] and it["minimum"] is not None and it["maximum"] is not None:
            row["hint"] = f"A number from {float(it['minimum']):g} to {float(it['maximum']):g}"
        out.append(row)
    return out


def _form_page(q: dict[str, Any], token: str, *, entered: dict[str, str] | None = None,
               errors: dict[str, str] | None = None, saved: bool = False, status: int = 200) -> HTMLResponse:
    errors = errors or {}
    items = _items(q, entered, errors)
    numbers = {it["code"]: i + 1 for i, it in enumerate(items)}
    summary = [{"anchor": f"item-{code}", "text": f"Question {numbers[code]}: {msg}"}
               for code, msg in sorted(errors.items(), key=lambda kv: numbers.get(kv[0], 0))]
    return _html("form.html.j2", status, title=q["label"] + " questionnaire", caption=CAPTIONS.get(q["respondent"], ""),
                 items=items, action=f"/respond/{token}", error_summary=summary, saved=saved)


def _friendly(err: ResponseValidationError, q: dict[str, Any]) -> dict[str, str]:
    """Respondent-facing messages (the staff messages name trial ids, which these pages never show)."""
    by_code = {it["code"]: it for it in q["items"]}
    out: dict[str, str] = {}
    for issue in err.issues:
        it = by_code.get(issue.item)
        if it is None:
            continue
        if issue.value is None:
            out[issue.item] = "choose an answer, or ‘Prefer not to answer’" if it["allowed"] else "enter an answer"
        elif it["allowed"]:
            out[issue.item] = "choose one of the answers given"
        elif it["response_type"] == "date":
            out[issue.item] = "enter a date like 2026-03-27"
        elif it["minimum"] is not None and it["maximum"] is not None:
            out[issue.item] = f"enter a number from {float(it['minimum']):g} to {float(it['maximum']):g}"
        else:
            out[issue.item] = "check this answer"
    return out


def _bad_link(store: Store, address: str, token: str, kind: str) -> HTMLResponse:
    with store.unit_of_work(actor="respondent") as uow:
        link_throttle.record_failure(uow, address, token)
        uow.commit()
    title, paragraphs = LINK_PAGES[kind]
    return _message(title, paragraphs, 404 if kind == "unknown" else 410)


def _throttled(e: TooManyGuesses) -> HTMLResponse:
    return _message("Too many attempts", [f"Too many links that do not work were tried. Try again in {e.minutes} "
                                          "minutes, or contact the study team."], 429)


def _show(store: Store, token: str, address: str) -> Response:
    try:
        with store.read() as s:
            link_throttle.check(s, address, token)
            q = invitations.questionnaire(s, invitations.find_invitation(s, token))
    except TooManyGuesses as e:
        return _throttled(e)
    except LinkNotUsable as e:
        return _bad_link(store, address, token, e.kind)
    return _form_page(q, token)


def _save(store: Store, token: str, address: str, form: dict[str, str]) -> Response:
    submit = form.get("action") != "save"
    try:
        with store.read() as s:
            link_throttle.check(s, address, token)
            q = invitations.questionnaire(s, invitations.find_invitation(s, token))
    except TooManyGuesses as e:
        return _throttled(e)
    except LinkNotUsable as e:
        return _bad_link(store, address, token, e.kind)
    answers = {it["code"]: form.get(f"item-{it['code']}", "").strip() for it in q["items"]}
    try:
        with store.unit_of_work(actor="respondent") as uow:
            invitations.save_answers(uow, token, answers, submit=submit)
            uow.commit()
    except ResponseValidationError as e:
        return _form_page(q, token, entered=answers, errors=_friendly(e, q), status=422)
    except LinkNotUsable as e:
        return _bad_link(store, address, token, e.kind)
    if submit:
        return RedirectResponse("/respond/thanks", status_code=303, headers=HEADERS)
    with store.read() as s:
        q = invitations.questionnaire(s, invitations.find_invitation(s, token))
    return _form_page(q, token, saved=True)


def respond_router() -> APIRouter:
    router = APIRouter(prefix="/respond", include_in_schema=False)

    @router.get("/thanks")
    def thanks() -> Response:
        return _message("Thank you", ["Your answers have been sent to the study team.",
                                      "As a thank-you, a £10 voucher will be sent to you."], 200)

    @router.get("/{token}")
    def show(request: Request, token: str) -> Response:
        return _show(request.app.state.store, token, _address(request))

    @router.post("/{token}")
    async def save(request: Request, token: str) -> Response:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        return await run_in_threadpool(_save, request.app.state.store, token, _address(request), form)

    return router
