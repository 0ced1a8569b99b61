"""Questionnaires by link: invitations, reminders, and what a respondent's answers do.

For each scheduled questionnaire that a carer, teacher or young person answers, :func:`send_invitations`
makes a single-use link whose token is 256 random bits (``secrets.token_urlsafe(32)``); only its SHA-256 is
stored, with the scope (participant, visit, instrument, respondent type and person), an expiry (the end of
the visit window) and a status. It is sent by e-mail (SMTP) when the person has an address, otherwise by SMS.
Nothing in a link or a message identifies the child or the arm. :func:`send_reminders` sends a fresh link
inside the window (the earlier one keeps working until either is used to submit). A placement move revokes
the old carer's unused links (:func:`redirect_after_move`); the next run sends them to the new carer.

:func:`open_link` resolves a token (throttled: :mod:`securebase.trial.link_throttle`); :func:`save_answers`
saves a partial or complete questionnaire as the respondent (``respondent:CARER-0003`` in the audit trail),
records who answered (``questionnaire_respondents``), owes a thank-you voucher and audits the submission.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from securebase.errors import NotFound, SecurebaseError
from securebase.instruments import load_instrument
from securebase.instruments.ages import age_allows
from securebase.notify import Mailer, Message, SmsGateway, SmsMessage
from securebase.store import UnitOfWork
from securebase.store.tables import (
    Invitation,
    Participant,
    Person,
    QuestionnaireRespondent,
    Score,
    Visit,
    Voucher,
)
from securebase.trial import access
from securebase.trial.roles import Actor, Role

ONLINE_RESPONDENTS = ("carer", "teacher", "child")
VOUCHER_PENCE = 1000  # a £10 thank-you per submitted questionnaire
REMINDER_EVERY_DAYS = 7
MAX_REMINDERS = 2
LIVE = ("sent", "started")
TOKEN_CHARS = 43


class LinkNotUsable(SecurebaseError):
    """A link that is unknown, used, expired or withdrawn. ``kind`` says which, for the plain page."""

    http_status = 404

    def __init__(self, kind: str) -> None:
        self.kind = kind
        super().__init__({"unknown": "this link is not valid; check it was copied in full from the message",
                          "used": "this questionnaire has already been sent to us; thank you",
                          "expired": "this link has expired",
                          "revoked": "this link is no longer in use"}[kind])


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass
class SendResult:
    invitations: int = 0
    reminders: int = 0
    skipped_age: int = 0
    no_respondent: int = 0
    no_contact: int = 0
    links: list[dict[str, Any]] = field(default_factory=list)  # in memory only: for the demo's browser

    def to_dict(self) -> dict[str, Any]:
        return {"invitations": self.invitations, "reminders": self.reminders, "skipped_age": self.skipped_age,
                "no_respondent": self.no_respondent, "no_contact": self.no_contact}


@dataclass
class Channels:
    mailer: Mailer
    sms: SmsGateway
    base_url: str
    encryption_key: str


def _expiry(v: Visit) -> datetime:
    return datetime.combine(v.window_closes + timedelta(days=1), time(0, 0), tzinfo=UTC)


def _answered(session: Session, v: Visit, instrument: str, respondent: str) -> bool:
    return session.execute(select(Score.id).where(Score.visit_pk == v.id, Score.instrument == instrument,
                                                  Score.respondent == respondent).limit(1)).first() is not None


def _live(session: Session, v: Visit, instrument: str, respondent: str, now: datetime) -> list[Invitation]:
    return list(session.execute(select(Invitation).where(
        Invitation.visit_pk == v.id, Invitation.instrument == instrument, Invitation.respondent_type == respondent,
        Invitation.status.in_(LIVE), Invitation.expires_at > now).order_by(Invitation.id)).scalars())


def _deliver(uow: UnitOfWork, ch: Channels, person: Person, inv_kw: dict[str, Any], title: str, *,
             reminder: int, closes: date, result: SendResult) -> Invitation | None:
    from securebase.trial.people.contacts import contact_of

    contact = contact_of(uow.session, person.id, ch.encryption_key)
    token = new_token()
    url = f"{ch.base_url.rstrip('/')}/respond/{token}"
    greeting = f"Dear {contact['name']}," if contact.get("name") else "Hello,"
    what = "A reminder: a" if reminder else "A"
    body = (f"{greeting}\n\n{what} short questionnaire ({title}) is ready for you to fill in for the study. "
            f"Please use this link by {closes:%d %B %Y}:\n\n{url}\n\nThe link is for you only and works once. "
            "You can save your answers and come back to them using the same link.\n\nThank you.\n")
    if contact.get("email"):
        channel = "email"
        ch.mailer.send(Message(to=(contact["email"],), subject=("Reminder: " if reminder else "") +
                               "a study questionnaire for you", body=body))
    elif contact.get("mobile"):
        channel = "sms"
        ch.sms.send(SmsMessage(to=contact["mobile"].replace(" ", ""), text=(
            f"{'Reminder: a' if reminder else 'A'} study questionnaire is ready for you. Please fill it in by "
            f"{closes:%d %b %Y}: {url}")))
    else:
        result.no_contact += 1
        return None
    now = datetime.now(UTC)
    inv = Invitation(token_hash=hash_token(token), channel=channel, reminders_sent=reminder, last_sent_at=now,
                     status="sent", **inv_kw)
    uow.session.add(inv)
    uow.session.flush()
    result.links.append({"invitation": inv.id, "token": token, "url": url, "person": person.reference,
                         "instrument": inv.instrument, "reminder": reminder})
    return inv


def send_invitations(uow: UnitOfWork, actor: Actor, ch: Channels, *, on: date | None = None) -> SendResult:
    """Invite the current respondent to every open, unanswered, age-appropriate questionnaire without a live link."""
    from securebase.trial.people.links import age_on, respondent_for

    access.require(actor, {*access.RECRUITMENT_ROLES, Role.data_manager}, "sending questionnaire invitations")
    on = on or access.today()
    now = datetime.now(UTC)
    protocol = access.protocol_of(uow.session, actor.trial_id)
    result = SendResult()
    rows = uow.session.execute(select(Visit, Participant).join(Participant, Participant.id == Visit.participant_pk)
                               .where(Visit.trial_id == actor.trial_id, Visit.status.in_(("scheduled", "partial")),
                                      Visit.window_opens <= on, Visit.window_closes >= on,
                                      Participant.status.not_in(["withdrawn_follow_up", "withdrawn_data_use"]))
                               .order_by(Participant.participant_id, Visit.month)).all()
    for v, p in rows:
        if not actor.can_reach_site(p.site_code):
            continue
        for a in protocol.assessments_at(v.visit_id):
            if a.respondent.value not in ONLINE_RESPONDENTS:
                continue
            try:
                inst = load_instrument(a.instrument)
            except NotFound:
                continue
            if not age_allows(inst, age_on(p, on)):
                result.skipped_age += 1
                continue
            if _answered(uow.session, v, a.instrument, a.respondent.value) or \
                    _live(uow.session, v, a.instrument, a.respondent.value, now):
                continue
            person = respondent_for(uow.session, p.id, a.respondent.value, on)
            if person is None:
                result.no_respondent += 1
                continue
            kw = {"trial_id": p.trial_id, "participant_pk": p.id, "visit_pk": v.id, "instrument": a.instrument,
                  "respondent_type": a.respondent.value, "person_pk": person.id, "expires_at": _expiry(v)}
            with access.workflow_reason(uow, "questionnaire invitation sent"):
                if _deliver(uow, ch, person, kw, inst.label, reminder=0, closes=v.window_closes, result=result):
                    result.invitations += 1
    return result


def send_reminders(uow: UnitOfWork, actor: Actor, ch: Channels, *, on: date | None = None,
                   every_days: int = REMINDER_EVERY_DAYS, max_reminders: int = MAX_REMINDERS) -> SendResult:
    """Remind respondents who have not submitted, every ``every_days`` days while the visit window is open."""
    access.require(actor, {*access.RECRUITMENT_ROLES, Role.data_manager}, "sending reminders")
    on = on or access.today()
    now = datetime.now(UTC)
    result = SendResult()
    rows = uow.session.execute(select(Invitation, Visit).join(Visit, Visit.id == Invitation.visit_pk)
                               .where(Invitation.trial_id == actor.trial_id, Invitation.status.in_(LIVE),
                                      Invitation.expires_at > now, Visit.window_closes >= on,
                                      Visit.window_opens <= on).order_by(Invitation.id)).all()
    newest: dict[tuple[int, str, str], tuple[Invitation, Visit]] = {}
    for inv, v in rows:
        newest[(v.id, inv.instrument, inv.respondent_type)] = (inv, v)
    for inv, v in newest.values():
        sent = (inv.last_sent_at or inv.created_at).date()
        if inv.reminders_sent >= max_reminders or (on - sent).days < every_days:
            continue
        person = uow.session.get(Person, inv.person_pk)
        if person is None:
            continue
        kw = {"trial_id": inv.trial_id, "participant_pk": inv.participant_pk, "visit_pk": v.id,
              "instrument": inv.instrument, "respondent_type": inv.respondent_type, "person_pk": person.id,
              "expires_at": inv.expires_at}
        with access.workflow_reason(uow, "questionnaire reminder sent"):
            if _deliver(uow, ch, person, kw, load_instrument(inv.instrument).label, reminder=inv.reminders_sent + 1,
                        closes=v.window_closes, result=result):
                result.reminders += 1
    return result


def redirect_after_move(uow: UnitOfWork, p: Participant, old_carer_pks: list[int], on: date) -> int:
    """Revoke the unsubmitted carer links of the child's previous carer(s); returns how many."""
    if not old_carer_pks:
        return 0
    rows = uow.session.execute(select(Invitation).where(
        Invitation.participant_pk == p.id, Invitation.respondent_type == "carer",
        Invitation.person_pk.in_(old_carer_pks), Invitation.status.in_(LIVE))).scalars().all()
    with access.workflow_reason(uow, f"placement move on {on}: the next questionnaire goes to the new carer"):
        for inv in rows:
            inv.status = "revoked"
            inv.revoked_reason = "placement move"
    return len(rows)


