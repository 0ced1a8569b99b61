"""Server-side rendering helpers: one layout and a generic page made of sections (text, definition list,
table, form), so pages are plain data built by the routes from service results."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from securebase.web.deps import csrf_token

_ENV: Environment | None = None


def env() -> Environment:
    global _ENV
    if _ENV is None:
        _ENV = Environment(loader=PackageLoader("securebase.web", "templates"),
                           autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
    return _ENV


def link(href: str, text: str) -> dict[str, str]:
    return {"href": href, "text": text}


YES_NO = [("yes", "Yes"), ("no", "No")]


def field(name: str, label: str, kind: str = "text", *, value: Any = None, options: list[tuple[str, str]] | None = None,
          required: bool = False, help: str = "", error: str = "", placeholder: str = "", query_url: str = "",
          queries: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """One form field. ``kind`` "radio" and "checkboxes" render a fieldset with a legend (nothing preselected
    unless ``value`` says so); ``error`` is shown beside the field and linked from the error summary."""
    if kind == "checkboxes":
        value = [str(v) for v in (value or [])]
    return {"name": name, "label": label, "type": kind, "value": "" if value is None else value,
            "options": options or [], "required": required, "help": help, "error": error,
            "placeholder": placeholder, "query_url": query_url, "queries": queries or []}


def form(action: str, fields: list[dict[str, Any]], submit: str, *, form_id: str = "",
         validate_url: str = "", button: tuple[str, str] | None = None,
         extra_buttons: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {"action": action, "fields": fields, "submit": submit, "id": form_id, "validate_url": validate_url,
            "button_name": button[0] if button else "", "button_value": button[1] if button else "",
            "extra_buttons": extra_buttons or []}


def field_errors(fields: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The error summary's entries (GOV.UK pattern): one linked line per field with an error."""
    out = []
    for f in fields:
        if f.get("error"):
            anchor = f"#f-{f['name']}"
            out.append({"href": anchor, "text": f"{f['label']}: {f['error']}" if f["label"] else f["error"]})
    return out


def set_errors(fields: list[dict[str, Any]], errors: dict[str, str]) -> list[dict[str, Any]]:
    """Put each message beside its field (by field name); returns the fields."""
    for f in fields:
        if f["name"] in errors:
            f["error"] = errors[f["name"]]
    return fields


def page(request: Request, title: str, sections: list[dict[str, Any]], *, trial_id: str | None = None,
         status: int = 200, error: str = "", notice: str = "", errors: list[dict[str, str]] | None = None) -> HTMLResponse:
    """Render the one layout. A notice left by :func:`securebase.web.pagekit.see_other` (a short-lived cookie,
    never the URL) is shown once and cleared."""
    from securebase.web.nav import nav_for
    from securebase.web.pagekit import FLASH_COOKIE, read_flash

    if errors is None:
        errors = [e for s in sections for f in ([s["form"]] if s.get("form") else []) + list(s.get("forms") or [])
                  for e in field_errors(f["fields"])]
    flash = read_flash(request)
    user = request.session.get("user")
    html = env().get_template("page.html").render(
        title=title, sections=sections, trial_id=trial_id, user=user, nav=nav_for(request, user, trial_id),
        csrf=csrf_token(request), error=error, errors=errors, notice=notice or flash)
    resp = HTMLResponse(html, status_code=status)
    if flash:
        resp.delete_cookie(FLASH_COOKIE, path="/")
    return resp


def render_error(request: Request, status: int, name: str, message: str) -> HTMLResponse:
    trial_id = request.path_params.get("trial_id") if hasattr(request, "path_params") else None
    try:
        return page(request, f"{status}: {name}", [{"text": [message]}], trial_id=trial_id, status=status,
                    error=message)
    except Exception:  # no session (e.g. an error before the session middleware): plain text, never a traceback
        return HTMLResponse(f"<h1>{status}</h1><p>{message}</p>", status_code=status)
