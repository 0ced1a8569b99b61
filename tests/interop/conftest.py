"""Fixtures of the interop tests: extra empty stores (restore and import targets) on either backend."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import create_engine, text

PG_ADMIN_URL = os.environ.get("SECUREBASE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture
def fresh_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[Callable[[str], str]]:  # type: ignore[no-untyped-def]
    """``fresh_url("sqlite" | "postgresql")`` gives the URL of a new, migrated, empty store."""
    made: list[str] = []

    def make(kind: str) -> str:
        from securebase.store import open_store

        if kind == "sqlite":
            url = f"sqlite:///{tmp_path / f'fresh_{uuid.uuid4().hex[:8]}.db'}"
        else:
            template = request.getfixturevalue("pg_template")
            if template is None:
                pytest.skip("PostgreSQL not reachable on 127.0.0.1:5432 (set CI=true to make this a failure)")
            name = f"sb_t_{uuid.uuid4().hex[:12]}"
            admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
            admin.dispose()
            made.append(name)
            url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        open_store(url).dispose()
        return url

    yield make
    if made:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            for name in made:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
