"""Safeguarding concerns: raised by anyone on the team, signed off and followed up by the safeguarding lead.

A concern records where it came from (a visit, a video, a questionnaire item, an intervention session, a phone
call), what was seen or said, the immediate action, the referral to the local authority's front door (date,
time, reference) and the lead's sign-off and follow-up. The clock runs from the moment it was raised: the lead
signs off within ``safety.safeguarding_sign_off_hours`` of the protocol.

Confidentiality: a concern is visible only to the safeguarding lead, the chief investigator and the person who
raised it; to anyone else it does not exist (NotFound, as for an unknown id). Nothing here reads or shows the
allocation, so what a blinded raiser sees cannot vary with the arm. Every step is a row change and so is in
the hash-chained audit trail (whose views drop these rows for everyone but the lead and the CI).

Raising sends an alert to each safeguarding lead with an e-mail address (:func:`set_contact`) through the
``Mailer`` given; the alert names the concern and participant trial ID, never what was said. A failed alert
does not lose the concern: its error is kept on the concern, shown on the lead's task list, and
:func:`resend_alerts` retries.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from securebase.errors import ConflictError, FieldError, NotFound, PermissionDenied
from securebase.notify import Mailer, Message, NotificationFailed
from securebase.store import UnitOfWork
from securebase.store.tables import (
    Participant,
    SafeguardingConcern,
    SafeguardingFollowUp,
    SafetyContact,
    User,
    UserRole,
)
from securebase.trial import access
from securebase.trial.roles import SAFEGUARDING_READERS, SAFEGUARDING_SIGN_OFF, Actor, Role

SOURCES = {"visit": "Assessment visit", "video": "Video recording", "questionnaire_item": "Questionnaire answer",
           "intervention_session": "Intervention session", "phone_call": "Phone call"}
#: What a blinded reader (other than the raiser) sees instead of a source that implies the arm.
WITHHELD_SOURCE = "Contact with the trial team (source withheld from blinded roles)"
TABLE = "safeguarding_concerns"


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)


def reference(concern_id: int) -> str:
    return f"SG-{concern_id:04d}"


def parse_datetime(value: datetime | str | None, field: str) -> datetime:
    """A timestamp written ``YYYY-MM-DDTHH:MM`` (UTC unless it carries an offset)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not value or not str(value).strip():
        raise FieldError(field, value, "a date and time (YYYY-MM-DD HH:MM, UTC)", "enter when it happened")
    try:
        got = datetime.fromisoformat(str(value).strip().replace(" ", "T"))
    except ValueError:
        raise FieldError(field, value, "a date and time written YYYY-MM-DD HH:MM (UTC)",
                         "for example 2026-11-26 14:30") from None
    return got if got.tzinfo else got.replace(tzinfo=UTC)


def set_contact(uow: UnitOfWork, actor: Actor, username: str, email: str) -> SafetyContact:
    """Record where ``username``'s safety alerts go on this trial (the person themselves or a trial manager)."""
    if actor.username != username:
        access.require(actor, frozenset({Role.trial_manager, Role.administrator}), "setting another user's e-mail")
    email = email.strip()
    if "@" not in email or any(c in email for c in "\r\n ,;") or len(email) > 254:
        raise FieldError("email", email, "one e-mail address like name@example.org", "correct the address")
    found = uow.session.execute(select(SafetyContact).where(SafetyContact.trial_id == actor.trial_id,
                                                            SafetyContact.username == username)).scalar_one_or_none()
    if found is None:
        found = SafetyContact(trial_id=actor.trial_id, username=username, email=email)
        uow.session.add(found)
    else:
        with access.workflow_reason(uow, "e-mail address for safety alerts updated"):
            found.email = email
    uow.session.flush()
    return found


