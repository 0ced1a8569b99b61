"""Opening a store and the unit of work the services use.

``open_store(url)`` gives a :class:`Store`: SQLite file by default, PostgreSQL by URL, migrated to
the latest schema. ``store.unit_of_work(actor=..., reason=...)`` opens one transaction; every
insert, update and delete inside it is audited; nothing is written unless ``commit()`` is called.
On SQLite a writing unit of work starts with ``BEGIN IMMEDIATE`` so writers are serialised.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from securebase.errors import ConfigurationError, NotFound, TrialLocked
from securebase.store import audit
from securebase.store.audit_key import AuditSeal
from securebase.store.tables import Base, Trial

_held = threading.local()  # SQLite write locks this thread holds, so nested units of work do not deadlock


class UnitOfWork:
    """One transaction. Use ``session`` for queries; call ``commit()`` to keep the changes."""

    def __init__(self, store: Store, session: Session, ctx: audit.AuditContext) -> None:
        self.store = store
        self.session = session
        self.audit = ctx
        self.committed = False

    @property
    def actor(self) -> str:
        return self.audit.actor

    @property
    def reason(self) -> str | None:
        return self.audit.reason

    @reason.setter
    def reason(self, value: str | None) -> None:
        self.audit.reason = _clean_reason(value)

    def commit(self) -> None:
        self.session.flush()  # the last changes are chained now, so the tail below is the committed head
        tail = self.session.info.get("sb_audit_tail")
        self.session.commit()
        self.committed = True
        if tail is not None and self.store.seal is not None:
            self.store.seal.append_head(*tail)
        self.session.info.pop("sb_audit_tail", None)
        self.session.info.pop("sb_inserted", None)

    def rollback(self) -> None:
        self.session.rollback()
        self.session.info.pop("sb_audit_tail", None)
        self.session.info.pop("sb_inserted", None)

    def log_event(self, action: str, *, table_name: str, record_id: str, trial_id: str | None,
                  participant_id: str | None = None, detail: dict[str, Any] | None = None) -> int:
        """Audit something that is not a row change (an unblinding, a failed log-in, an export)."""
        return audit.write_audit(self.session, action=action, table_name=table_name, record_id=record_id,
                                 trial_id=trial_id, participant_id=participant_id, old=None, new=detail)

    def trial(self, trial_id: str, *, for_update: bool = False) -> Trial:
        stmt = select(Trial).where(Trial.id == trial_id)
        if for_update and self.store.dialect == "postgresql":
            stmt = stmt.with_for_update()
        found = self.session.execute(stmt).scalar_one_or_none()
        if found is None:
            raise NotFound(f"trial '{trial_id}' is not in this store; create it with `securebase init --protocol {trial_id}`")
        return found

    def ensure_unlocked(self, trial_id: str) -> Trial:
        trial = self.trial(trial_id)
        if trial.locked:
            raise TrialLocked(
                f"trial '{trial_id}' is locked (since {trial.locked_at:%Y-%m-%d %H:%M} UTC by {trial.locked_by}); "
                "its data cannot be changed. A trial manager can unlock it with a reason: `securebase lock release`")
        return trial


def _clean_reason(reason: str | None) -> str | None:
    """A reason for change is real text: blank or whitespace-only counts as none given."""
    return reason.strip() if reason and reason.strip() else None


def _guard_locked(session: Session, flush_context: object, instances: object) -> None:
    """No write to the data of a locked trial, whatever route it came by."""
    if session.info.get("sb_lock_override"):
        return
    touched = set()
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if isinstance(obj, Trial):
            continue
        trial_id = getattr(obj, "trial_id", None)
        if trial_id:
            touched.add(trial_id)
    for trial_id in touched:
        locked = session.connection().execute(select(Trial.locked, Trial.locked_at, Trial.locked_by)
                                              .where(Trial.id == trial_id)).first()
        if locked is not None and locked[0]:
            raise TrialLocked(
                f"trial '{trial_id}' is locked (since {locked[1]:%Y-%m-%d %H:%M} UTC by {locked[2]}); "
                "nothing was saved. A trial manager can unlock it with an audited reason "
                f"(`securebase lock release {trial_id} --reason ...`)")


def _before_flush(session: Session, flush_context: object, instances: object) -> None:
    if "sb_audit" not in session.info:
        return
    _guard_locked(session, flush_context, instances)
    audit.check_reasons(session)


def _after_flush(session: Session, flush_context: object) -> None:
    if "sb_audit" not in session.info:
        return
    audit.audit_flush(session, flush_context)
    audit.remember_inserted(session, flush_context)


class Store:
    """A database holding one or more trials."""

    def __init__(self, engine: Engine, seal: AuditSeal | None = None) -> None:
        self.engine = engine
        self.seal = seal  # the audit chain's key and head file; None: an unkeyed (legacy) chain
        self.dialect = engine.dialect.name
        db = engine.url.database if self.dialect == "sqlite" else None
        self._sqlite_path = db if db and db != ":memory:" else None

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=False)

    @contextmanager
    def unit_of_work(self, actor: str, *, reason: str | None = None, write: bool = True,
                     lock_override: bool = False) -> Iterator[UnitOfWork]:
        """One transaction on behalf of ``actor``. Rolled back unless ``commit()`` is called."""
        release = self._sqlite_write_lock() if write else None
        conn = self.engine.connect()
        conn.info["sb_immediate"] = write
        session = Session(bind=conn, expire_on_commit=False, autoflush=True)
        ctx = audit.AuditContext(actor=actor, reason=_clean_reason(reason))
        session.info["sb_audit"] = ctx
        session.info["sb_lock_override"] = lock_override
        session.info["sb_audit_seal"] = self.seal
        event.listen(session, "before_flush", _before_flush)
        event.listen(session, "after_flush", _after_flush)
        uow = UnitOfWork(self, session, ctx)
        try:
            yield uow
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()  # rolls back anything uncommitted; loaded objects stay readable
            conn.close()
            if release is not None:
                release()

    def _sqlite_write_lock(self) -> Callable[[], None] | None:
        """On a SQLite file, queue writers on an OS file lock before BEGIN IMMEDIATE.

        SQLite's own busy handler polls, so under many concurrent writers some wait far longer than others
        (p95 latency near a second with 16 clients); a blocking ``flock`` hands the database over promptly.
        """
        if self.dialect != "sqlite" or not self._sqlite_path:
            return None
        held: set[str] = _held.__dict__.setdefault("paths", set())
        if self._sqlite_path in held:  # a nested unit of work in this thread: SQLite's own lock decides
            return None
        import fcntl

        fh = open(self._sqlite_path + ".writelock", "a+b")  # noqa: SIM115 (held until the unit of work ends)
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        held.add(self._sqlite_path)
        path = self._sqlite_path

        def release() -> None:
            held.discard(path)
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
            fh.close()
        return release

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session (no audit, never commits)."""
        with self.unit_of_work("reader", write=False) as uow:
            yield uow.session

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_engine(url: str) -> Engine:
    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("sb_immediate") else "BEGIN")

    return engine


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # as many connections as the web server's worker threads (AnyIO's default limit is 40), so a burst of
    # requests (200 respondents sending at once) queues for a thread, not for a connection (QueuePool timeout)
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=30)


def open_store(url: str | None = None, *, migrate: bool = True, seal: AuditSeal | None = None) -> Store:
    """Open (and by default migrate to the latest schema) the store at ``url``.

    ``seal``: the audit chain's key and head file (:func:`securebase.store.audit_key.seal_for` reads them
    from the settings; the entry points pass it). Without one the chain is written unkeyed (legacy)."""
    if url is None:
        from securebase.settings import get_settings

        url = get_settings().database_url
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        raise ConfigurationError(
            f"cannot open the store at {engine.url.render_as_string(hide_password=True)}: "
            f"{str(exc.orig).strip().splitlines()[0]}; check SECUREBASE_DATABASE_URL and that the server runs") from None
    if migrate:
        from securebase.store.migrate import upgrade

        upgrade(engine)
    return Store(engine, seal)


__all__ = ["Base", "Store", "UnitOfWork", "make_engine", "open_store"]
