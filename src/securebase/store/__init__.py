"""The store: SQLAlchemy tables, unit of work, Alembic migrations and the hash-chained audit trail."""

from securebase.store.audit import verify_chain
from securebase.store.uow import Store, UnitOfWork, make_engine, open_store

__all__ = ["Store", "UnitOfWork", "make_engine", "open_store", "verify_chain"]