def _lead_addresses(session: Session, trial_id: str, site_code: str) -> list[str]:
    rows = session.execute(
        select(SafetyContact.email, UserRole.site_code)
        .join(User, User.username == SafetyContact.username)
        .join(UserRole, (UserRole.user_id == User.id) & (UserRole.trial_id == trial_id))
        .where(SafetyContact.trial_id == trial_id, UserRole.role == Role.safeguarding_lead.value,
               User.active.is_(True))).all()
    return sorted({email for email, site in rows if site is None or site == site_code})


def _due(session: Session, concern: SafeguardingConcern) -> datetime:
    hours = access.protocol_of(session, concern.trial_id).safety.safeguarding_sign_off_hours
    return concern.raised_at + timedelta(hours=hours)


def _send_alert(uow: UnitOfWork, concern: SafeguardingConcern, participant_id: str, site_code: str,
                mailer: Mailer | None, base_url: str) -> None:
    """Alert the leads; record the outcome on the concern (and so in the audit trail)."""
    to = _lead_addresses(uow.session, concern.trial_id, site_code)
    error = None
    message_id = None
    if mailer is None:
        error = "no mailer configured; set SECUREBASE_SMTP_HOST or SECUREBASE_MAIL_OUTBOX"
    elif not to:
        error = (f"no safeguarding lead of trial '{concern.trial_id}' for site {site_code} has an e-mail address; "
                 "a trial manager adds one on the safeguarding page")
    else:
        ref = reference(concern.id)
        link = f"{base_url.rstrip('/')}/trials/{concern.trial_id}/safeguarding/{concern.id}"
        body = (f"A safeguarding concern was raised and needs your sign-off.\n\n"
                f"Concern: {ref}\nTrial: {concern.trial_id}\nParticipant: {participant_id} (site {site_code})\n"
                f"Source: {SOURCES[concern.source]}\nRaised by: {concern.raised_by}\n"
                f"Raised at: {concern.raised_at:%Y-%m-%d %H:%M} UTC\n"
                f"Sign off by: {_due(uow.session, concern):%Y-%m-%d %H:%M} UTC\n\n"
                f"Open the concern (log-in needed): {link}\n\n"
                "What was seen or said is not in this e-mail; read it in securebase.\n")
        try:
            message_id = mailer.send(Message(tuple(to), f"Safeguarding concern {ref} ({concern.trial_id}): "
                                                        "sign-off needed", body))
        except NotificationFailed as exc:
            error = exc.message
    with access.workflow_reason(uow, "safeguarding alert " + ("sent" if error is None else "failed")):
        if error is None:
            concern.alert_sent_at = datetime.now(UTC)
            concern.alert_message_id = message_id
            concern.alert_error = None
        else:
            concern.alert_error = error
    uow.log_event("safeguarding_alert_sent" if error is None else "safeguarding_alert_failed", table_name=TABLE,
                  record_id=str(concern.id), trial_id=concern.trial_id, participant_id=participant_id,
                  detail={"to": to, "message_id": message_id, "error": error})


def raise_concern(uow: UnitOfWork, actor: Actor, participant_id: str, *, source: str, what_seen_or_said: str,
                  immediate_action: str = "", source_detail: str = "", mailer: Mailer | None = None,
                  base_url: str = "", now: datetime | None = None) -> SafeguardingConcern:
    """Anyone with a role on the trial (blinded roles too) raises a concern about a participant they can reach."""
    if not actor.roles:
        access.require(actor, frozenset(Role), "raising a safeguarding concern")
    uow.ensure_unlocked(actor.trial_id)
    p = access.participant(uow.session, actor, participant_id)
    if source not in SOURCES:
        raise FieldError("source", source, "one of " + ", ".join(SOURCES), "say where the concern came from")
    what = access.clean_text(what_seen_or_said, "what_seen_or_said", max_length=10000).strip()
    if not what:
        raise FieldError("what_seen_or_said", what_seen_or_said, "a description of what was seen or said",
                         "write it down in the words used, as soon as you can")
    concern = SafeguardingConcern(
        trial_id=actor.trial_id, participant_pk=p.id, source=source,
        source_detail=access.clean_text(source_detail, "source_detail", max_length=500).strip(),
        what_seen_or_said=what, immediate_action=access.clean_text(immediate_action, "immediate_action",
                                                                   max_length=5000).strip(),
        raised_by=actor.username, raised_at=_now(now), status="open")
    uow.session.add(concern)
    uow.session.flush()
    _send_alert(uow, concern, p.participant_id, p.site_code, mailer, base_url)
    return concern