def revoke(uow: UnitOfWork, actor: Actor, invitation_id: int, *, why: str) -> Invitation:
    access.require(actor, {*access.RECRUITMENT_ROLES, Role.data_manager}, "revoking a link")
    inv = uow.session.get(Invitation, invitation_id)
    if inv is None or inv.trial_id != actor.trial_id:
        raise NotFound(f"invitation {invitation_id} not found in trial '{actor.trial_id}'")
    with access.workflow_reason(uow, f"link revoked: {why}"):
        inv.status, inv.revoked_reason = "revoked", access.clean_text(why, "why", max_length=300)
    return inv


# --- the respondent's side -------------------------------------------------------------------------------

def well_formed(token: str) -> bool:
    return len(token) == TOKEN_CHARS and all(c.isalnum() or c in "-_" for c in token)


def find_invitation(session: Session, token: str) -> Invitation:
    """The invitation a token opens; :class:`LinkNotUsable` when unknown, used, expired or revoked."""
    if not well_formed(token):
        raise LinkNotUsable("unknown")
    inv = session.execute(select(Invitation).where(Invitation.token_hash == hash_token(token))).scalar_one_or_none()
    if inv is None:
        raise LinkNotUsable("unknown")
    if inv.status == "submitted" or (inv.status == "revoked" and inv.revoked_reason == "answered through another link"):
        raise LinkNotUsable("used")
    if inv.status == "revoked":
        raise LinkNotUsable("revoked")
    if inv.expires_at <= datetime.now(UTC):
        raise LinkNotUsable("expired")
    return inv


