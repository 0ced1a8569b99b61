"""The web application factory: ``create_app(settings)`` builds the FastAPI app (pages and JSON API).

Nothing happens at import time: the store is opened when the app is built. Sessions are signed cookies
(Starlette ``SessionMiddleware``, itsdangerous) with the settings' secret, HttpOnly, SameSite=strict, marked
Secure unless the server listens on the loopback address only, and valid for ``settings.session_hours``.
Every error becomes one JSON shape (``SecurebaseError.to_dict``) with its HTTP status for the API, or an
error page for people; never a traceback.
"""

from __future__ import annotations

import logging
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError as DBAPIDataError
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from securebase.errors import ConflictError, InputError, SecurebaseError
from securebase.qualitative.web import router as qualitative_router
from securebase.settings import Settings
from securebase.store import Store, open_store
from securebase.web import api, deps, pages
from securebase.web.deps import DATA_ERROR, LoginRequired
from securebase.web.render import render_error

log = logging.getLogger("securebase.web")
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _error_shape(name: str, message: str, status: int) -> dict[str, object]:
    return {"error": name, "message": message, "status": status}


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api") or request.url.path.startswith("/openapi")


def create_app(settings: Settings, *, store: Store | None = None, secure_cookies: bool | None = None) -> FastAPI:
    """Build the app for ``settings`` (opening and migrating ``settings.database_url`` unless ``store`` is given)."""
    app = FastAPI(title="securebase", version="1", description="Running the NG26 attachment trials: JSON API "
                  "(token authentication: 'Authorization: Bearer <token>', from `securebase user token`).",
                  docs_url="/api/docs", redoc_url=None, openapi_url="/api/openapi.json")
    app.state.settings = settings
    app.state.store = store or open_store(settings.database_url)
    # Load the instrument definitions once, before requests arrive on many threads: the registry fills its
    # cache lazily and is not safe to fill from several threads at once.
    from securebase.instruments import list_instruments

    list_instruments()
    secure = secure_cookies if secure_cookies is not None else settings.host not in LOOPBACK
    app.add_middleware(SessionMiddleware, secret_key=settings.secret_key, session_cookie="securebase_session",
                       max_age=settings.session_hours * 3600, same_site="strict", https_only=secure)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response: Response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(SecurebaseError)
    async def _domain(request: Request, exc: SecurebaseError) -> Response:
        if _wants_json(request):
            return JSONResponse(exc.to_dict(), status_code=exc.http_status)
        return render_error(request, exc.http_status, type(exc).__name__, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        parts = []
        for e in exc.errors()[:10]:
            where = ".".join(str(x) for x in e.get("loc", ()) if x != "body")
            parts.append(f"{where}: {e.get('msg', 'invalid')}")
        msg = "the request is not valid: " + "; ".join(parts) + "; see /api/openapi.json for the expected shape"
        if _wants_json(request):
            return JSONResponse(_error_shape("InputError", msg, 422), status_code=422)
        return render_error(request, 422, "InputError", msg)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        msg = {404: "no such page or API route; check the address", 405: "this method is not allowed here"}.get(
            exc.status_code, str(exc.detail))
        if _wants_json(request):
            return JSONResponse(_error_shape("NotFound" if exc.status_code == 404 else "HTTPError", msg, exc.status_code),
                                status_code=exc.status_code)
        return render_error(request, exc.status_code, "NotFound" if exc.status_code == 404 else "Error", msg)

    @app.exception_handler(DBAPIDataError)
    async def _db_value(request: Request, exc: DBAPIDataError) -> Response:
        return await _domain(request, InputError(DATA_ERROR))

    @app.exception_handler(IntegrityError)
    async def _db_race(request: Request, exc: IntegrityError) -> Response:
        return await _domain(request, ConflictError("someone else saved the same record at the same moment; "
                                                    "nothing of yours was saved. Reload the page and try again"))

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> Response:
        log.exception("internal error on %s %s", request.method, request.url.path)
        msg = "an internal error occurred; nothing was saved. Please report the time and what you were doing."
        if _wants_json(request):
            return JSONResponse(_error_shape("InternalError", msg, 500), status_code=500)
        return render_error(request, 500, "InternalError", msg)

    static = resources.files("securebase.web") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(qualitative_router(get_store=deps.store_of, current_user=deps.page_user,
                                          csrf_token=deps.csrf_token, verify_csrf=_verify_csrf, chrome=_chrome))
    return app


async def _verify_csrf(request: Request) -> None:
    """CSRF check for the qualitative pages' forms (the token travels as the form field ``csrf_token``)."""
    form = await request.form()
    deps.check_csrf(request, form.get("csrf_token"))  # type: ignore[arg-type]


def _chrome(request: Request, trial_id: str | None) -> dict[str, object]:
    """What the qualitative pages need to show the staff header (same navigation and log-out everywhere)."""
    from securebase.web.nav import nav_for

    user = request.session.get("user")
    return {"user": user, "nav": nav_for(request, user, trial_id)}


def app_from_environment() -> FastAPI:
    """Factory for ``uvicorn --factory`` (several worker processes): settings from the environment."""
    from securebase.settings import get_settings

    return create_app(get_settings())
