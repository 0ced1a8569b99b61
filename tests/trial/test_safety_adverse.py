"""Adverse events: the 15-day clock from awareness, versioned follow-up, the overdue list across a month
boundary and a leap day (2028-02-29), and errors that name the field. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from trial_world import actor

from securebase.errors import BlindingError, FieldError, PermissionDenied
from securebase.trial.safety import adverse

LATER = date(2028, 3, 31)  # "today" for recording events dated in 2028


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def world(request, tmp_path_factory):  # type: ignore[no-untyped-def]
    from safety_world import safety_world

    w = safety_world(request, tmp_path_factory)
    yield w
    w["close"]()


def _sae(store, pid, onset, aware, *, related="possibly", expected="unexpected", serious=True):  # type: ignore[no-untyped-def]
    with store.unit_of_work(actor="rec1") as uow:
        ae = adverse.record_adverse_event(uow, actor(store, "tm"), pid, category="self_harm",
                                          description="cut her arm; treated in A&E and admitted", onset_on=onset,
                                          aware_on=aware, serious=serious,
                                          seriousness=["hospitalisation"] if serious else [], today=LATER)
        adverse.assess(uow, actor(store, "ci"), ae.id, relatedness=related, expectedness=expected)
        uow.commit()
        return ae.id, ae.report_due_on


def test_due_fifteen_days_from_awareness_whatever_the_event_date(world) -> None:  # type: ignore[no-untyped-def]
    store, pid = world["store"], world["inter"]
    _, due_a = _sae(store, pid, date(2028, 1, 3), date(2028, 2, 14))
    _, due_b = _sae(store, pid, date(2028, 2, 13), date(2028, 2, 14))
    assert due_a == due_b == date(2028, 2, 29)  # leap day: learned 14 Feb 2028, whatever the onset
    assert _sae(store, pid, date(2028, 1, 31), date(2028, 1, 31))[1] == date(2028, 2, 15)
    assert _sae(store, pid, date(2027, 12, 1), date(2027, 12, 25))[1] == date(2028, 1, 9)  # year boundary
    assert _sae(store, pid, date(2028, 1, 3), date(2028, 2, 14), related="unlikely")[1] is None
    assert _sae(store, pid, date(2028, 1, 3), date(2028, 2, 14), expected="expected")[1] is None
    assert _sae(store, pid, date(2028, 1, 3), date(2028, 2, 14), serious=False)[1] is None
    assert adverse.report_due(True, "definitely", "unexpected", date(2028, 2, 14)) == date(2028, 2, 29)
    assert adverse.report_due(True, "definitely", "unexpected", date(2027, 2, 14)) == date(2027, 3, 1)


def test_overdue_list_across_a_month_boundary_and_a_leap_day(world) -> None:  # type: ignore[no-untyped-def]
    store, pid = world["store"], world["usual"]
    jan20, _ = _sae(store, pid, date(2028, 1, 19), date(2028, 1, 20))   # due 2028-02-04
    feb14, _ = _sae(store, pid, date(2028, 2, 10), date(2028, 2, 14))   # due 2028-02-29
    ours = {jan20, feb14}
    dm = actor(store, "ustat")

    def listed(on: date) -> list[tuple[int, int]]:
        with store.read() as s:
            return [(r["id"], r["days_overdue"]) for r in adverse.overdue(s, dm, on) if r["id"] in ours]
    assert listed(date(2028, 2, 4)) == []                       # due today: not yet overdue
    assert listed(date(2028, 2, 5)) == [(jan20, 1)]             # crosses into February
    assert listed(date(2028, 2, 29)) == [(jan20, 25)]           # 2028 is a leap year: Feb has 29 days
    assert listed(date(2028, 3, 1)) == [(jan20, 26), (feb14, 1)]
    with store.unit_of_work(actor="ci") as uow:
        adverse.mark_reported(uow, actor(store, "ci"), jan20, date(2028, 2, 20), today=LATER)
        uow.commit()
    assert listed(date(2028, 3, 1)) == [(feb14, 1)]


def test_follow_up_keeps_every_version(world) -> None:  # type: ignore[no-untyped-def]
    store, pid = world["store"], world["inter"]
    ae_id, _ = _sae(store, pid, date(2028, 3, 1), date(2028, 3, 2))
    with store.unit_of_work(actor="rec1") as uow:
        adverse.follow_up(uow, actor(store, "dm"), ae_id, note="discharged after 3 days", outcome="resolved")
        adverse.follow_up(uow, actor(store, "dm"), f"AE-{ae_id:04d}", note="turned out less serious",
                          serious=False, seriousness=[])
        uow.commit()
    with store.read() as s:
        vs = adverse.versions(s, actor(store, "ci"), ae_id)
        now = adverse.list_adverse_events(s, actor(store, "ci"), participant_id=pid)
        blind = adverse.list_adverse_events(s, actor(store, "dm"), participant_id=pid)
        assert {e["relatedness"] for e in blind} == {"withheld"} and {e["report_due_on"] for e in blind} == {"withheld"}
        assert {v["relatedness"] for v in adverse.versions(s, actor(store, "dm"), ae_id)} == {"withheld"}
        with pytest.raises(BlindingError):
            adverse.overdue(s, actor(store, "dm"))
    assert [(v["version"], v["kind"]) for v in vs] == [(1, "initial"), (2, "assessment"), (3, "follow_up"),
                                                      (4, "follow_up")]
    assert [v["outcome"] for v in vs] == ["ongoing", "ongoing", "resolved", "resolved"]
    assert [v["report_due_on"] for v in vs] == [None, "2028-03-17", "2028-03-17", None]
    assert [v["serious"] for v in vs] == [True, True, True, False]
    assert vs[2]["note"] == "discharged after 3 days"
    mine = next(e for e in now if e["id"] == ae_id)
    assert mine["version"] == 4 and not mine["serious"] and mine["report_due_on"] is None
    assert "arm" not in mine


def test_bad_input_names_the_field(world) -> None:  # type: ignore[no-untyped-def]
    store, pid = world["store"], world["inter"]
    tm = actor(store, "tm")
    with store.unit_of_work(actor="tm") as uow:
        with pytest.raises(FieldError, match="adverse_event_id.*AE-9999|adverse_event_id") as err:
            adverse.follow_up(uow, tm, 9999, note="more news")
        assert err.value.field == "adverse_event_id" and "record the event first" in str(err.value)
        with pytest.raises(FieldError, match="adverse_event_id"):
            adverse.follow_up(uow, tm, "AE-x", note="more news")
        with pytest.raises(FieldError, match="category.*placement_breakdown"):
            adverse.record_adverse_event(uow, tm, pid, category="sunburn", description="x", onset_on="2026-01-01")
        with pytest.raises(FieldError, match="seriousness.*at least one"):
            adverse.record_adverse_event(uow, tm, pid, category="self_harm", description="x", onset_on="2026-01-01",
                                         serious=True)
        with pytest.raises(FieldError, match="aware_on.*on or after the onset"):
            adverse.record_adverse_event(uow, tm, pid, category="self_harm", description="x", onset_on="2026-01-05",
                                         aware_on="2026-01-01")
        ae = adverse.record_adverse_event(uow, tm, pid, category="missing_episode", description="missing 2 nights",
                                          onset_on="2026-01-01", aware_on="2026-01-02", serious=True,
                                          seriousness=["missing_over_24h"])
        with pytest.raises(FieldError, match="assessed_by.*chief_investigator.*trial_manager"):
            adverse.assess(uow, tm, ae.id, relatedness="possibly", expectedness="unexpected")
        with pytest.raises(FieldError, match="relatedness"):
            adverse.assess(uow, actor(store, "ci"), ae.id, relatedness="maybe", expectedness="unexpected")
    with store.unit_of_work(actor="coder") as uow, pytest.raises(PermissionDenied):
        adverse.record_adverse_event(uow, actor(store, "coder"), pid, category="self_harm", description="x",
                                     onset_on="2026-01-01")
