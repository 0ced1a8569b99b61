"""A small simulated NG26 care trial written into a store through ORM objects in a unit of work.

Participants at every site, visits at 0/6/12 months (one missed), item responses of ordinal, integer,
date, category and free-text items with all three missing-value codes, a double data entry, scores
computed by the instruments' own scoring, allocations and events. Synthetic data only.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

import numpy as np
from sqlalchemy import select

from securebase.instruments import load_instrument as _load_instrument
from securebase.instruments import score
from securebase.protocol import load_protocol, visit_windows
from securebase.store.tables import (
    Allocation,
    Event,
    InterventionSession,
    Participant,
    ResourceUse,
    Response,
    Score,
    Visit,
)

TRIAL = "ng26-care"
load_instrument = lru_cache(maxsize=None)(_load_instrument)
CODES = {"not_answered": -99, "not_applicable": -98, "refused": -97}


def _answers(name: str, rng: np.random.Generator, start: date) -> dict[str, Any]:
    inst = load_instrument(name)
    out: dict[str, Any] = {}
    for j, it in enumerate(inst.items):
        if it.response_type in ("ordinal", "category"):
            out[it.code] = it.allowed[int(rng.integers(len(it.allowed)))]  # type: ignore[index]
        elif it.response_type == "integer":
            lo = int(it.minimum) if isinstance(it.minimum, (int, float)) else 0
            hi = int(it.maximum) if isinstance(it.maximum, (int, float)) else lo + 20
            out[it.code] = int(rng.integers(lo, min(hi, lo + 20) + 1))
        elif it.response_type == "decimal":
            lo = float(it.minimum) if isinstance(it.minimum, (int, float)) else 0.0
            out[it.code] = round(lo + float(rng.uniform(0, 3)), 2)
        elif it.response_type == "date":
            out[it.code] = (start + timedelta(days=30 * j + int(rng.integers(0, 20)))).isoformat()
        else:
            out[it.code] = f"note {int(rng.integers(1000))}"
    return out


def build_trial(store: Any, n: int = 8, seed: int = 11) -> dict[str, int]:
    """Write ``n`` participants and their data; returns row counts per kind."""
    rng = np.random.default_rng(seed)
    proto = load_protocol(TRIAL)
    sites = [s.code for s in proto.sites]
    counts = {"participants": 0, "responses": 0, "missing": 0, "scores": 0, "events": 0, "resource_use": 0,
              "sessions": 0}
    instruments = {"baseline": ["sdq_parent", "eq5d_5l", "sensitivity_coding"], "m6": ["sdq_parent", "resource_use"],
                   "m12": ["sdq_parent", "placement_record", "eq5d_5l"]}
    with store.unit_of_work(actor="recruiter1") as uow:
        for k in range(n):
            enrolled = date(2026, 1, 5) + timedelta(days=9 * k)
            age = float(round(5 + rng.uniform(0, 12), 2))
            p = Participant(trial_id=TRIAL, participant_id=f"CARE-{k + 1:04d}", site_code=sites[k % len(sites)],
                            status="enrolled", enrolled_on=enrolled, age_years=age,
                            age_band="5-10" if int(age) <= 10 else "11-17", sex=["female", "male"][k % 2],
                            care_status=["adopted", "foster", "kinship", "special_guardianship"][k % 4],
                            strata={"site": sites[k % len(sites)], "age_band": "5-10" if int(age) <= 10 else "11-17"})
            uow.session.add(p)
            uow.session.flush()
            counts["participants"] += 1
            arm = ["intervention", "usual_care"][int(rng.integers(2))]
            uow.session.add(Allocation(trial_id=TRIAL, participant_pk=p.id, sequence_number=k + 1,
                                       arm=arm, method="minimisation",
                                       stratum="", allocated_on=enrolled,
                                       allocated_at=datetime(2026, 1, 5, 10, 0, 0, 123456, tzinfo=UTC) + timedelta(days=9 * k),
                                       allocated_by="recruiter1", diagnostics={"imbalance": [1, 0]}))
            for w in visit_windows(proto, enrolled):
                missed = k == 3 and w.visit_id == "m12"
                v = Visit(trial_id=TRIAL, participant_pk=p.id, visit_id=w.visit_id, month=proto.visit(w.visit_id).month, due_on=w.due,
                          window_opens=w.opens, window_closes=w.closes, status="missed" if missed else "completed",
                          completed_on=None if missed else w.due + timedelta(days=int(rng.integers(0, 5))),
                          missed_reason="carer unreachable" if missed else None, assessor=None if missed else "ra1")
                uow.session.add(v)
                uow.session.flush()
                if w.visit_id == "m6":  # resource use reported at 6 months for the last 6 months
                    for item, qty in (("gp_contacts", float(rng.integers(0, 5))), ("social_worker_hours", 2.5 + k)):
                        uow.session.add(ResourceUse(trial_id=TRIAL, participant_pk=p.id, visit_pk=v.id, item=item,
                                                    quantity=qty, period_start=enrolled, period_end=w.due))
                        counts["resource_use"] += 1
                if missed:
                    continue
                for name in instruments[w.visit_id]:
                    inst = load_instrument(name)
                    raw = _answers(name, rng, enrolled)
                    for j, code in enumerate(list(raw)):
                        if (j + k) % 7 == 3:
                            reason = list(CODES)[(j + k) % 3]
                            raw[code] = CODES[reason]
                    for code, val in raw.items():
                        reason = inst.missing_codes.reason_for(val)
                        uow.session.add(Response(trial_id=TRIAL, participant_pk=p.id, visit_pk=v.id, instrument=name,
                                                 instrument_version=inst.version, respondent=inst.respondent, item=code,
                                                 value=None if reason else str(val), missing_code=reason, entry=1,
                                                 entered_by="ra1"))
                        counts["responses"] += 1
                        counts["missing"] += reason is not None
                    if name == "sdq_parent" and k == 1:  # double data entry of one form
                        for code, val in raw.items():
                            reason = inst.missing_codes.reason_for(val)
                            uow.session.add(Response(trial_id=TRIAL, participant_pk=p.id, visit_pk=v.id,
                                                     instrument=name, instrument_version=inst.version,
                                                     respondent=inst.respondent, item=code,
                                                     value=None if reason else str(val), missing_code=reason,
                                                     entry=2, entered_by="ra2"))
                            counts["responses"] += 1
                    if name != "sensitivity_coding":
                        for sc, res in score(inst, raw).items():
                            uow.session.add(Score(trial_id=TRIAL, participant_pk=p.id, visit_pk=v.id, instrument=name,
                                                  respondent=inst.respondent, scale=sc,
                                                  value=None if res.value is None else float(res.value),
                                                  category=res.band, missing_reason=res.reason))
                            counts["scores"] += 1
            if arm == "intervention":
                for n in range(1, 4):
                    uow.session.add(InterventionSession(
                        trial_id=TRIAL, participant_pk=p.id, session_number=n, offered_on=enrolled + timedelta(days=7 * n),
                        attended=n != 2, therapist=f"T{k % 2 + 1}", duration_minutes=90.0,
                        fidelity_rating=None if n == 3 else 3.5))
                    counts["sessions"] += 1
            uow.session.add(ResourceUse(trial_id=TRIAL, participant_pk=p.id, visit_pk=None, item="foster_care_weeks",
                                        quantity=4.0, period_start=enrolled, period_end=enrolled + timedelta(days=28)))
            counts["resource_use"] += 1
            if k % 3 == 0:
                uow.session.add(Event(trial_id=TRIAL, participant_pk=p.id, event_type="school_suspension",
                                      occurred_on=enrolled + timedelta(days=40 + k), details={"days": 2, "note": "fixed-term"},
                                      seriousness=None, relatedness=None, expectedness=None, recorded_by="ra1"))
                counts["events"] += 1
            if k == 2:
                uow.session.add(Event(trial_id=TRIAL, participant_pk=p.id, event_type="serious_adverse_event",
                                      occurred_on=enrolled + timedelta(days=100), details={"description": "hospital admission"},
                                      seriousness="serious", relatedness="unrelated", expectedness="unexpected",
                                      recorded_by="tm1"))
                counts["events"] += 1
        uow.commit()
    return counts


def add_edge_responses(store: Any) -> int:
    """A value kept together with a missing code, and a response row with neither (ODM keeps both), as a third
    entry of real SDQ items (an import checks every item against the instrument, so no made-up items)."""
    with store.unit_of_work(actor="dm1") as uow:
        v = uow.session.execute(select(Visit).order_by(Visit.id).limit(1)).scalar_one()
        for item, value, code in (("1", "3", "refused"), ("2", None, None)):
            uow.session.add(Response(trial_id=TRIAL, participant_pk=v.participant_pk, visit_pk=v.id,
                                     instrument="sdq_parent", instrument_version="2026.1", respondent="carer",
                                     item=item, value=value, missing_code=code, entry=3, entered_by="ra1"))
        uow.commit()
    return 2
