"""The audit view served by the web: ``trial.audit_view.participant_history`` for a participant of the
actor's own trial and sites, with intervention-level withdrawals also hidden from blinded roles (only
participants in the intervention arm can withdraw from the intervention, so the row would unblind)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from securebase.trial import access
from securebase.trial.audit_view import participant_history
from securebase.trial.roles import Actor


def participant_audit(session: Session, actor: Actor, participant_id: str) -> list[dict[str, Any]]:
    access.require(actor, access.READ_ROLES, "reading the audit trail")
    access.participant(session, actor, participant_id)
    return participant_history(session, participant_id, actor.username)  # filters for blinded roles
