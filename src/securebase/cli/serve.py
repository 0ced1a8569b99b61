"""``securebase serve``: run the web app (staff pages and the JSON API) with uvicorn."""

from __future__ import annotations

import os

import typer

from securebase.cli._common import console
from securebase.settings import get_settings, session_secret


def serve(
    host: str = typer.Option(None, help="Address to listen on (default SECUREBASE_HOST, 127.0.0.1)."),
    port: int = typer.Option(None, min=1, max=65535, help="Port, 1 to 65535 (default SECUREBASE_PORT, 8000)."),
    db: str | None = typer.Option(None, "--db", help="Store URL; default SECUREBASE_DATABASE_URL."),
    workers: int = typer.Option(1, min=1, max=64, help="Worker processes (PostgreSQL stores; keep 1 for SQLite)."),
    create: bool = typer.Option(False, "--create", help="Start on a new, empty SQLite store when --db names no file."),
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
    if not create:
        from securebase.cli._common import require_existing

        require_existing(settings.database_url)
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
