"""The intervention delivery log: sessions offered and attended, therapist and fidelity, and compliance.

Only roles that may see allocation read or write it (the log exists only for the intervention arm).
Compliance for the complier-average causal effect: a participant complies when the sessions attended reach
the protocol arm's ``compliance_threshold_sessions``. The fidelity rating is the session checklist score,
1 (not delivered as intended) to 5 (fully as the manual describes).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from securebase.errors import ConflictError, FieldError
from securebase.store import UnitOfWork
from securebase.store.tables import Allocation, InterventionSession, Participant, Withdrawal
from securebase.trial import access
from securebase.trial.roles import Actor, Role

DELIVERY_ROLES = frozenset({Role.site_recruiter, Role.trial_manager, Role.administrator})
FIDELITY_RANGE = (1.0, 5.0)


def _intervention_participant(session: Session, actor: Actor, participant_id: str) -> Participant:
    access.require_unblinded(actor, "the intervention delivery log")
    p = access.participant(session, actor, participant_id)
    arm = session.execute(select(Allocation.arm).where(Allocation.participant_pk == p.id)).scalar_one_or_none()
    protocol = access.protocol_of(session, actor.trial_id)
    if arm is None:
        raise ConflictError(f"{participant_id} has not been randomised; the delivery log starts after randomisation")
    if arm != protocol.intervention_arm.id:
        raise ConflictError(f"{participant_id} is not in the '{protocol.intervention_arm.id}' arm; "
                            "sessions are logged for that arm only")
    return p


def record_session(uow: UnitOfWork, actor: Actor, participant_id: str, *, session_number: int,
                   offered_on: date | str, attended: bool, therapist: str, duration_minutes: float = 90.0,
                   fidelity_rating: float | None = None) -> InterventionSession:
    """Log one offered session (attended or not)."""
    access.require_unblinded(actor, "the intervention delivery log")
    access.require(actor, DELIVERY_ROLES, "logging an intervention session")
    uow.ensure_unlocked(actor.trial_id)
    p = _intervention_participant(uow.session, actor, participant_id)
    stopped = uow.session.execute(select(Withdrawal.withdrawn_on).where(
        Withdrawal.participant_pk == p.id, Withdrawal.level.in_(["intervention", "data_use"]))).scalars().first()
    on = access.not_future(access.parse_date(offered_on, "offered_on"), "offered_on")
    if stopped is not None and on > stopped:
        raise ConflictError(f"{participant_id} withdrew from the intervention on {stopped.isoformat()}; "
                            "no later session can be logged")
    if not isinstance(session_number, int) or not 1 <= session_number <= 100:
        raise FieldError("session_number", session_number, "a whole number from 1 to 100")
    if not (therapist or "").strip():
        raise FieldError("therapist", therapist, "the therapist or group code", "for example LA01-T1")
    therapist = access.clean_text(therapist, "therapist", max_length=64)
    allocated = uow.session.execute(select(Allocation.allocated_on).where(
        Allocation.participant_pk == p.id)).scalar_one_or_none()
    if allocated is not None and on < allocated:
        raise FieldError("offered_on", on.isoformat(), f"on or after randomisation ({allocated.isoformat()})",
                         "check the year")
    if not 0 < float(duration_minutes) <= 600:
        raise FieldError("duration_minutes", duration_minutes, "minutes between 1 and 600")
    if fidelity_rating is not None and not FIDELITY_RANGE[0] <= float(fidelity_rating) <= FIDELITY_RANGE[1]:
        raise FieldError("fidelity_rating", fidelity_rating, "from 1 to 5 (session checklist)")
    dup = uow.session.execute(select(InterventionSession.id).where(
        InterventionSession.participant_pk == p.id, InterventionSession.session_number == session_number)).first()
    if dup:
        raise ConflictError(f"session {session_number} of {participant_id} is already logged; correct it instead")
    s = InterventionSession(trial_id=actor.trial_id, participant_pk=p.id, session_number=session_number,
                            offered_on=on, attended=bool(attended), therapist=therapist.strip(),
                            duration_minutes=float(duration_minutes),
                            fidelity_rating=None if fidelity_rating is None else float(fidelity_rating))
    uow.session.add(s)
    uow.session.flush()
    return s


def compliance(offered: int, attended: int, threshold: int | None) -> dict[str, Any]:
    return {"sessions_offered": offered, "sessions_attended": attended, "threshold": threshold,
            "complier": None if threshold is None else int(attended >= threshold)}


def delivery_summary(session: Session, actor: Actor, participant_id: str) -> dict[str, Any]:
    """Sessions, therapists, mean fidelity and compliance of one participant."""
    access.require_unblinded(actor, "the intervention delivery log")
    access.require(actor, DELIVERY_ROLES | {Role.unblinded_statistician, Role.dmc_member}, "reading the delivery log")
    p = _intervention_participant(session, actor, participant_id)
    rows = session.execute(select(InterventionSession).where(InterventionSession.participant_pk == p.id)
                           .order_by(InterventionSession.session_number)).scalars().all()
    threshold = access.protocol_of(session, actor.trial_id).intervention_arm.compliance_threshold_sessions
    fid = [r.fidelity_rating for r in rows if r.fidelity_rating is not None]
    out = compliance(len(rows), sum(r.attended for r in rows), threshold)
    out.update({"participant_id": participant_id, "therapists": sorted({r.therapist for r in rows}),
                "mean_fidelity": round(sum(fid) / len(fid), 2) if fid else None,
                "sessions": [{"session_number": r.session_number, "offered_on": r.offered_on.isoformat(),
                              "attended": r.attended, "therapist": r.therapist, "duration_minutes": r.duration_minutes,
                              "fidelity_rating": r.fidelity_rating} for r in rows]})
    return out
