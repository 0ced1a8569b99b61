"""Helpers shared by the CLI modules: settings, store, console."""

from __future__ import annotations

from rich.console import Console

from securebase.settings import Settings, get_settings
from securebase.store import Store, open_store

console = Console()
err_console = Console(stderr=True)


def settings() -> Settings:
    return get_settings()


def require_existing(url: str) -> None:
    """Refuse a SQLite path that does not exist: opening it would silently create an empty store, and the
    next message would be a puzzling "user name or password not recognised" or "check the trial id"."""
    from sqlalchemy.engine import make_url

    from securebase.errors import ConfigurationError

    try:
        u = make_url(url)
    except Exception:
        raise ConfigurationError(f"--db / SECUREBASE_DATABASE_URL {url!r} is not a database URL; expected "
                                 "sqlite:///path/to/store.db or postgresql+psycopg://user@host/dbname") from None
    if u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:":
        from pathlib import Path

        if not Path(u.database).exists():
            raise ConfigurationError(f"No store at {u.database} (from --db or SECUREBASE_DATABASE_URL). Check the path, "
                                     "or create a store there with `securebase init --protocol ... --db "
                                     f"sqlite:///{u.database}` (`securebase serve --create` starts on an empty one)")


def check_url(url: str) -> None:
    """A named error for a --db value that is not a database URL."""
    from sqlalchemy.engine import make_url

    from securebase.errors import ConfigurationError

    try:
        make_url(url)
    except Exception:
        raise ConfigurationError(f"--db {url!r} is not a database URL; expected sqlite:///path/to/store.db "
                                 "or postgresql+psycopg://user@host/dbname") from None


def store(url: str | None = None, *, create: bool = False) -> Store:
    """Open the store named by --db or SECUREBASE_DATABASE_URL; a missing SQLite file is refused unless
    ``create`` (``securebase init``, ``restore``)."""
    url = url or get_settings().database_url
    if create:
        check_url(url)
    else:
        require_existing(url)
    from securebase.store.audit_key import seal_for

    return open_store(url, seal=seal_for(url, get_settings()))
