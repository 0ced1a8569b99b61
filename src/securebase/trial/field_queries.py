"""Data queries on the field: raised from an item on a form or from the participant page (the person picks
what the query is about; no table names or record numbers are typed), shown where the data are, with an
age on every open query and an e-mail to the people who must answer.

The query itself is a ``data_queries`` row (see :mod:`securebase.trial.queries`); this module finds the
record a choice points at, says it in words, and works out who to tell.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from securebase.errors import FieldError, InputError, NotFound
from securebase.store import UnitOfWork
from securebase.store.tables import (
    DataQuery,
    Event,
    Participant,
    Response,
    User,
    UserContact,
    UserRole,
    Visit,
)
from securebase.trial import access, queries
from securebase.trial.paging import Paging
from securebase.trial.roles import Actor

PARTICIPANT_FIELDS = {"sex": "Sex", "care_status": "Care status", "maltreatment_type": "Maltreatment type",
                      "enrolled_on": "Enrolled on", "age_years": "Age"}
VISIT_FIELDS = {"status": "outcome", "completed_on": "date of the visit", "missed_reason": "reason missed"}


def set_email(uow: UnitOfWork, actor: Actor, username: str, email: str) -> UserContact:
    """Record where ``username`` is told about data queries (trial manager or administrator)."""
    access.require(actor, {access.Role.trial_manager, access.Role.administrator}, "setting a user's e-mail")
    email = (email or "").strip()
    if "@" not in email or any(c in email for c in " ,;\r\n") or len(email) > 254:
        raise FieldError("email", email, "one e-mail address like name@example.org")
    user = uow.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user '{username}'; create the account first with `securebase user add`")
    row = uow.session.execute(select(UserContact).where(UserContact.user_id == user.id)).scalar_one_or_none()
    if row is None:
        row = UserContact(user_id=user.id, email=email)
        uow.session.add(row)
    else:
        with access.workflow_reason(uow, f"e-mail of {username} changed"):
            row.email = email
    uow.session.flush()
    return row


def item_target(session: Session, actor: Actor, participant_id: str, visit_id: str, instrument: str, item: str,
                entry: int = 1) -> tuple[str, int, str, str]:
    """(table, record id, field, words) for a saved answer on a form."""
    p = access.participant(session, actor, participant_id)
    r = session.execute(select(Response).join(Visit, Visit.id == Response.visit_pk).where(
        Visit.participant_pk == p.id, Visit.visit_id == visit_id, Response.instrument == instrument,
        Response.item == item, Response.entry == entry)).scalar_one_or_none()
    if r is None:
        raise NotFound(f"no answer to {instrument} item {item} is saved at visit {visit_id} for {participant_id}; "
                       "a query is raised on saved data")
    label = access.protocol_of(session, actor.trial_id).visit(visit_id).label
    return "responses", r.id, "value", f"{instrument} item {item} ({label})"


def targets(session: Session, actor: Actor, participant_id: str) -> list[tuple[str, str]]:
    """What a query from the participant page can be about: (choice value, words)."""
    p = access.participant(session, actor, participant_id)
    protocol = access.protocol_of(session, actor.trial_id)
    out = [(f"participants:{p.id}:{f}", f"Participant: {w}") for f, w in PARTICIPANT_FIELDS.items()]
    for v in session.execute(select(Visit).where(Visit.participant_pk == p.id).order_by(Visit.month)).scalars():
        label = protocol.visit(v.visit_id).label
        out += [(f"visits:{v.id}:{f}", f"Visit {label}: {w}") for f, w in VISIT_FIELDS.items()]
    for e in session.execute(select(Event).where(Event.participant_pk == p.id).order_by(Event.occurred_on)).scalars():
        out.append((f"events:{e.id}:occurred_on", f"Event {e.event_type.replace('_', ' ')} on {e.occurred_on}: date"))
    return out


def parse_choice(session: Session, actor: Actor, participant_id: str, choice: str) -> tuple[str, int, str, str]:
    words = dict(targets(session, actor, participant_id))
    if choice not in words:
        raise FieldError("about", choice or None, "one of the choices in the list", "choose what the query is about")
    table, rid, fld = choice.split(":")
    return table, int(rid), fld, words[choice]


def recipients(session: Session, trial_id: str, site_code: str) -> list[tuple[str, str]]:
    """(user name, e-mail) of the active users who answer queries at ``site_code`` and have an e-mail."""
    rows = session.execute(select(User.username, UserContact.email, UserRole.role, UserRole.site_code)
                           .join(UserContact, UserContact.user_id == User.id)
                           .join(UserRole, UserRole.user_id == User.id)
                           .where(UserRole.trial_id == trial_id, User.active.is_(True))).all()
    out = {}
    for username, email, role, site in rows:
        if role in {r.value for r in queries.ANSWERERS} and site in (None, site_code):
            out[username] = email
    return sorted(out.items())


def age(raised_at: datetime, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    if raised_at.tzinfo is None:
        raised_at = raised_at.replace(tzinfo=UTC)
    days = (now - raised_at).days
    if days >= 1:
        return f"{days} day{'s' if days != 1 else ''}"
    hours = int((now - raised_at).total_seconds() // 3600)
    return f"{hours} hour{'s' if hours != 1 else ''}" if hours else "under an hour"


def raise_on(uow: UnitOfWork, actor: Actor, participant_id: str, target: tuple[str, int, str, str], question: str,
             *, about: str) -> dict[str, Any]:
    """Raise the query on ``target`` (from :func:`item_target` or :func:`parse_choice`); returns the query and
    who must answer it (to be told by e-mail after the commit)."""
    table, rid, fld, words = target
    q = queries.raise_query(uow, actor, participant_id, table_name=table, record_id=rid, field=fld, question=question)
    p = access.participant(uow.session, actor, participant_id)
    return {"id": q.id, "about": words, "question": q.question, "participant_id": participant_id, "site": p.site_code,
            "to": recipients(uow.session, actor.trial_id, p.site_code), "path": about}


def notify(mailer: Any, raised: dict[str, Any], base_url: str) -> str:
    """E-mail the people who must answer; returns a sentence for the page (never raises for mail trouble)."""
    from securebase.notify import Message, NotificationFailed

    to = tuple(e for _, e in raised["to"])
    if not to:
        return "nobody at the site has an e-mail address recorded, so no one was e-mailed"
    body = (f"A data query needs your answer.\n\nParticipant: {raised['participant_id']} (site {raised['site']})\n"
            f"About: {raised['about']}\nQuestion: {raised['question']}\n\n"
            f"Answer it here: {base_url.rstrip('/')}{raised['path']}\n")
    try:
        mailer.send(Message(to=to, subject=f"Data query {raised['id']} on {raised['participant_id']}: {raised['about']}",
                            body=body))
    except (NotificationFailed, InputError) as exc:
        return f"the e-mail could not be sent ({exc.message}); tell the site another way"
    return "e-mailed " + ", ".join(u for u, _ in raised["to"])


def open_queries(session: Session, actor: Actor, participant_id: str) -> list[dict[str, Any]]:
    """The participant's queries with what each is about in words and the age of the open ones."""
    access.require(actor, access.READ_ROLES, "reading data queries")
    p = access.participant(session, actor, participant_id)
    protocol = access.protocol_of(session, actor.trial_id)
    out = []
    for q in session.execute(select(DataQuery).where(DataQuery.participant_pk == p.id).order_by(DataQuery.id)).scalars():
        out.append({"id": q.id, "about": describe(session, protocol, q), "question": q.question, "status": q.status,
                    "age": age(q.raised_at) if q.status != "closed" else "", "table": q.table_name,
                    "record_id": q.record_id, "raised_by": q.raised_by})
    return out


