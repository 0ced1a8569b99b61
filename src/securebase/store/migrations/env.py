"""Alembic environment: uses a connection handed over by securebase, or the URL in alembic.ini/settings."""

from __future__ import annotations

from alembic import context

from securebase.store.tables import Base

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    from securebase.store.uow import make_engine

    url = config.get_main_option("sqlalchemy.url")
    if not url:
        from securebase.settings import get_settings

        url = get_settings().database_url
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.info["sb_immediate"] = True
        _run(conn)
    engine.dispose()
