"""The trial dashboard: recruitment against target by site and month, retention at each visit, overdue
visits and completeness of key outcomes. Pooled figures only, except that roles allowed to see allocation
also get recruitment by arm.

Targets: a site's own target when set, else the trial's target shared equally between sites; the expected
number by a month assumes linear recruitment over the protocol's recruitment period.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from securebase.store.tables import Allocation, Participant, Score, Site, Visit
from securebase.trial import access
from securebase.trial.roles import Actor

DASHBOARD_ROLES = frozenset(access.Role)


def _months_between(a: date, b: date) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


def dashboard(session: Session, actor: Actor, *, on: date | None = None) -> dict[str, Any]:
    access.require(actor, DASHBOARD_ROLES, "reading the dashboard")
    on = on or access.today()
    protocol = access.protocol_of(session, actor.trial_id)
    sites = session.execute(select(Site).where(Site.trial_id == actor.trial_id).order_by(Site.code)).scalars().all()
    sites = [s for s in sites if actor.can_reach_site(s.code)]
    codes = [s.code for s in sites]
    all_sites = session.execute(select(Site.code).where(Site.trial_id == actor.trial_id)).scalars().all()
    parts = session.execute(select(Participant).where(Participant.trial_id == actor.trial_id,
                                                      Participant.site_code.in_(codes))).scalars().all()
    start = min((p.enrolled_on for p in parts), default=on)
    elapsed = max(_months_between(start, on) + 1, 1)
    frac = min(elapsed / protocol.recruitment_months, 1.0)
    by_site = []
    by_month: dict[str, Counter[str]] = defaultdict(Counter)
    for p in parts:
        by_month[p.enrolled_on.strftime("%Y-%m")][p.site_code] += 1
    for s in sites:
        target = s.target or round(protocol.target_sample_size / max(len(all_sites), 1))
        n = sum(1 for p in parts if p.site_code == s.code)
        by_site.append({"site": s.code, "name": s.name, "recruited": n, "target": target,
                        "target_per_month": round(target / protocol.recruitment_months, 1),
                        "expected_to_date": round(target * frac, 1), "percent_of_target": round(100 * n / target, 1)})
    months = [{"month": m, "by_site": dict(c), "total": sum(c.values())} for m, c in sorted(by_month.items())]
    pks = {p.id for p in parts}
    visits = [v for v in session.execute(select(Visit).where(Visit.trial_id == actor.trial_id)).scalars()
              if v.participant_pk in pks]
    retention = []
    for pv in protocol.visits:
        vs = [v for v in visits if v.visit_id == pv.id]
        due = [v for v in vs if v.window_closes < on or v.status in ("completed", "partial", "missed")]
        done = [v for v in due if v.status in ("completed", "partial")]
        retention.append({"visit_id": pv.id, "label": pv.label, "due": len(due), "completed": len(done),
                          "missed": sum(v.status == "missed" for v in due),
                          "withdrawn": sum(v.status == "withdrawn" for v in vs),
                          "retention_percent": round(100 * len(done) / len(due), 1) if due else None})
    overdue = Counter(next(p.site_code for p in parts if p.id == v.participant_pk)
                      for v in visits if v.status == "scheduled" and v.window_closes < on)
    scores = session.execute(select(Score.visit_pk, Score.instrument, Score.scale, Score.value).where(
        Score.trial_id == actor.trial_id)).all()
    have = {(vp, inst, sc) for vp, inst, sc, val in scores if val is not None}
    completeness = []
    for o in protocol.outcomes.all:
        if o.timepoint == "follow_up" or o.scale is None:
            continue
        vs = [v for v in visits if v.visit_id == o.timepoint and v.status in ("completed", "partial", "missed")
              or (v.visit_id == o.timepoint and v.window_closes < on)]
        got = sum((v.id, o.measure, o.scale) in have for v in vs)
        completeness.append({"outcome": o.id, "label": o.label, "visit_id": o.timepoint, "expected": len(vs),
                             "available": got, "percent": round(100 * got / len(vs), 1) if vs else None,
                             "primary": o in protocol.outcomes.primary})
    out: dict[str, Any] = {"trial_id": actor.trial_id, "on": on.isoformat(), "target_sample_size": protocol.target_sample_size,
                           "recruited": len(parts), "recruitment_by_site": by_site, "recruitment_by_month": months,
                           "retention": retention, "overdue_by_site": {c: overdue.get(c, 0) for c in codes},
                           "overdue_total": sum(overdue.values()), "completeness": completeness}
    if actor.can_see_allocation():
        arms = Counter(session.execute(select(Allocation.arm).where(Allocation.trial_id == actor.trial_id,
                                                                    Allocation.participant_pk.in_(pks or {-1}))).scalars())
        out["allocated_by_arm"] = dict(arms)
    return out