def describe(session: Session, protocol: Any, q: DataQuery) -> str:
    if q.table_name == "responses":
        r = session.get(Response, q.record_id)
        v = session.get(Visit, r.visit_pk) if r is not None else None
        if r is not None and v is not None:
            return f"{r.instrument} item {r.item} ({protocol.visit(v.visit_id).label})"
    if q.table_name == "participants":
        return f"Participant: {PARTICIPANT_FIELDS.get(q.field, q.field.replace('_', ' '))}"
    if q.table_name == "visits":
        v = session.get(Visit, q.record_id)
        if v is not None:
            return f"Visit {protocol.visit(v.visit_id).label}: {VISIT_FIELDS.get(q.field, q.field)}"
    return f"{q.table_name.rstrip('s')} {q.field.replace('_', ' ')}"


def item_queries(session: Session, actor: Actor, participant_id: str, visit_id: str,
                 instrument: str) -> dict[str, list[dict[str, str]]]:
    """Open (not closed) queries of a form, by item code, for showing beside the item."""
    p = access.participant(session, actor, participant_id)
    rows = session.execute(select(DataQuery, Response.item).join(Response, Response.id == DataQuery.record_id)
                           .join(Visit, Visit.id == Response.visit_pk)
                           .where(DataQuery.participant_pk == p.id, DataQuery.table_name == "responses",
                                  DataQuery.status != "closed", Visit.visit_id == visit_id,
                                  Response.instrument == instrument)).all()
    out: dict[str, list[dict[str, str]]] = {}
    for q, item in rows:
        out.setdefault(item, []).append({"text": f"{q.question} [{q.status}]", "age": age(q.raised_at)})
    return out


__all__ = ["Participant", "age", "item_queries", "item_target", "notify", "open_queries", "parse_choice", "raise_on",
           "recipients", "set_email", "targets"]


def listing(session: Session, actor: Actor, *, status: str | None = None,
            page: Paging | None = None) -> list[dict[str, Any]]:
    """The queries the actor may see (a page of them with ``page``), with what each is about in words and the
    age of open ones."""
    protocol = access.protocol_of(session, actor.trial_id)
    out = []
    for q in queries.list_queries(session, actor, status=status, page=page):
        dq = session.get(DataQuery, q["id"])
        out.append(q | {"about": describe(session, protocol, dq),
                        "age": age(dq.raised_at) if q["status"] != "closed" else ""})
    return out


def one(session: Session, actor: Actor, query_id: int) -> dict[str, Any]:
    q = queries.get_query(session, actor, query_id)
    dq = session.get(DataQuery, query_id)
    return q | {"about": describe(session, access.protocol_of(session, actor.trial_id), dq),
                "age": age(dq.raised_at) if q["status"] != "closed" else ""}
