"""A bulk-loaded trial of any size for the scale benchmark and the query-count tests.

Rows go straight into the tables with SQLAlchemy Core (not through the audited services): this builds a
store of thousands of synthetic children in seconds so that what is measured is the reading, not the
loading. Only synthetic data.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from sqlalchemy import insert, select

from securebase.protocol import load_protocol
from securebase.store import Store
from securebase.store.tables import Allocation, Participant, Score, Site, Visit
from securebase.trial.roles import Role
from securebase.trial.setup import create_trial, create_user, grant_role

TRIAL = "ng26-care"
TODAY = date(2026, 12, 1)


def bulk_trial(store: Store, n: int, *, trial: str = TRIAL, seed: int = 1, users: bool = True) -> dict[str, Any]:
    """Load ``n`` randomised participants with 0/6/12-month visits and a few scores each."""
    proto = load_protocol(trial)
    with store.unit_of_work(actor="bulk-load") as uow:
        create_trial(uow, proto, seed=seed)
        if users:
            for name, role in (("tm", Role.trial_manager), ("dm", Role.data_manager),
                               ("assessor", Role.outcome_assessor)):
                u = create_user(uow, name, "correct-horse-battery-staple")
                grant_role(uow, u, proto.id, role)
        uow.commit()
    _load_rows(store, proto, n, seed)
    return {"trial_id": proto.id, "n": n}


def _load_rows(store: Store, proto: Any, n: int, seed: int) -> None:
    rng = random.Random(seed)
    with store.read() as s:
        sites = list(s.execute(select(Site.code).where(Site.trial_id == proto.id)).scalars())
    arms = [a.id for a in proto.arms]
    parts, allocs, visits, scores = [], [], [], []
    with store.engine.begin() as conn:
        base_pk = conn.execute(select(Participant.id).order_by(Participant.id.desc()).limit(1)).scalar() or 0
        vbase = conn.execute(select(Visit.id).order_by(Visit.id.desc()).limit(1)).scalar() or 0
        abase = conn.execute(select(Allocation.sequence_number).where(Allocation.trial_id == proto.id)
                             .order_by(Allocation.sequence_number.desc()).limit(1)).scalar() or 0
        vid = vbase
        for i in range(n):
            pk = base_pk + i + 1
            enrolled = TODAY - timedelta(days=rng.randint(1, 700))
            age = rng.uniform(5.5, 17.5)
            parts.append({"id": pk, "trial_id": proto.id, "participant_id": f"BULK-{pk:06d}",
                          "site_code": rng.choice(sites), "status": "randomised", "enrolled_on": enrolled,
                          "age_years": age, "age_band": "5-10" if age < 11 else "11-17", "sex": rng.choice(["female", "male"]),
                          "care_status": "foster", "strata": {}})
            allocs.append({"trial_id": proto.id, "participant_pk": pk, "sequence_number": abase + i + 1,
                           "arm": rng.choice(arms), "method": "bulk", "stratum": "", "allocated_on": enrolled,
                           "allocated_by": "bulk-load", "diagnostics": {}})
            for month in (0, 6, 12):
                vid += 1
                due = enrolled + timedelta(days=round(month * 30.44))
                closes = due + timedelta(days=42)
                status = ("completed" if rng.random() < 0.85 else "missed") if closes < TODAY else "scheduled"
                visits.append({"id": vid, "trial_id": proto.id, "participant_pk": pk, "visit_id": f"m{month}" if month else "baseline",
                               "month": month, "due_on": due, "window_opens": due - timedelta(days=14),
                               "window_closes": closes, "status": status,
                               "completed_on": due if status == "completed" else None})
                if status == "completed":
                    scores.append({"trial_id": proto.id, "participant_pk": pk, "visit_pk": vid, "instrument": "sdq_parent",
                                   "respondent": "carer", "scale": "total_difficulties", "value": float(rng.randint(0, 40))})
        conn.execute(insert(Participant), parts)
        conn.execute(insert(Allocation), allocs)
        conn.execute(insert(Visit), visits)
        if scores:
            conn.execute(insert(Score), scores)


def copy_trial(store: Store, source_trial: str, new_id: str, n: int, *, seed: int) -> None:
    """Another trial in the same store (the source protocol under a new id), with ``n`` bulk-loaded children."""
    from securebase.protocol import load_protocol

    proto = load_protocol(source_trial).model_copy(update={"id": new_id})
    with store.unit_of_work(actor="bulk-load") as uow:
        create_trial(uow, proto, seed=seed)
        uow.commit()
    _load_rows(store, proto, n, seed)
