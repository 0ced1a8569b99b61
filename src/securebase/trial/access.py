"""Shared checks of the trial services: roles, sites, the trial's protocol, participants by trial ID.

Site isolation: a participant, screening record or query of a site the actor cannot reach is reported as
*not found* (HTTP 404), exactly like an ID that does not exist, so that guessing IDs reveals nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from securebase.errors import BlindingError, FieldError, NotFound, PermissionDenied
from securebase.protocol import Protocol, protocol_from_yaml_text
from securebase.store import UnitOfWork
from securebase.store.tables import Participant, ScreeningRecord, Site, Trial
from securebase.trial.roles import Actor, Role

#: Who may screen, take consent, enrol and record withdrawals (site staff and the trial team).
RECRUITMENT_ROLES = frozenset({Role.site_recruiter, Role.trial_manager, Role.administrator})
#: Who works with visits (schedules, outcomes).
VISIT_ROLES = frozenset({Role.outcome_assessor, Role.coder, Role.site_recruiter, Role.trial_manager,
                         Role.data_manager, Role.administrator})
#: Who enters instrument data.
DATA_ENTRY_ROLES = frozenset({Role.outcome_assessor, Role.coder, Role.site_recruiter, Role.data_manager,
                              Role.trial_manager, Role.administrator})
#: Who records events (placement changes, maltreatment, serious adverse events, school records).
EVENT_ROLES = frozenset({Role.site_recruiter, Role.outcome_assessor, Role.data_manager, Role.trial_manager,
                         Role.administrator})
#: Who reads participant-level trial data (pseudonymous) at all.
READ_ROLES = frozenset(set(Role) - {Role.health_economist, Role.qualitative_researcher, Role.dmc_member})

_PROTOCOLS: dict[str, Protocol] = {}


def today() -> date:
    return datetime.now(UTC).date()


def require(actor: Actor, roles: frozenset[Role] | set[Role], doing: str) -> None:
    """Raise PermissionDenied unless the actor holds one of ``roles`` on the trial."""
    if not actor.roles & set(roles):
        need = ", ".join(sorted(r.value for r in roles))
        have = ", ".join(sorted(r.value for r in actor.roles)) or "none"
        raise PermissionDenied(f"{doing} needs one of the roles {need} on trial '{actor.trial_id}' "
                               f"(user '{actor.username}' has: {have}); ask a trial manager for access")


def require_unblinded(actor: Actor, doing: str) -> None:
    """Raise BlindingError for blinded roles. The message names no allocation."""
    if not actor.can_see_allocation():
        raise BlindingError(f"{doing} is not available to blinded roles (user '{actor.username}'); "
                            "it would reveal allocation. Ask the trial manager if you need it")


def require_site(actor: Actor, site_code: str) -> None:
    if not actor.can_reach_site(site_code):
        raise PermissionDenied(f"user '{actor.username}' has no access to site '{site_code}' "
                               f"(sites: {', '.join(sorted(actor.sites or ()))}); ask a trial manager for access")


def protocol_of(session: Session, trial_id: str) -> Protocol:
    """The protocol stored with the trial (parsed once per protocol text)."""
    text = session.execute(select(Trial.protocol_yaml).where(Trial.id == trial_id)).scalar_one_or_none()
    if text is None:
        raise NotFound(f"trial '{trial_id}' is not in this store; check the trial id")
    key = trial_id + ":" + hashlib.sha256(text.encode("utf-8")).hexdigest()
    if key not in _PROTOCOLS:
        _PROTOCOLS[key] = protocol_from_yaml_text(text, f"trial {trial_id}")
    return _PROTOCOLS[key]


def check_site_exists(session: Session, trial_id: str, site_code: str) -> Site:
    site = session.execute(select(Site).where(Site.trial_id == trial_id, Site.code == site_code)).scalar_one_or_none()
    if site is None:
        codes = session.execute(select(Site.code).where(Site.trial_id == trial_id).order_by(Site.code)).scalars().all()
        raise FieldError("site", site_code, f"one of the sites of trial '{trial_id}' ({', '.join(codes)})",
                         "check the site code")
    return site


def participant(session: Session, actor: Actor, participant_id: str) -> Participant:
    """The actor's trial's participant by trial ID; NotFound if absent or at a site the actor cannot reach."""
    p = session.execute(select(Participant).where(Participant.trial_id == actor.trial_id,
                                                  Participant.participant_id == participant_id)).scalar_one_or_none()
    if p is None or not actor.can_reach_site(p.site_code):
        raise NotFound(f"participant '{participant_id}' not found in trial '{actor.trial_id}'; check the trial ID")
    return p


def screening(session: Session, actor: Actor, screening_number: str) -> ScreeningRecord:
    rec = session.execute(select(ScreeningRecord).where(
        ScreeningRecord.trial_id == actor.trial_id,
        ScreeningRecord.screening_number == screening_number)).scalar_one_or_none()
    if rec is None or not actor.can_reach_site(rec.site_code):
        raise NotFound(f"screening record '{screening_number}' not found in trial '{actor.trial_id}'; "
                       "check the screening number (e.g. SCR-LA01-0001)")
    return rec


def sites_filter(actor: Actor) -> frozenset[str] | None:
    return actor.sites


@contextmanager
def workflow_reason(uow: UnitOfWork, text: str) -> Iterator[None]:
    """Changes made inside are workflow steps (status moves), audited with ``text`` as their reason.

    Pending changes are flushed first, so a data correction made earlier in the same unit of work still
    needs the person's own reason (the store checks it at that flush).
    """
    uow.session.flush()
    before = uow.reason
    if not before:
        uow.reason = text
    try:
        yield
        uow.session.flush()
    finally:
        uow.reason = before


_CONTROL = {chr(c) for c in range(32)} - {"\t", "\n", "\r"} | {"\x7f"}


def clean_text(value: str, field: str, *, max_length: int = 2000) -> str:
    """Free text as stored: no control characters (they break exports such as XML), bounded length."""
    text = str(value)
    bad = sorted({repr(ch) for ch in text if ch in _CONTROL})
    if bad:
        raise FieldError(field, text[:40], "text without control characters (found " + ", ".join(bad) + ")",
                         "retype the value; it may have been pasted from another program")
    if len(text) > max_length:
        raise FieldError(field, text[:40] + "...", f"at most {max_length} characters (got {len(text)})")
    return text


def parse_date(value: date | str | None, field: str, default: date | None = None) -> date:
    if value is None or value == "":
        if default is None:
            raise FieldError(field, value, "a date (YYYY-MM-DD)", "enter the date")
        return default
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise FieldError(field, value, "a date written YYYY-MM-DD", "for example 2026-11-26") from None


def not_future(d: date, field: str) -> date:
    if d > today():
        raise FieldError(field, d.isoformat(), f"a date not after today ({today().isoformat()})",
                         "record things that have happened")
    return d