def _visible(session: Session, actor: Actor, concern_id: int | str) -> tuple[SafeguardingConcern, Participant]:
    try:
        cid = int(str(concern_id).removeprefix("SG-"))
    except ValueError:
        raise NotFound(f"safeguarding concern '{concern_id}' not found; check the reference (e.g. SG-0001)") from None
    row = session.execute(select(SafeguardingConcern, Participant)
                          .join(Participant, Participant.id == SafeguardingConcern.participant_pk)
                          .where(SafeguardingConcern.id == cid,
                                 SafeguardingConcern.trial_id == actor.trial_id)).first()
    if row is None:
        raise NotFound(f"safeguarding concern '{concern_id}' not found in trial '{actor.trial_id}'; check the reference")
    concern, p = row
    reader = bool(actor.roles & SAFEGUARDING_READERS) and actor.can_reach_site(p.site_code)
    if not (reader or concern.raised_by == actor.username):
        raise NotFound(f"safeguarding concern '{concern_id}' not found in trial '{actor.trial_id}'; check the reference")
    return concern, p


def _require_sign_off_role(actor: Actor, doing: str) -> None:
    if not actor.roles & SAFEGUARDING_SIGN_OFF:
        have = ", ".join(sorted(r.value for r in actor.roles)) or "none"
        raise PermissionDenied(f"signed_off_by: {doing} needs the role safeguarding_lead on trial "
                               f"'{actor.trial_id}' (user '{actor.username}' has: {have}); ask the trial's "
                               "designated safeguarding lead to do it")


def record_referral(uow: UnitOfWork, actor: Actor, concern_id: int | str, *, made: bool, to: str = "",
                    at: datetime | str | None = None, reference_number: str = "",
                    now: datetime | None = None) -> SafeguardingConcern:
    """The referral to the local authority's front door (by the lead or the raiser), or that none was made."""
    uow.ensure_unlocked(actor.trial_id)
    concern, _ = _visible(uow.session, actor, concern_id)
    if concern.raised_by != actor.username:
        _require_sign_off_role(actor, "recording the referral of someone else's concern")
    when = None
    if made:
        when = parse_datetime(at, "referral_at")
        if when < concern.raised_at.replace(second=0, microsecond=0):  # people enter times to the minute
            raise FieldError("referral_at", when.strftime("%Y-%m-%d %H:%M"),
                             f"a time not before the concern was raised ({concern.raised_at:%Y-%m-%d %H:%M} UTC)",
                             "a referral for this concern follows its raising; check the date and time")
        if when > _now(now) + timedelta(minutes=5):
            raise FieldError("referral_at", when.strftime("%Y-%m-%d %H:%M"),
                             f"a time not in the future (now {_now(now):%Y-%m-%d %H:%M} UTC)", "record what has happened")
        if not to.strip():
            raise FieldError("referral_to", to, "the local authority front door referred to (e.g. 'LA01 MASH')")
        if not reference_number.strip():
            raise FieldError("referral_reference", reference_number, "the reference the front door gave",
                             "ask the front door for their reference; record 'none given' if they gave none")
    with access.workflow_reason(uow, "safeguarding referral recorded"):
        concern.referral_made = made
        concern.referral_to = access.clean_text(to, "referral_to", max_length=500).strip() or None
        concern.referral_at = when
        concern.referral_reference = access.clean_text(reference_number, "referral_reference",
                                                       max_length=120).strip() or None
    return concern


