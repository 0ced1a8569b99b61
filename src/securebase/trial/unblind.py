"""Emergency unblinding: a request with a reason, a decision by an authorised role, and the
allocation of that one participant revealed to the requester only.

The exchange is recorded twice: in ``unblinding_requests`` (its inserts and updates audited like any
row) and as audit events (``unblind_request``, ``unblind_approve`` / ``unblind_refuse``,
``unblind_reveal``). Neither the request table nor the events carry the arm, and the audit view hides
both from blinded roles, so everyone else's concealment is intact. A person may not approve their
own request (four eyes). :func:`unblinding_report` lists every request for the trial's files.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from securebase.errors import ConflictError, FieldError, NotFound, PermissionDenied
from securebase.store import UnitOfWork
from securebase.store.tables import Allocation, Participant, UnblindingRequest
from securebase.trial.randomise import AllocationView, _participant, allocation_view
from securebase.trial.roles import UNBLINDING_APPROVERS, Actor

MIN_REASON = 10


@dataclass(frozen=True)
class UnblindingView:
    """One request as shown in lists and the report (never the arm)."""

    request_id: int
    participant_id: str
    requested_by: str
    requested_at: datetime
    reason: str
    status: str
    decided_by: str | None
    decided_at: datetime | None
    revealed_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("requested_at", "decided_at", "revealed_at"):
            d[k] = d[k].isoformat() if d[k] else None
        return d

    def summary(self) -> str:
        out = (f"request {self.request_id} for {self.participant_id} by {self.requested_by} "
               f"at {self.requested_at:%Y-%m-%d %H:%M} UTC: {self.status}")
        if self.decided_by:
            out += f" by {self.decided_by}"
        if self.revealed_at:
            out += f"; revealed to {self.requested_by} at {self.revealed_at:%Y-%m-%d %H:%M} UTC"
        return out + f" (reason: {self.reason})"


def _view(req: UnblindingRequest, participant_id: str) -> UnblindingView:
    return UnblindingView(req.id, participant_id, req.requested_by, req.requested_at, req.reason, req.status,
                          req.decided_by, req.decided_at, req.revealed_at)


def _request(uow: UnitOfWork, actor: Actor, request_id: int) -> tuple[UnblindingRequest, Participant]:
    req = uow.session.get(UnblindingRequest, request_id)
    if req is None or req.trial_id != actor.trial_id:
        raise NotFound(f"unblinding request {request_id} is not in trial '{actor.trial_id}'; "
                       "list them with `securebase unblind report --as USER`")
    p = uow.session.get(Participant, req.participant_pk)
    assert p is not None
    return req, p


def request_unblinding(uow: UnitOfWork, actor: Actor, participant_id: str, reason: str) -> UnblindingView:
    """Ask for one participant's allocation to be revealed to ``actor`` (any role on the trial that
    reaches the participant's site, typically the treating clinician or the site recruiter)."""
    if not actor.roles:
        raise PermissionDenied(f"user '{actor.username}' has no role on trial '{actor.trial_id}'")
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise FieldError("reason", reason, f"a clinical reason of at least {MIN_REASON} characters",
                         "say why knowing the allocation is needed for the child's care")
    uow.trial(actor.trial_id)
    p = _participant(uow, actor, participant_id)
    has_alloc = uow.session.execute(select(Allocation.id).where(Allocation.participant_pk == p.id)).first()
    if has_alloc is None:
        raise ConflictError(f"participant '{participant_id}' has not been randomised, so there is nothing to unblind")
    req = UnblindingRequest(trial_id=actor.trial_id, participant_pk=p.id, requested_by=actor.username, reason=reason,
                            status="pending")
    uow.session.add(req)
    uow.session.flush()
    uow.log_event("unblind_request", table_name="unblinding_requests", record_id=str(req.id), trial_id=actor.trial_id,
                  participant_id=participant_id, detail={"request_id": req.id, "requested_by": actor.username,
                                                         "reason": reason})
    return _view(req, participant_id)


