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


def field(name: str, label: str, kind: str = "text", *, value: Any = None, options: list[tuple[str, str]] | None = None,
          required: bool = False, help: str = "", error: str = "") -> dict[str, Any]:
    return {"name": name, "label": label, "type": kind, "value": "" if value is None else value,
            "options": options or [], "required": required, "help": help, "error": error}


def form(action: str, fields: list[dict[str, Any]], submit: str, *, form_id: str = "",
         validate_url: str = "") -> dict[str, Any]:
    return {"action": action, "fields": fields, "submit": submit, "id": form_id, "validate_url": validate_url}


def page(request: Request, title: str, sections: list[dict[str, Any]], *, trial_id: str | None = None,
         status: int = 200, error: str = "", notice: str = "") -> HTMLResponse:
    html = env().get_template("page.html").render(
        title=title, sections=sections, trial_id=trial_id, user=request.session.get("user"),
        csrf=csrf_token(request), error=error, notice=notice or request.query_params.get("notice", ""))
    return HTMLResponse(html, status_code=status)


def render_error(request: Request, status: int, name: str, message: str) -> HTMLResponse:
    trial_id = request.path_params.get("trial_id") if hasattr(request, "path_params") else None
    try:
        return page(request, f"{status}: {name}", [{"text": [message]}], trial_id=trial_id, status=status,
                    error=message)
    except Exception:  # no session (e.g. an error before the session middleware): plain text, never a traceback
        return HTMLResponse(f"<h1>{status}</h1><p>{message}</p>", status_code=status)
