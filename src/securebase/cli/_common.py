"""Helpers shared by the CLI modules: settings, store, console."""

from __future__ import annotations

from rich.console import Console

from securebase.settings import Settings, get_settings
from securebase.store import Store, open_store

console = Console()
err_console = Console(stderr=True)


def settings() -> Settings:
    return get_settings()


def store(url: str | None = None) -> Store:
    """Open the store named by --db or SECUREBASE_DATABASE_URL."""
    from securebase.store.audit_key import seal_for

    settings = get_settings()
    url = url or settings.database_url
    return open_store(url, seal=seal_for(url, settings))
