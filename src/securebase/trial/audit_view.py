"""The audit view of a participant, with allocation hidden from blinded roles."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from securebase.errors import NotFound, PermissionDenied
from securebase.store.tables import AuditRecord, Participant, User, UserRole
from securebase.trial.roles import Actor, Role

#: Tables whose rows reveal allocation (directly or as intervention-only fields).
ALLOCATION_TABLES = frozenset({"allocations", "randomisation_list", "unblinding_requests", "intervention_sessions"})
ALLOCATION_FIELDS = frozenset({"arm", "therapist", "sessions_attended", "sessions_offered", "complier"})
#: Confidential tables (safeguarding): their audit rows are shown only to the safeguarding lead and the chief
#: investigator, by every route (participant history, exports).
CONFIDENTIAL_TABLES = frozenset({"safeguarding_concerns", "safeguarding_follow_ups"})


def hides_confidential(actor: Actor, table: str) -> bool:
    """Whether an audit row of ``table`` must be withheld from ``actor`` (safeguarding confidentiality)."""
    from securebase.trial.roles import SAFEGUARDING_READERS

    return table in CONFIDENTIAL_TABLES and not actor.roles & SAFEGUARDING_READERS


def actor_for(session: Session, username: str, trial_id: str) -> Actor:
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None or not user.active:
        raise PermissionDenied(f"user '{username}' is unknown or inactive; ask a trial manager for access")
    roles = session.execute(select(UserRole).where(UserRole.user_id == user.id, UserRole.trial_id == trial_id)).scalars().all()
    if not roles:
        raise PermissionDenied(f"user '{username}' has no role on trial '{trial_id}'; ask a trial manager for access")
    sites: set[str] | None = set()
    for r in roles:
        if r.site_code is None:
            sites = None
            break
        sites.add(r.site_code)  # type: ignore[union-attr]
    return Actor(username, trial_id, frozenset(Role(r.role) for r in roles), frozenset(sites) if sites is not None else None)


def redact_for(actor: Actor, table: str, payload: str | None) -> str | None:
    """Hide allocation-revealing content from blinded roles."""
    if payload is None or actor.can_see_allocation():
        return payload
    data: Any = json.loads(payload)
    if isinstance(data, dict):
        data = {k: ("<blinded>" if k in ALLOCATION_FIELDS else v) for k, v in data.items()}
    return json.dumps(data, sort_keys=True)


def reveals_allocation(table: str, old: str | None, new: str | None) -> bool:
    """An audit row whose content implies the arm: a withdrawal from the intervention (only participants
    allocated to it can withdraw from it). Unparseable content counts as revealing, to be safe."""
    if table != "withdrawals":
        return False
    for side in (old, new):
        if side:
            try:
                if json.loads(side).get("level") == "intervention":
                    return True
            except (ValueError, AttributeError):
                return True
    return False


def participant_history(session: Session, participant_id: str, username: str) -> list[dict[str, Any]]:
    """A participant's audit rows as ``username`` may see them: reading roles only, own sites only, and
    nothing that reveals the allocation for blinded roles (by any route: CLI, pages, API).

    Every row is numbered ``entry`` 1..n over the rows this user may see. Only roles that may see the
    allocation also get ``seq``, the row's position in the global chain: for a blinded role its gaps would
    count the hidden allocation, randomisation and intervention-session rows, and so give away the arm."""
    from securebase.trial.access import READ_ROLES, require

    p = session.execute(select(Participant).where(Participant.participant_id == participant_id)).scalar_one_or_none()
    if p is None:
        raise NotFound(f"participant '{participant_id}' not found; check the trial ID")
    actor = actor_for(session, username, p.trial_id)
    require(actor, READ_ROLES, "reading the audit trail")
    if not actor.can_reach_site(p.site_code):
        raise NotFound(f"participant '{participant_id}' not found; check the trial ID")
    rows = session.execute(select(AuditRecord).where(AuditRecord.participant_id == participant_id)
                           .order_by(AuditRecord.seq)).scalars().all()
    out = []
    unblinded = actor.can_see_allocation()
    for r in rows:
        if hides_confidential(actor, r.table_name):
            continue
        if not unblinded and (r.table_name in ALLOCATION_TABLES or reveals_allocation(r.table_name, r.old, r.new)):
            continue
        row = {"entry": len(out) + 1, "at": r.at.strftime("%Y-%m-%d %H:%M:%S"), "actor": r.actor,
               "action": r.action, "table": r.table_name, "record": r.record_id,
               "old": redact_for(actor, r.table_name, r.old), "new": redact_for(actor, r.table_name, r.new),
               "reason": r.reason}
        if unblinded:  # the global chain position: its gaps would count the rows hidden from blinded roles
            row["seq"] = r.seq
        out.append(row)
    return out