def sign_off(uow: UnitOfWork, actor: Actor, concern_id: int | str, *, assessment: str,
             now: datetime | None = None) -> SafeguardingConcern:
    """The lead's sign-off: their assessment of the concern and of the action taken."""
    uow.ensure_unlocked(actor.trial_id)
    concern, _ = _visible(uow.session, actor, concern_id)
    _require_sign_off_role(actor, "signing off a safeguarding concern")
    if concern.status != "open":
        raise ConflictError(f"concern {reference(concern.id)} was already signed off by {concern.signed_off_by}; "
                            "add a follow-up note instead")
    text = access.clean_text(assessment, "lead_assessment", max_length=10000).strip()
    if not text:
        raise FieldError("lead_assessment", assessment, "the lead's assessment and decision",
                         "say whether a referral was needed and what happens next")
    if concern.referral_made is None:
        raise FieldError("referral_made", None, "recorded (a referral with date, time and reference, or none made)",
                         "record the referral decision before signing off")
    with access.workflow_reason(uow, "safeguarding concern signed off"):
        concern.status = "signed_off"
        concern.signed_off_by = actor.username
        concern.signed_off_at = _now(now)
        concern.lead_assessment = text
    return concern


def add_follow_up(uow: UnitOfWork, actor: Actor, concern_id: int | str, note: str, *, close: bool = False,
                  now: datetime | None = None) -> SafeguardingFollowUp:
    """A follow-up note by the lead; ``close`` ends the concern (only after sign-off)."""
    uow.ensure_unlocked(actor.trial_id)
    concern, _ = _visible(uow.session, actor, concern_id)
    _require_sign_off_role(actor, "following up a safeguarding concern")
    text = access.clean_text(note, "note", max_length=10000).strip()
    if not text:
        raise FieldError("note", note, "what was done or learned since", "write the follow-up")
    fu = SafeguardingFollowUp(trial_id=actor.trial_id, concern_id=concern.id, note=text, recorded_by=actor.username,
                              recorded_at=_now(now))
    uow.session.add(fu)
    if close:
        if concern.status != "signed_off":
            raise ConflictError(f"concern {reference(concern.id)} is '{concern.status}'; sign it off before closing it")
        with access.workflow_reason(uow, "safeguarding concern closed"):
            concern.status = "closed"
            concern.closed_at = _now(now)
    uow.session.flush()
    return fu


def _as_dict(session: Session, actor: Actor, c: SafeguardingConcern, p: Participant, now: datetime | None,
             follow_ups: bool = True) -> dict[str, Any]:
    due = _due(session, c)
    source_label = SOURCES[c.source]
    source = c.source
    if c.source == "intervention_session" and not actor.can_see_allocation() and c.raised_by != actor.username:
        source, source_label = "withheld", WITHHELD_SOURCE
    end = c.signed_off_at or _now(now)
    out: dict[str, Any] = {
        "id": c.id, "reference": reference(c.id), "participant_id": p.participant_id, "site": p.site_code,
        "source": source, "source_label": source_label, "source_detail": c.source_detail,
        "what_seen_or_said": c.what_seen_or_said, "immediate_action": c.immediate_action, "raised_by": c.raised_by,
        "raised_at": c.raised_at.strftime("%Y-%m-%d %H:%M"), "status": c.status,
        "referral_made": c.referral_made, "referral_to": c.referral_to,
        "referral_at": c.referral_at.strftime("%Y-%m-%d %H:%M") if c.referral_at else None,
        "referral_reference": c.referral_reference, "signed_off_by": c.signed_off_by,
        "signed_off_at": c.signed_off_at.strftime("%Y-%m-%d %H:%M") if c.signed_off_at else None,
        "lead_assessment": c.lead_assessment, "sign_off_due_at": due.strftime("%Y-%m-%d %H:%M"),
        "hours_since_raised": round((end - c.raised_at).total_seconds() / 3600, 1),
        "overdue": c.status == "open" and _now(now) > due,
        "alert": "sent" if c.alert_sent_at else f"not sent: {c.alert_error}",
    }
    if follow_ups:
        out["follow_ups"] = [{"note": f.note, "recorded_by": f.recorded_by,
                              "recorded_at": f.recorded_at.strftime("%Y-%m-%d %H:%M")}
                             for f in session.execute(select(SafeguardingFollowUp)
                                                      .where(SafeguardingFollowUp.concern_id == c.id)
                                                      .order_by(SafeguardingFollowUp.id)).scalars()]
    return out


