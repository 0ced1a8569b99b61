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

from sqlalchemy import and_, case, distinct, func, or_, select
from sqlalchemy.orm import Session

from securebase.store.tables import Allocation, Participant, Score, Site, Visit
from securebase.trial import access
from securebase.trial.roles import Actor

DASHBOARD_ROLES = frozenset(access.Role)
_DONE = ("completed", "partial")
_DUE_STATUSES = ("completed", "partial", "missed")


def _months_between(a: date, b: date) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


def dashboard(session: Session, actor: Actor, *, on: date | None = None) -> dict[str, Any]:
    """Every figure is an aggregate computed by the database (GROUP BY over indexed columns), so the cost
    grows with the number of sites, visits in the schedule and outcomes, not with the children in the
    trial; Python only shapes the few grouped rows."""
    access.require(actor, DASHBOARD_ROLES, "reading the dashboard")
    on = on or access.today()
    tid = actor.trial_id
    protocol = access.protocol_of(session, tid)
    sites = session.execute(select(Site).where(Site.trial_id == tid).order_by(Site.code)).scalars().all()
    n_all_sites = len(sites)
    sites = [s for s in sites if actor.can_reach_site(s.code)]
    codes = [s.code for s in sites]
    in_sites = and_(Participant.trial_id == tid, Participant.site_code.in_(codes))

    per_day = session.execute(select(Participant.site_code, Participant.enrolled_on, func.count())
                              .where(in_sites).group_by(Participant.site_code, Participant.enrolled_on)).all()
    recruited_by_site: Counter[str] = Counter()
    by_month: dict[str, Counter[str]] = defaultdict(Counter)
    for site_code, enrolled_on, n in per_day:
        recruited_by_site[site_code] += n
        by_month[enrolled_on.strftime("%Y-%m")][site_code] += n
    start = min((d for _, d, _ in per_day), default=on)
    elapsed = max(_months_between(start, on) + 1, 1)
    frac = min(elapsed / protocol.recruitment_months, 1.0)
    by_site = []
    for s in sites:
        target = s.target or round(protocol.target_sample_size / max(n_all_sites, 1))
        n = recruited_by_site.get(s.code, 0)
        by_site.append({"site": s.code, "name": s.name, "recruited": n, "target": target,
                        "target_per_month": round(target / protocol.recruitment_months, 1),
                        "expected_to_date": round(target * frac, 1), "percent_of_target": round(100 * n / target, 1)})
    months = [{"month": m, "by_site": dict(c), "total": sum(c.values())} for m, c in sorted(by_month.items())]

    visit_of_sites = and_(Visit.trial_id == tid, Visit.participant_pk == Participant.id, in_sites)
    past = case((Visit.window_closes < on, 1), else_=0).label("past")
    grouped = session.execute(select(Visit.visit_id, Visit.status, past, func.count())
                              .where(visit_of_sites).group_by(Visit.visit_id, Visit.status, past)).all()
    counts: dict[str, Counter[tuple[str, int]]] = defaultdict(Counter)
    for visit_id, status, is_past, n in grouped:
        counts[visit_id][(status, int(is_past))] += n
    retention = []
    for pv in protocol.visits:
        c = counts.get(pv.id, Counter())
        due = sum(n for (st, ps), n in c.items() if ps or st in _DUE_STATUSES)
        done = sum(n for (st, _), n in c.items() if st in _DONE)
        retention.append({"visit_id": pv.id, "label": pv.label, "due": due, "completed": done,
                          "missed": sum(n for (st, _), n in c.items() if st == "missed"),
                          "withdrawn": sum(n for (st, _), n in c.items() if st == "withdrawn"),
                          "retention_percent": round(100 * done / due, 1) if due else None})
    overdue = dict(session.execute(select(Participant.site_code, func.count()).where(
        visit_of_sites, Visit.status == "scheduled", Visit.window_closes < on).group_by(Participant.site_code)).all())

    expected_visit = or_(Visit.status.in_(_DUE_STATUSES), Visit.window_closes < on)
    available = {(vid, inst, sc): n for vid, inst, sc, n in session.execute(
        select(Visit.visit_id, Score.instrument, Score.scale, func.count(distinct(Visit.id)))
        .where(visit_of_sites, expected_visit, Score.visit_pk == Visit.id, Score.trial_id == tid,
               Score.value.is_not(None))
        .group_by(Visit.visit_id, Score.instrument, Score.scale)).all()}
    completeness = []
    for o in protocol.outcomes.all:
        if o.timepoint == "follow_up" or o.scale is None:
            continue
        c = counts.get(o.timepoint, Counter())
        expected = sum(n for (st, ps), n in c.items() if ps or st in _DUE_STATUSES)
        got = available.get((o.timepoint, o.measure, o.scale), 0)
        completeness.append({"outcome": o.id, "label": o.label, "visit_id": o.timepoint, "expected": expected,
                             "available": got, "percent": round(100 * got / expected, 1) if expected else None,
                             "primary": o in protocol.outcomes.primary})
    out: dict[str, Any] = {"trial_id": tid, "on": on.isoformat(), "target_sample_size": protocol.target_sample_size,
                           "recruited": sum(recruited_by_site.values()), "recruitment_by_site": by_site,
                           "recruitment_by_month": months, "retention": retention,
                           "overdue_by_site": {c: overdue.get(c, 0) for c in codes},
                           "overdue_total": sum(overdue.values()), "completeness": completeness}
    if actor.can_see_allocation():
        arms = session.execute(select(Allocation.arm, func.count()).where(
            Allocation.trial_id == tid, Allocation.participant_pk == Participant.id, in_sites)
            .group_by(Allocation.arm)).all()
        out["allocated_by_arm"] = dict(arms)
    return out
