"""The web application factory: ``create_app(settings)`` builds the FastAPI app (pages and JSON API).

Nothing happens at import time: the store is opened when the app is built, and the app refuses to be built
without a session secret of its own (:func:`securebase.settings.session_secret`). The cookie is signed
(Starlette ``SessionMiddleware``, itsdangerous), HttpOnly, SameSite=strict, Secure as ``settings.cookie_secure``
says, and carries only a CSRF token and a random session id whose record in the store decides whether the
user is logged in (:mod:`securebase.trial.sessions`). X-Forwarded-For/-Proto are believed only from
``settings.trusted_proxies``. Every response carries a Content-Security-Policy without inline script,
frame-ancestors 'none', and HSTS when the request came over HTTPS.
Every error becomes one JSON shape (``SecurebaseError.to_dict``) with its HTTP status for the API, or an
error page for people; never a traceback.
"""

from __future__ import annotations

import logging
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError as DBAPIDataError
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from securebase.errors import ConflictError, InputError, SecurebaseError
from securebase.qualitative.web import router as qualitative_router
from securebase.settings import Settings, session_secret
from securebase.store import Store, open_store
from securebase.web import api, api_safety, deps, pages, pages_safety
from securebase.web.deps import DATA_ERROR, LoginRequired
from securebase.web.render import render_error
from securebase.web.respond import respond_router

log = logging.getLogger("securebase.web")
COOKIE = "securebase_session"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HSTS = "max-age=31536000; includeSubDomains"
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
                    "Referrer-Policy": "same-origin", "Cache-Control": "no-store",
                    "Cross-Origin-Opener-Policy": "same-origin", "Permissions-Policy": "camera=(), microphone=()"}
#: The API docs page: the vendored Swagger UI (``make static``) and a static start-up script, no CDN.
DOCS_HTML = """<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8"><title>securebase API</title>
<link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/swagger-init.js"></script></body></html>
"""


def _mark_cookie_secure(response: Response) -> None:
    raw = response.raw_headers
    for i, (k, v) in enumerate(raw):
        if k.lower() == b"set-cookie" and v.startswith(COOKIE.encode()) and b"; secure" not in v.lower():
            raw[i] = (k, v + b"; secure")


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413 (by Content-Length, and while streaming)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        message = (f"the request body is larger than {self.max_bytes} bytes; send less (split the data) or ask the "
                   "administrator about SECUREBASE_MAX_REQUEST_BYTES")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await JSONResponse(_error_shape("InputError", message, 413), status_code=413)(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.max_bytes:
                    raise StarletteHTTPException(413, detail=message)
            return msg

        await self.app(scope, limited, send)


def _error_shape(name: str, message: str, status: int) -> dict[str, object]:
    return {"error": name, "message": message, "status": status}


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api") or request.url.path.startswith("/openapi")


def create_app(settings: Settings, *, store: Store | None = None, secure_cookies: bool | None = None) -> FastAPI:
    """Build the app for ``settings`` (opening and migrating ``settings.database_url`` unless ``store`` is given)."""
    secret = session_secret(settings)  # refuses a missing, default or short secret, on every host
    app = FastAPI(title="securebase", version="1", description="Running the NG26 attachment trials: JSON API "
                  "(token authentication: 'Authorization: Bearer <token>', from `securebase user token`).",
                  docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")
    app.state.settings = settings
    if store is None:
        from securebase.store.audit_key import seal_for

        store = open_store(settings.database_url, seal=seal_for(settings.database_url, settings))
    app.state.store = store
    # Load the instrument definitions once, before requests arrive on many threads: the registry fills its
    # cache lazily and is not safe to fill from several threads at once.
    from securebase.instruments import list_instruments

    list_instruments()
    mode = settings.cookie_secure if secure_cookies is None else ("true" if secure_cookies else "false")
    app.add_middleware(SessionMiddleware, secret_key=secret, session_cookie=COOKIE,
                       max_age=settings.session_hours * 3600, same_site="strict", https_only=mode == "true")

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response: Response = await call_next(request)
        https = request.url.scheme == "https"
        if mode == "auto" and https:
            _mark_cookie_secure(response)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if https:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response

    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)
    proxies = [p.strip() for p in settings.trusted_proxies.split(",") if p.strip()]
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=proxies or [])  # outermost: runs first

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

    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return HTMLResponse(DOCS_HTML)

    static = resources.files("securebase.web") / "static"
    app.mount("/static", StaticFiles(directory=str(static), follow_symlink=True), name="static")  # vendor/ may be a link
    govuk_assets = static / "vendor" / "govuk" / "assets"  # GOV.UK Frontend's CSS asks for /assets/...
    if govuk_assets.is_dir():
        app.mount("/assets", StaticFiles(directory=str(govuk_assets)), name="govuk-assets")
    app.include_router(respond_router())  # questionnaires by link: no staff log-in (web/respond)
    app.include_router(api.router)
    app.include_router(api_safety.router)
    app.include_router(pages.router)
    app.include_router(pages_safety.router)
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
