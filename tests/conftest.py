"""Shared fixtures: a fresh store on SQLite and on PostgreSQL for every persistence test.

PostgreSQL is the server on 127.0.0.1:5432 (trust auth). Each test gets its own database, cloned
from a migrated template, so tests never see each other's data. Under ``CI=true`` a missing server
fails the run instead of skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

PG_ADMIN_URL = os.environ.get("SECUREBASE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
os.environ.setdefault("SECUREBASE_PROGRESS", "false")


def _pg_available() -> bool:
    try:
        eng = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with eng.connect() as c:
            c.execute(text("SELECT 1"))
        eng.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str | None]:
    if not _pg_available():
        if IN_CI:
            pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432 and CI=true: the PostgreSQL persistence "
                        "tests must run. Start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start")
        yield None
        return
    from securebase.store import open_store

    name = f"sb_tpl_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    st = open_store(url)
    st.dispose()
    yield name
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _new_pg_db(template: str) -> tuple[str, str]:
    name = f"sb_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    admin.dispose()
    return name, PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def _drop_pg_db(name: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """URL of a fresh, migrated store; the test runs once per backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
        from securebase.store import open_store

        open_store(url).dispose()
        yield url
        return
    template = request.getfixturevalue("pg_template")
    if template is None:
        pytest.skip("PostgreSQL not reachable on 127.0.0.1:5432 (set CI=true to make this a failure)")
    name, url = _new_pg_db(template)
    yield url
    _drop_pg_db(name)


@pytest.fixture
def store(store_url: str):  # type: ignore[no-untyped-def]
    from securebase.store import open_store

    st = open_store(store_url, migrate=False)
    yield st
    st.dispose()


@pytest.fixture
def care_trial(store):  # type: ignore[no-untyped-def]
    """A store holding the built-in ng26-care trial and an administrator 'admin'."""
    from securebase.protocol import load_protocol
    from securebase.trial.roles import Role
    from securebase.trial.setup import create_trial, create_user, grant_role

    proto = load_protocol("ng26-care")
    with store.unit_of_work(actor="test-setup") as uow:
        create_trial(uow, proto, seed=20261126)
        admin = create_user(uow, "admin", "correct-horse-battery")
        grant_role(uow, admin, proto.id, Role.administrator)
        uow.commit()
    return store


@pytest.fixture
def smtp_inbox():  # type: ignore[no-untyped-def]
    """A real SMTP server on 127.0.0.1 (aiosmtpd); ``.received`` holds the e-mails it got."""
    from sb_smtp import smtp_server

    with smtp_server() as inbox:
        yield inbox
