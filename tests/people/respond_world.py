"""A SQLite store with children in both arms, each with a carer (e-mail), a teacher and, from 11, themself as
respondents, and their 6-month questionnaire links sent through the file mailer (tokens kept in memory)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from people_world import KEY, child_with_people
from trial_world import TRIAL, actor, add_users

from securebase.notify import FileMailer, FileSmsGateway
from securebase.protocol import load_protocol
from securebase.settings import Settings
from securebase.store import open_store
from securebase.trial import invitations
from securebase.trial.invitations import Channels
from securebase.trial.setup import create_trial


def build_respond_world(tmp: Path, *, url: str | None = None, children: int = 4) -> dict[str, Any]:
    url = url or f"sqlite:///{tmp / 'respond.db'}"
    store = open_store(url)
    with store.unit_of_work(actor="test-setup") as uow:
        create_trial(uow, load_protocol(TRIAL), seed=20261126)
        uow.commit()
    add_users(store)
    kids = []
    for i in range(children):
        kids.append(child_with_people(store, age=(9, 12)[i % 2], users=False, carer_email=f"carer{i}@example.org"))
    ch = Channels(FileMailer(tmp / "mail"), FileSmsGateway(tmp / "sms"), "http://testserver", KEY)
    with store.unit_of_work(actor="rec1") as uow:
        sent = invitations.send_invitations(uow, actor(store, "rec1"), ch)
        uow.commit()
    by_child: dict[str, list[dict[str, Any]]] = {}
    pk_to_child = {}
    with store.read() as s:
        from securebase.store.tables import Invitation, Participant

        for inv, p in s.query(Invitation, Participant).join(Participant, Participant.id == Invitation.participant_pk):
            pk_to_child[inv.id] = p.participant_id
    for link in sent.links:
        by_child.setdefault(pk_to_child[link["invitation"]], []).append(link)
    settings = Settings(database_url=url, encryption_key=KEY, secret_key="test-secret-respond-" + "x" * 40)
    return {"store": store, "settings": settings, "children": kids, "links": by_child, "channels": ch, "url": url}
