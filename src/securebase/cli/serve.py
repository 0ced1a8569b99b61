"""``securebase serve``: run the web app (staff pages and the JSON API) with uvicorn."""

from __future__ import annotations

import os

import typer

from securebase.cli._common import console
from securebase.settings import get_settings, session_secret


def serve(
    host: str = typer.Option(None, help="Address to listen on (default SECUREBASE_HOST, 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (default SECUREBASE_PORT, 8000)."),
    db: str | None = typer.Option(None, "--db", help="Store URL; default SECUREBASE_DATABASE_URL."),
    workers: int = typer.Option(1, help="Worker processes (PostgreSQL stores; keep 1 for SQLite)."),
) -> None:
    """Serve the staff web pages and the JSON API (/api, OpenAPI schema at /api/openapi.json)."""
    import uvicorn

    from securebase.errors import ConfigurationError
    from securebase.web import create_app

    overrides: dict[str, object] = {}
    if db:
        overrides["database_url"] = db
    if host:
        overrides["host"] = host
    if port:
        overrides["port"] = port
    settings = get_settings(**overrides)
    session_secret(settings)  # no default secret on any host, loopback included (behind a proxy it is public)
    console.print(f"securebase serving on http://{settings.host}:{settings.port} (API docs at /api/docs)")
    if workers > 1:
        if settings.database_url.startswith("sqlite"):
            raise ConfigurationError(f"--workers {workers} needs a PostgreSQL store: SQLite serialises writers, so "
                                     "extra processes only wait for each other; use --workers 1")
        # worker processes build their own app from the environment: pass the overrides on
        if db:
            os.environ["SECUREBASE_DATABASE_URL"] = db
        create_app(settings).state.store.dispose()  # migrate once, before the workers start
        uvicorn.run("securebase.web.app:app_from_environment", factory=True, host=settings.host, port=settings.port,
                    workers=workers, log_level="info", proxy_headers=False)
        return
    # the app believes forwarded headers itself, only from SECUREBASE_TRUSTED_PROXIES
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info", proxy_headers=False)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
