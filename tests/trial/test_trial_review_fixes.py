"""Regressions from the blinding and audit review: each found by reproducing it against a demo store."""

from __future__ import annotations

import pytest
from trial_world import actor, build_world, days_ago

from securebase.errors import FieldError, PermissionDenied, ReasonRequired
from securebase.trial import consent, delivery, queries, visits
from securebase.trial.audit_view import participant_history


@pytest.fixture
def world(care_trial):  # type: ignore[no-untyped-def]
    return care_trial, build_world(care_trial, n_per_site=2)


def _intervention_pid(world) -> str:  # type: ignore[no-untyped-def]
    _, w = world
    return next(pid for site in w["participants"].values() for pid, arm in site if arm == "intervention")


def test_withdrawal_from_the_intervention_is_hidden_from_blinded_audit_views(world) -> None:  # type: ignore[no-untyped-def]
    store, _ = world
    pid = _intervention_pid(world)
    with store.unit_of_work(actor="tm") as uow:
        consent.withdraw(uow, actor(store, "tm"), pid, level="intervention", reason="could not attend the groups")
        uow.commit()
    with store.read() as s:
        seen_by_tm = participant_history(s, pid, "tm")
        seen_by_coder = participant_history(s, pid, "coder")
    assert any(r["table"] == "withdrawals" for r in seen_by_tm)
    assert not any(r["table"] == "withdrawals" for r in seen_by_coder)
    assert "intervention" not in " ".join(str(r["new"]) + str(r["old"]) for r in seen_by_coder)


def test_audit_view_needs_a_reading_role(world) -> None:  # type: ignore[no-untyped-def]
    store, _ = world
    pid = _intervention_pid(world)
    with store.read() as s, pytest.raises(PermissionDenied, match="reading the audit trail"):
        participant_history(s, pid, "qual")


def test_whitespace_is_not_a_reason_for_change(world) -> None:  # type: ignore[no-untyped-def]
    store, w = world
    pid = w["participants"]["LA01"][0][0]
    from sqlalchemy import select

    from securebase.store.tables import Participant

    with pytest.raises(ReasonRequired):
        with store.unit_of_work(actor="dm", reason="   ") as uow:
            p = uow.session.execute(select(Participant).where(Participant.participant_id == pid)).scalar_one()
            p.sex = "male" if p.sex != "male" else "female"
            uow.commit()


def test_visit_assessor_must_be_a_blinded_assessor_of_the_site(world) -> None:  # type: ignore[no-untyped-def]
    store, w = world
    pid = w["participants"]["LA01"][0][0]
    tm = actor(store, "tm")
    with store.unit_of_work(actor="tm") as uow, pytest.raises(FieldError, match="blinded outcome assessor"):
        visits.record_visit_outcome(uow, tm, pid, "baseline", status="completed", completed_on=days_ago(199),
                                    assessor="rec1")
    with store.unit_of_work(actor="tm") as uow:
        visits.record_visit_outcome(uow, tm, pid, "baseline", status="completed", completed_on=days_ago(199),
                                    assessor="assessor1")
        uow.commit()
    with store.unit_of_work(actor="tm") as uow, pytest.raises(ReasonRequired):
        visits.assign_assessor(uow, tm, pid, "baseline", "coder")  # a done visit: changing it is a correction


def test_sessions_before_randomisation_and_control_characters_are_refused(world) -> None:  # type: ignore[no-untyped-def]
    store, _ = world
    pid = _intervention_pid(world)
    tm = actor(store, "tm")
    with store.unit_of_work(actor="tm") as uow, pytest.raises(FieldError, match="on or after randomisation"):
        delivery.record_session(uow, tm, pid, session_number=1, offered_on="2001-01-01", attended=True,
                                therapist="LA01-T1")
    with store.unit_of_work(actor="tm") as uow, pytest.raises(FieldError, match="control characters"):
        delivery.record_session(uow, tm, pid, session_number=1, offered_on=days_ago(150), attended=True,
                                therapist="T\x01")
    from sqlalchemy import select

    from securebase.store.tables import Participant

    with store.read() as s:
        ppk = s.execute(select(Participant.id).where(Participant.participant_id == pid)).scalar_one()
    with store.unit_of_work(actor="dm") as uow, pytest.raises(FieldError, match="control characters"):
        queries.raise_query(uow, actor(store, "dm"), pid, table_name="participants", record_id=ppk, field="sex",
                            question="check\x00this")
