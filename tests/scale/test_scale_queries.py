"""Lists and aggregates cost what they return: the number of SQL statements per request does not grow with
the number of children, the dashboard's figures are the same as counting by hand, and migrations upgrade a
store written by the previous release without loss. Both backends."""

from __future__ import annotations

from collections import Counter
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import event, select

from scale_world import TODAY, bulk_trial
from securebase.store import open_store
from securebase.store.tables import Participant, Score, Visit
from securebase.trial import dashboard, enrol, events, queries, screening, visits
from securebase.trial.audit_view import actor_for
from securebase.trial.paging import Paging


@contextmanager
def counting(engine):  # type: ignore[no-untyped-def]
    n = [0]

    def before(*_a):  # type: ignore[no-untyped-def]
        n[0] += 1

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield n
    finally:
        event.remove(engine, "before_cursor_execute", before)


ROUTES = {
    "dashboard": lambda s, a: dashboard.dashboard(s, a, on=TODAY),
    "upcoming visits": lambda s, a: visits.upcoming_visits(s, a, on=TODAY),
    "overdue visits": lambda s, a: visits.overdue_visits(s, a, on=TODAY),
    "participants": lambda s, a: enrol.list_participants(s, a),
    "participants, a page": lambda s, a: enrol.list_participants(s, a, page=Paging(25)),
    "upcoming visits, a page": lambda s, a: visits.upcoming_visits(s, a, on=TODAY, page=Paging(25)),
    "overdue visits, a page": lambda s, a: visits.overdue_visits(s, a, on=TODAY, page=Paging(25)),
    "events, a page": lambda s, a: events.list_events(s, a, page=Paging(25)),
    "queries, a page": lambda s, a: queries.list_queries(s, a, page=Paging(25)),
    "screening log, a page": lambda s, a: screening.list_screening(s, a, page=Paging(25)),
}