def get_concern(session: Session, actor: Actor, concern_id: int | str, *, now: datetime | None = None) -> dict[str, Any]:
    """One concern as ``actor`` may see it (NotFound for anyone but the lead, the CI and the raiser)."""
    c, p = _visible(session, actor, concern_id)
    return _as_dict(session, actor, c, p, now)


def _listing(session: Session, actor: Actor, stmt: Any, now: datetime | None) -> list[dict[str, Any]]:
    rows = session.execute(stmt.join(Participant, Participant.id == SafeguardingConcern.participant_pk)
                           .where(SafeguardingConcern.trial_id == actor.trial_id)
                           .order_by(SafeguardingConcern.raised_at, SafeguardingConcern.id)).all()
    return [_as_dict(session, actor, c, p, now, follow_ups=False) for c, p in rows
            if actor.can_reach_site(p.site_code) or c.raised_by == actor.username]


def task_list(session: Session, actor: Actor, *, now: datetime | None = None,
              include_closed: bool = False) -> list[dict[str, Any]]:
    """The safeguarding lead's (and CI's) list: concerns not yet closed, oldest first, with their clocks."""
    if not actor.roles & SAFEGUARDING_READERS:
        access.require(actor, SAFEGUARDING_READERS, "the safeguarding task list")
    stmt = select(SafeguardingConcern, Participant)
    if not include_closed:
        stmt = stmt.where(SafeguardingConcern.status != "closed")
    return _listing(session, actor, stmt, now)


def raised_by_me(session: Session, actor: Actor, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """The concerns this user raised (any role)."""
    return _listing(session, actor, select(SafeguardingConcern, Participant)
                    .where(SafeguardingConcern.raised_by == actor.username), now)


def resend_alerts(uow: UnitOfWork, actor: Actor, mailer: Mailer, *, base_url: str = "") -> int:
    """Retry the alerts that failed; returns how many were sent now."""
    if not actor.has(Role.trial_manager, Role.administrator):
        _require_sign_off_role(actor, "re-sending safeguarding alerts")
    rows = uow.session.execute(select(SafeguardingConcern, Participant)
                               .join(Participant, Participant.id == SafeguardingConcern.participant_pk)
                               .where(SafeguardingConcern.trial_id == actor.trial_id,
                                      SafeguardingConcern.alert_sent_at.is_(None))).all()
    sent = 0
    for c, p in rows:
        _send_alert(uow, c, p.participant_id, p.site_code, mailer, base_url)
        sent += c.alert_sent_at is not None
    return sent


def concern_counts(session: Session, trial_id: str) -> dict[str, int]:
    """Counts only (no details, no arm): for the open and closed reports."""
    rows = session.execute(select(SafeguardingConcern.status, SafeguardingConcern.referral_made)
                           .where(SafeguardingConcern.trial_id == trial_id)).all()
    return {"raised": len(rows), "referred": sum(1 for _, r in rows if r),
            "signed_off": sum(1 for s, _ in rows if s in ("signed_off", "closed")),
            "closed": sum(1 for s, _ in rows if s == "closed")}


__all__ = ["SOURCES", "add_follow_up", "concern_counts", "get_concern", "raise_concern", "raised_by_me",
           "record_referral", "resend_alerts", "set_contact", "sign_off", "task_list"]
