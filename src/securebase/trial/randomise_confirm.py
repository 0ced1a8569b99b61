"""The confirmation step before randomisation: what would be used and every reason it would be refused,
without allocating anything (Sealed Envelope shows the same check before the allocation is made)."""

from __future__ import annotations

from typing import Any

from securebase.store import UnitOfWork
from securebase.trial.randomise import _participant, _require_randomiser, readiness, trial_scheme
from securebase.trial.roles import Actor


def check_ready(uow: UnitOfWork, actor: Actor, participant_id: str) -> dict[str, Any]:
    """``{"participant_id", "site", "factors": {factor: value}, "problems": [...], "ready": bool}``;
    nothing is written. Blinded roles and roles that may not randomise are refused as in ``randomise``."""
    _require_randomiser(actor)
    trial = uow.trial(actor.trial_id)
    p = _participant(uow, actor, participant_id)
    _, scheme = trial_scheme(uow, trial, site=p.site_code)
    values, problems = readiness(uow, p, scheme)
    if p.status != "enrolled":
        problems = [f"{participant_id} is '{p.status.replace('_', ' ')}', not waiting for randomisation"] + problems
    return {"participant_id": participant_id, "site": p.site_code, "factors": values, "problems": problems,
            "ready": not problems, "method": scheme.name}
