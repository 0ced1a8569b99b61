"""Request plumbing shared by the pages and the API: the store, who is asking, CSRF, units of work.

Routes only translate: they turn a request into a service call inside a unit of work and a service result
(or a domain error) into a response. The role and site checks are in the services.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from fastapi import Request
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from securebase.errors import ConflictError, InputError, PermissionDenied
from securebase.settings import Settings
from securebase.store import Store, UnitOfWork
from securebase.trial import sessions
from securebase.trial.accounts import NotAuthenticated, authenticate_token
from securebase.trial.audit_view import actor_for
from securebase.trial.roles import Actor

T = TypeVar("T")
DATA_ERROR = ("a value in the request cannot be stored or looked up (too long, out of range, or containing a NUL "
              "character); nothing was saved. Check the values and try again")


class LoginRequired(NotAuthenticated):
    """A page needs a logged-in user (answered by a redirect to the log-in page)."""


def store_of(request: Request) -> Store:
    return request.app.state.store


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


def csrf_token(request: Request) -> str:
    tok = request.session.get("csrf")
    if not tok:
        tok = secrets.token_urlsafe(32)
        request.session["csrf"] = tok
    return tok


def check_csrf(request: Request, sent: str | None) -> None:
    expected = request.session.get("csrf")
    if not expected or not sent or not secrets.compare_digest(str(expected), str(sent)):
        raise PermissionDenied("the form's security token is missing or out of date (CSRF check); reload the page "
                               "and submit again")


def page_user(request: Request) -> str:
    """The logged-in user of a page request, or LoginRequired: the cookie's session id is checked against its
    server-side record on every request (log-out, deactivation and expiry end it at once)."""
    sid = request.session.get("sid")
    if not sid or not isinstance(sid, str):
        request.session.pop("user", None)
        raise LoginRequired("please log in")
    try:
        with store_of(request).read() as session:
            return sessions.check(session, sid)
    except sessions.SessionInvalid:
        request.session.pop("sid", None)
        request.session.pop("user", None)
        raise LoginRequired("please log in") from None


def client_address(request: Request) -> str:
    """The client's address (the proxy's X-Forwarded-For is believed only from ``trusted_proxies``)."""
    return (request.client.host if request.client else "") or "unknown"


def api_user(request: Request) -> str:
    """The user of an API request: ``Authorization: Bearer <token>``."""
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("this API needs 'Authorization: Bearer <token>'; create a token with "
                               "`securebase user token USERNAME`")
    with store_of(request).read() as session:
        return authenticate_token(session, token.strip(), method=request.method)


@contextmanager
def reading(request: Request, username: str, trial_id: str) -> Iterator[tuple[Session, Actor]]:
    with store_of(request).read() as session:
        yield session, actor_for(session, username, trial_id)


def read(request: Request, username: str, trial_id: str, fn: Callable[[Session, Actor], T]) -> T:
    try:
        with reading(request, username, trial_id) as (session, actor):
            return fn(session, actor)
    except DataError:
        raise InputError(DATA_ERROR) from None


def read_uow(request: Request, username: str, trial_id: str, fn: Callable[[UnitOfWork, Actor], T]) -> T:
    """Run a service that takes a unit of work but only reads (never committed; no write lock on SQLite)."""
    with store_of(request).unit_of_work(actor=username, write=False) as uow:
        return fn(uow, actor_for(uow.session, username, trial_id))


def write(request: Request, username: str, trial_id: str, fn: Callable[[UnitOfWork, Actor], T],
          reason: str | None = None, *, as_json: bool = False) -> T:
    """Run ``fn`` in one unit of work for ``username`` on ``trial_id`` and commit it.

    With ``as_json`` the result is turned into JSON-ready values and serialised *before* the commit, so a
    result that cannot be sent never follows a committed change ("nothing was saved" stays true)."""
    try:
        with store_of(request).unit_of_work(actor=username, reason=(reason or None)) as uow:
            actor = actor_for(uow.session, username, trial_id)
            out = fn(uow, actor)
            if as_json:
                out = plain(out)
                try:
                    json.dumps(out, allow_nan=False)
                except (TypeError, ValueError, RecursionError):
                    raise InputError("the result of this request cannot be sent back as JSON, so nothing was saved; "
                                     "check the values for non-finite numbers or deep nesting") from None
            uow.commit()
            return out
    except IntegrityError:
        raise ConflictError("someone else saved the same record at the same moment; nothing of yours was saved. "
                            "Reload the page and try again") from None
    except DataError:
        raise InputError(DATA_ERROR) from None


def write_json(request: Request, username: str, trial_id: str, fn: Callable[[UnitOfWork, Actor], T],
               reason: str | None = None) -> T:
    """:func:`write` for the JSON API: the response is built before the commit."""
    return write(request, username, trial_id, fn, reason, as_json=True)


def plain(value: Any) -> Any:
    """Make service results JSON-friendly (dates to ISO strings, result objects to dicts)."""
    import datetime as _dt

    if hasattr(value, "to_dict"):
        return plain(value.to_dict())
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    return value
