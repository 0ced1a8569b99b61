"""Assessors' guesses of allocation (at the protocol's ``safety.blinding_guess_visit``, 12 months). Bang's
blinding index per arm (:mod:`securebase.analysis.blinding`, computed in the report) needs the allocation,
so :func:`guesses_by_arm` is only for roles that may see it (the DMC's closed report)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from securebase.errors import ConflictError, FieldError
from securebase.store import UnitOfWork
from securebase.store.tables import Allocation, BlindingGuess
from securebase.trial import access
from securebase.trial.roles import Actor, Role

DONT_KNOW = "dont_know"


def guess_options(session: Session, trial_id: str) -> list[tuple[str, str]]:
    protocol = access.protocol_of(session, trial_id)
    return [(a.id, a.name) for a in protocol.arms] + [(DONT_KNOW, "Don't know")]


def record_guess(uow: UnitOfWork, actor: Actor, participant_id: str, guess: str) -> BlindingGuess:
    """The assessor's own guess for a participant they assessed; one per participant, visit and assessor."""
    access.require(actor, frozenset({Role.outcome_assessor}), "recording a guess of allocation")
    uow.ensure_unlocked(actor.trial_id)
    p = access.participant(uow.session, actor, participant_id)
    options = [k for k, _ in guess_options(uow.session, actor.trial_id)]
    if guess not in options:
        raise FieldError("guess", guess, "one of " + ", ".join(options), "answer 'dont_know' if you have no idea")
    visit = access.protocol_of(uow.session, actor.trial_id).safety.blinding_guess_visit
    dup = uow.session.execute(select(BlindingGuess.id).where(
        BlindingGuess.participant_pk == p.id, BlindingGuess.visit_id == visit,
        BlindingGuess.assessor == actor.username)).first()
    if dup is not None:
        raise ConflictError(f"you already recorded a guess for {participant_id} at visit '{visit}'; "
                            "a first guess is the one that counts")
    g = BlindingGuess(trial_id=actor.trial_id, participant_pk=p.id, visit_id=visit, assessor=actor.username,
                      guess=guess, recorded_at=datetime.now(UTC))
    uow.session.add(g)
    uow.session.flush()
    return g


def guesses_by_arm(session: Session, actor: Actor) -> list[tuple[str, str]]:
    """(true arm, guess) pairs: allocation-revealing, for roles that may see allocation only."""
    access.require_unblinded(actor, "guesses of allocation by arm")
    trial_id = actor.trial_id
    rows = session.execute(select(Allocation.arm, BlindingGuess.guess)
                           .join(Allocation, Allocation.participant_pk == BlindingGuess.participant_pk)
                           .where(BlindingGuess.trial_id == trial_id)).all()
    return [(a, g) for a, g in rows]


def guess_count(session: Session, trial_id: str) -> dict[str, Any]:
    """Pooled counts (no arm): how many guesses and how many 'don't know'."""
    rows = session.execute(select(BlindingGuess.guess).where(BlindingGuess.trial_id == trial_id)).scalars().all()
    return {"guesses": len(rows), "dont_know": sum(1 for g in rows if g == DONT_KNOW)}


__all__ = ["guess_count", "guesses_by_arm", "record_guess"]
