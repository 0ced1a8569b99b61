"""Helpers shared by the page modules: the posted form (after the CSRF check), redirects, number fields."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, unquote

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse

from securebase.errors import FieldError
from securebase.trial.bounds import bad_text
from securebase.web.deps import check_csrf, page_user

User = Annotated[str, Depends(page_user)]


async def posted(request: Request) -> dict[str, str]:
    """The posted form fields (last value wins), after the CSRF check."""
    data = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    check_csrf(request, data.pop("csrf_token", None))
    for k, v in data.items():
        why = bad_text(k) or bad_text(v)
        if why:
            raise FieldError(k[:40], v[:40], why, "remove the character and submit again")
    return data


Form = Annotated[dict[str, str], Depends(posted)]


FLASH_COOKIE = "securebase_notice"


def see_other(url: str, notice: str = "") -> RedirectResponse:
    """Post/redirect/get. The success message travels in a short-lived HttpOnly cookie read once by the next
    page, never in the URL, so scores and names do not land in browser history or server logs."""
    resp = RedirectResponse(url, status_code=303)
    if notice:
        resp.set_cookie(FLASH_COOKIE, quote(notice[:1500]), max_age=120, path="/", httponly=True, samesite="strict")
    return resp


def read_flash(request: Request) -> str:
    raw = request.cookies.get(FLASH_COOKIE, "")
    return unquote(raw) if raw else ""


def yesno(value: str | None) -> bool | None:
    if value in (None, ""):
        return None
    return str(value).lower() in ("yes", "true", "1", "on")


def num(value: str | None, name: str, cast: Any = float) -> Any:
    if value in (None, ""):
        return None
    try:
        return cast(value)
    except ValueError:
        raise FieldError(name, value, "a number") from None