def _statements(store, user: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    out = {}
    for name, fn in ROUTES.items():
        with store.read() as s:
            a = actor_for(s, user, "ng26-care")
            fn(s, a)  # warm caches (protocol parsing) so only per-request statements are counted
            with counting(store.engine) as n:
                fn(s, a)
            out[name] = n[0]
    return out


def test_statements_per_request_do_not_grow_with_the_trial(store) -> None:  # type: ignore[no-untyped-def]
    bulk_trial(store, 40, seed=3)
    small = {u: _statements(store, u) for u in ("tm", "dm")}
    bulk_trial_more(store, 400)
    large = {u: _statements(store, u) for u in ("tm", "dm")}
    assert small == large, f"statements per request grew with the trial: {small} -> {large}"


def bulk_trial_more(store, n: int) -> None:  # type: ignore[no-untyped-def]
    """Add ``n`` more children (usual care, visits scheduled) to the bulk-loaded trial."""
    import random

    from sqlalchemy import insert

    from scale_world import TRIAL
    from securebase.protocol import load_protocol
    from securebase.store.tables import Allocation, Site

    proto = load_protocol(TRIAL)
    rng = random.Random(9)
    with store.read() as s:
        sites = list(s.execute(select(Site.code).where(Site.trial_id == proto.id)).scalars())
        pk0 = s.execute(select(Participant.id).order_by(Participant.id.desc()).limit(1)).scalar()
        v0 = s.execute(select(Visit.id).order_by(Visit.id.desc()).limit(1)).scalar()
        a0 = s.execute(select(Allocation.sequence_number).order_by(Allocation.sequence_number.desc()).limit(1)).scalar()
    parts, allocs, vs = [], [], []
    for i in range(n):
        pk = pk0 + i + 1
        enrolled = TODAY - timedelta(days=rng.randint(1, 600))
        parts.append({"id": pk, "trial_id": proto.id, "participant_id": f"MORE-{pk:06d}", "site_code": rng.choice(sites),
                      "status": "randomised", "enrolled_on": enrolled, "age_years": 8.0, "age_band": "5-10",
                      "strata": {}})
        allocs.append({"trial_id": proto.id, "participant_pk": pk, "sequence_number": a0 + i + 1, "arm": "usual_care",
                       "method": "bulk", "stratum": "", "allocated_on": enrolled, "allocated_by": "bulk", "diagnostics": {}})
        for j, (vid, m) in enumerate((("baseline", 0), ("m6", 6), ("m12", 12))):
            due = enrolled + timedelta(days=round(m * 30.44))
            vs.append({"id": v0 + 3 * i + j + 1, "trial_id": proto.id, "participant_pk": pk, "visit_id": vid, "month": m,
                       "due_on": due, "window_opens": due - timedelta(days=14), "window_closes": due + timedelta(days=42),
                       "status": "scheduled"})
    with store.engine.begin() as conn:
        conn.execute(insert(Participant), parts)
        conn.execute(insert(Allocation), allocs)
        conn.execute(insert(Visit), vs)


def test_dashboard_figures_match_counting_by_hand(store) -> None:  # type: ignore[no-untyped-def]
    bulk_trial(store, 120, seed=5)
    with store.read() as s:
        a = actor_for(s, "tm", "ng26-care")
        d = dashboard.dashboard(s, a, on=TODAY)
        parts = s.execute(select(Participant)).scalars().all()
        vis = s.execute(select(Visit)).scalars().all()
        scored = {v for (v,) in s.execute(select(Score.visit_pk).where(Score.value.is_not(None))).all()}
    site_of = {p.id: p.site_code for p in parts}
    assert d["recruited"] == 120
    assert {r["site"]: r["recruited"] for r in d["recruitment_by_site"]} == {
        k: v for k, v in Counter(p.site_code for p in parts).items()} | {
        r["site"]: 0 for r in d["recruitment_by_site"] if r["site"] not in {p.site_code for p in parts}}
    overdue = Counter(site_of[v.participant_pk] for v in vis if v.status == "scheduled" and v.window_closes < TODAY)
    assert d["overdue_total"] == sum(overdue.values())
    m12 = next(r for r in d["retention"] if r["visit_id"] == "m12")
    due = [v for v in vis if v.visit_id == "m12" and (v.window_closes < TODAY or v.status in ("completed", "partial", "missed"))]
    assert m12["due"] == len(due)
    assert m12["completed"] == sum(v.status == "completed" for v in due)
    for c in (c for c in d["completeness"] if c["visit_id"] == "m12"):
        assert c["expected"] == len(due)
        if c["outcome"].startswith("sdq") and "total" in c["outcome"]:
            assert c["available"] == sum(1 for v in due if v.id in scored)
    assert sum(d["allocated_by_arm"].values()) == 120


def test_visit_lists_filter_in_the_database(store) -> None:  # type: ignore[no-untyped-def]
    bulk_trial(store, 150, seed=7)
    with store.read() as s:
        a = actor_for(s, "assessor", "ng26-care")
        up = visits.upcoming_visits(s, a, on=TODAY, horizon_days=60)
        over = visits.overdue_visits(s, a, on=TODAY)
        vis = s.execute(select(Visit).where(Visit.status == "scheduled")).scalars().all()
    exp_up = [v for v in vis if v.window_closes >= TODAY and v.window_opens <= TODAY + timedelta(days=60)]
    exp_over = [v for v in vis if v.window_closes < TODAY]
    assert len(up) == len(exp_up) and len(over) == len(exp_over)
    assert [r["window_opens"] for r in up] == sorted(r["window_opens"] for r in up)
    assert [r["days_overdue"] for r in over] == sorted((r["days_overdue"] for r in over), reverse=True)


def test_migration_upgrades_a_store_of_the_previous_release(tmp_path: Path) -> None:
    """A store at revision 0001 (the first release) with data keeps every row after upgrading to head."""
    from sqlalchemy import create_engine, text

    from securebase.store.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    eng = create_engine(url)
    upgrade(eng, "0001")
    with eng.begin() as c:
        c.execute(text("INSERT INTO trials (id, title, protocol_version, protocol_yaml, created_at, locked, "
                       "allocation_count) VALUES ('t1', 'T', '1', 'x', '2026-01-01 00:00:00', 0, 0)"))
        c.execute(text("INSERT INTO participants (trial_id, participant_id, site_code, status, enrolled_on, age_years, "
                       "age_band, strata) VALUES ('t1', 'T-0001', 'LA01', 'randomised', '2026-01-02', 9.5, '5-10', '{}')"))
    eng.dispose()
    st = open_store(url)  # migrates to head
    with st.read() as s:
        p = s.execute(select(Participant)).scalar_one()
        assert (p.participant_id, p.enrolled_on, p.age_years) == ("T-0001", date(2026, 1, 2), 9.5)
    st.dispose()
    eng = create_engine(url)
    with eng.connect() as c:
        idx = {r[1] for r in c.execute(text("PRAGMA index_list('visits')"))}
    eng.dispose()
    assert "ix_visits_trial_status_window" in idx

