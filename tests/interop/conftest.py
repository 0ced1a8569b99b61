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


def new_care_store(url: str):  # type: ignore[no-untyped-def]
    """Open ``url`` and create the ng26-care trial with an administrator 'admin' (like the care_trial fixture)."""
    from securebase.protocol import load_protocol
    from securebase.store import open_store
    from securebase.trial.roles import Role
    from securebase.trial.setup import create_trial, create_user, grant_role

    st = open_store(url)
    with st.unit_of_work(actor="test-setup") as uow:
        create_trial(uow, load_protocol("ng26-care"), seed=99)
        admin = create_user(uow, "admin", "correct-horse-battery")
        grant_role(uow, admin, "ng26-care", Role.administrator)
        uow.commit()
    return st


@pytest.fixture
def fresh_care(fresh_url):  # type: ignore[no-untyped-def]
    """``fresh_care(kind)``: a new store of that backend holding an empty ng26-care trial."""
    made = []

    def make(kind: str = "sqlite"):  # type: ignore[no-untyped-def]
        st = new_care_store(fresh_url(kind))
        made.append(st)
        return st

    yield make
    for st in made:
        st.dispose()