def decide_unblinding(uow: UnitOfWork, actor: Actor, request_id: int, *, approve: bool,
                      note: str | None = None) -> UnblindingView:
    """Approve or refuse a pending request (roles in ``UNBLINDING_APPROVERS``; not your own request)."""
    if not actor.has(*UNBLINDING_APPROVERS):
        raise PermissionDenied(f"user '{actor.username}' may not decide unblinding requests: it needs one of the roles "
                               f"{', '.join(sorted(r.value for r in UNBLINDING_APPROVERS))}")
    req, p = _request(uow, actor, request_id)
    if req.requested_by == actor.username:
        raise PermissionDenied(f"user '{actor.username}' made request {request_id} and may not decide it; "
                               "another trial manager or administrator must")
    if req.status != "pending":
        raise ConflictError(f"unblinding request {request_id} was already {req.status} by {req.decided_by}")
    status = "approved" if approve else "refused"
    if uow.reason is None:
        uow.reason = f"emergency unblinding request {request_id} {status} by {actor.username}"
    req.status = status
    req.decided_by = actor.username
    req.decided_at = datetime.now(UTC)
    uow.session.flush()
    uow.log_event("unblind_approve" if approve else "unblind_refuse", table_name="unblinding_requests",
                  record_id=str(req.id), trial_id=actor.trial_id, participant_id=p.participant_id,
                  detail={"request_id": req.id, "decided_by": actor.username, "status": status, "note": note})
    return _view(req, p.participant_id)


def approve_unblinding(uow: UnitOfWork, actor: Actor, request_id: int, note: str | None = None) -> UnblindingView:
    return decide_unblinding(uow, actor, request_id, approve=True, note=note)


def refuse_unblinding(uow: UnitOfWork, actor: Actor, request_id: int, note: str | None = None) -> UnblindingView:
    return decide_unblinding(uow, actor, request_id, approve=False, note=note)


def reveal_allocation(uow: UnitOfWork, actor: Actor, request_id: int) -> AllocationView:
    """The allocation of an approved request's participant, to the requester only (each reveal audited)."""
    req, p = _request(uow, actor, request_id)
    if req.requested_by != actor.username:
        raise PermissionDenied(f"unblinding request {request_id} was made by another user; only the requester "
                               "sees the allocation it reveals")
    if req.status != "approved":
        raise ConflictError(f"unblinding request {request_id} is {req.status}; the allocation is revealed only "
                            "after a trial manager approves it")
    if not actor.can_reach_site(p.site_code):
        raise NotFound(f"participant of request {request_id} is not at your sites")
    if req.revealed_at is None:
        if uow.reason is None:
            uow.reason = f"allocation revealed to {actor.username} under approved unblinding request {request_id}"
        req.revealed_at = datetime.now(UTC)
    uow.session.flush()
    uow.log_event("unblind_reveal", table_name="unblinding_requests", record_id=str(req.id), trial_id=actor.trial_id,
                  participant_id=p.participant_id, detail={"request_id": req.id, "revealed_to": actor.username})
    return allocation_view(uow, p)


def unblinding_report(uow: UnitOfWork, actor: Actor) -> list[UnblindingView]:
    """Every request of the trial, oldest first (for approvers and other unblinded roles)."""
    if actor.blinded and not actor.has(*UNBLINDING_APPROVERS):
        raise PermissionDenied(f"user '{actor.username}' may not list unblinding requests: the list is for trial "
                               "managers, administrators and unblinded roles")
    rows = uow.session.execute(select(UnblindingRequest, Participant.participant_id)
                               .join(Participant, Participant.id == UnblindingRequest.participant_pk)
                               .where(UnblindingRequest.trial_id == actor.trial_id)
                               .order_by(UnblindingRequest.id)).all()
    return [_view(r, pid) for r, pid in rows]


__all__ = ["UnblindingView", "approve_unblinding", "decide_unblinding", "refuse_unblinding", "request_unblinding",
           "reveal_allocation", "unblinding_report"]
