"""Data queries: a data manager raises a query on a saved value, the site answers, the query is closed.

Each step is a row change in ``data_queries`` and so is audited with who, when and what. Queries are
raised on participant data only (never on allocation or delivery records: the data manager is blinded).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from securebase.errors import ConflictError, FieldError, NotFound
from securebase.store import UnitOfWork
from securebase.store.tables import Consent, DataQuery, Event, Participant, Response, Score, Visit
from securebase.trial import access
from securebase.trial.paging import Paging, paged
from securebase.trial.roles import Actor, Role

MAX_ID = 2**31 - 1  # database integer keys (PostgreSQL integer)
RAISERS = frozenset({Role.data_manager, Role.trial_manager, Role.administrator})
ANSWERERS = frozenset({Role.site_recruiter, Role.outcome_assessor, Role.trial_manager, Role.administrator})
#: Tables a query may point at, and their models (all carry participant_pk except participants itself).
QUERYABLE = {"responses": Response, "scores": Score, "visits": Visit, "events": Event, "consents": Consent,
             "participants": Participant}


def _check_target(session: Session, p: Participant, table_name: str, record_id: int, field: str) -> None:
    model = QUERYABLE.get(table_name)
    if model is None:
        raise FieldError("table_name", table_name, "one of " + ", ".join(QUERYABLE))
    if not isinstance(record_id, int) or not 0 < record_id <= MAX_ID:
        raise FieldError("record_id", record_id, f"a record number from 1 to {MAX_ID}")
    row = session.get(model, record_id)
    owner = getattr(row, "id" if table_name == "participants" else "participant_pk", None) if row is not None else None
    if row is None or owner != p.id:
        raise NotFound(f"record {record_id} of '{table_name}' does not belong to {p.participant_id}; check the record")
    if field not in {c.key for c in model.__table__.columns}:
        raise FieldError("field", field, f"a field of '{table_name}'")


def raise_query(uow: UnitOfWork, actor: Actor, participant_id: str, *, table_name: str, record_id: int,
                field: str, question: str) -> DataQuery:
    access.require(actor, RAISERS, "raising a data query")
    uow.ensure_unlocked(actor.trial_id)
    p = access.participant(uow.session, actor, participant_id)
    _check_target(uow.session, p, table_name, record_id, field)
    if not (question or "").strip():
        raise FieldError("question", question, "the question for the site", "say what looks wrong and what to check")
    question = access.clean_text(question, "question")
    q = DataQuery(trial_id=actor.trial_id, participant_pk=p.id, table_name=table_name, record_id=record_id,
                  field=field, question=question.strip(), status="open", raised_by=actor.username)
    uow.session.add(q)
    uow.session.flush()
    return q


def _query(session: Session, actor: Actor, query_id: int) -> tuple[DataQuery, Participant]:
    q = session.get(DataQuery, query_id) if isinstance(query_id, int) and 0 < query_id <= MAX_ID else None
    p = session.get(Participant, q.participant_pk) if q is not None else None
    if q is None or p is None or q.trial_id != actor.trial_id or not actor.can_reach_site(p.site_code):
        raise NotFound(f"data query {query_id} not found in trial '{actor.trial_id}'; check the query number")
    return q, p


def answer_query(uow: UnitOfWork, actor: Actor, query_id: int, *, answer: str) -> DataQuery:
    access.require(actor, ANSWERERS, "answering a data query")
    q, _ = _query(uow.session, actor, query_id)
    if q.status == "closed":
        raise ConflictError(f"data query {query_id} is closed; ask the data manager to raise a new one")
    if not (answer or "").strip():
        raise FieldError("answer", answer, "the site's answer", "say what was checked and whether the value changed")
    with access.workflow_reason(uow, f"data query {query_id} answered"):
        q.answer = answer.strip()
        q.answered_by = actor.username
        q.status = "answered"
    return q


def close_query(uow: UnitOfWork, actor: Actor, query_id: int) -> DataQuery:
    access.require(actor, RAISERS, "closing a data query")
    q, _ = _query(uow.session, actor, query_id)
    if q.status != "answered":
        raise ConflictError(f"data query {query_id} is '{q.status}'; only an answered query can be closed")
    with access.workflow_reason(uow, f"data query {query_id} closed"):
        q.status = "closed"
        q.closed_by = actor.username
    return q


def query_dict(q: DataQuery, p: Participant) -> dict[str, Any]:
    return {"id": q.id, "participant_id": p.participant_id, "site": p.site_code, "table_name": q.table_name,
            "record_id": q.record_id, "field": q.field, "question": q.question, "status": q.status,
            "raised_by": q.raised_by, "raised_at": q.raised_at.strftime("%Y-%m-%d %H:%M"), "answer": q.answer,
            "answered_by": q.answered_by, "closed_by": q.closed_by}


def get_query(session: Session, actor: Actor, query_id: int) -> dict[str, Any]:
    access.require(actor, access.READ_ROLES, "reading data queries")
    return query_dict(*_query(session, actor, query_id))


def list_queries(session: Session, actor: Actor, *, status: str | None = None,
                 participant_id: str | None = None, page: Paging | None = None) -> list[dict[str, Any]]:
    access.require(actor, access.READ_ROLES, "reading data queries")
    stmt = select(DataQuery, Participant).join(Participant, Participant.id == DataQuery.participant_pk).where(
        DataQuery.trial_id == actor.trial_id)
    if actor.sites is not None:
        stmt = stmt.where(Participant.site_code.in_(sorted(actor.sites)))
    if status:
        stmt = stmt.where(DataQuery.status == status)
    if participant_id:
        stmt = stmt.where(Participant.participant_id == participant_id)
    return [query_dict(q, p) for q, p in session.execute(paged(session, stmt.order_by(DataQuery.id.desc()), page)).all()]