def _respondent_actor(session: Session, inv: Invitation) -> Actor:
    person = session.get(Person, inv.person_pk)
    return Actor.system(inv.trial_id, username=f"respondent:{person.reference if person else inv.person_pk}")


def _participant_id(session: Session, inv: Invitation) -> tuple[str, str]:
    p = session.get(Participant, inv.participant_pk)
    v = session.get(Visit, inv.visit_pk)
    assert p is not None and v is not None
    return p.participant_id, v.visit_id


def questionnaire(session: Session, inv: Invitation) -> dict[str, Any]:
    """What the respondent's page shows: the items and the answers saved so far (no trial ids, no arm)."""
    from securebase.trial.data_entry import form

    pid, vid = _participant_id(session, inv)
    f = form(session, _respondent_actor(session, inv), pid, vid, inv.instrument)
    inst = load_instrument(inv.instrument)
    return {"title": inst.title, "label": inst.label, "respondent": inv.respondent_type, "items": f["items"],
            "missing_codes": f["missing_codes"], "status": inv.status}


def save_answers(uow: UnitOfWork, token: str, answers: dict[str, Any], *, submit: bool) -> dict[str, Any]:
    """Save the respondent's answers (partial: ``submit=False``); on submit, score, record who answered, owe a
    voucher, retire the other links to the same questionnaire and audit the submission."""
    from securebase.trial.data_entry import save_responses

    inv = find_invitation(uow.session, token)
    actor = _respondent_actor(uow.session, inv)
    pid, vid = _participant_id(uow.session, inv)
    uow.audit.actor = actor.username
    uow.reason = f"answered online by the {inv.respondent_type} through a questionnaire link"
    given = {k: v for k, v in answers.items() if v not in (None, "")}
    result = save_responses(uow, actor, pid, vid, inv.instrument, given, complete=submit)
    now = datetime.now(UTC)
    if not submit:
        inv.status = "started"
        uow.session.flush()
        return {"saved": result.changed, "submitted": False}
    inv.status, inv.submitted_at = "submitted", now
    for other in uow.session.execute(select(Invitation).where(
            Invitation.visit_pk == inv.visit_pk, Invitation.instrument == inv.instrument,
            Invitation.respondent_type == inv.respondent_type, Invitation.id != inv.id,
            Invitation.status.in_(LIVE))).scalars():
        other.status, other.revoked_reason = "revoked", "answered through another link"
    record_respondent(uow, inv.participant_pk, inv.visit_pk, inv.instrument, inv.respondent_type,
                      person_pk=inv.person_pk, invitation_pk=inv.id)
    uow.session.add(Voucher(trial_id=inv.trial_id, person_pk=inv.person_pk, invitation_pk=inv.id,
                            amount_pence=VOUCHER_PENCE, status="owed"))
    person = uow.session.get(Person, inv.person_pk)
    uow.log_event("questionnaire_submitted", table_name="invitations", record_id=str(inv.id), trial_id=inv.trial_id,
                  participant_id=pid, detail={"respondent": person.reference if person else None,
                                              "respondent_type": inv.respondent_type, "visit": vid,
                                              "instrument": inv.instrument, "channel": inv.channel})
    uow.session.flush()
    return {"saved": result.changed, "submitted": True, "voucher_pence": VOUCHER_PENCE}


def record_respondent(uow: UnitOfWork, participant_pk: int, visit_pk: int, instrument: str, respondent_type: str, *,
                      person_pk: int | None, invitation_pk: int | None = None) -> QuestionnaireRespondent:
    """Store who answered a questionnaire (kept once per visit, instrument and respondent type)."""
    row = uow.session.execute(select(QuestionnaireRespondent).where(
        QuestionnaireRespondent.visit_pk == visit_pk, QuestionnaireRespondent.instrument == instrument,
        QuestionnaireRespondent.respondent_type == respondent_type)).scalar_one_or_none()
    if row is None:
        p = uow.session.get(Participant, participant_pk)
        assert p is not None
        row = QuestionnaireRespondent(trial_id=p.trial_id, participant_pk=participant_pk, visit_pk=visit_pk,
                                      instrument=instrument, respondent_type=respondent_type, person_pk=person_pk,
                                      invitation_pk=invitation_pk)
        uow.session.add(row)
        uow.session.flush()
    return row
