"""People and placements on SQLite and PostgreSQL: versioned encrypted contacts, carer links driven by
placement moves (consent task, redirected questionnaires), the teacher per school year, re-consent at 16/18."""

from __future__ import annotations

from datetime import timedelta

import pytest
from people_world import KEY, child_with_people
from sqlalchemy import select
from trial_world import actor, days_ago

from securebase.errors import ConflictError, FieldError, PermissionDenied
from securebase.store.tables import AuditRecord, Participant, PersonContact, PersonLink
from securebase.trial import people
from securebase.trial.people.links import school_year


def test_contact_details_are_versioned_encrypted_and_audited(care_trial) -> None:  # type: ignore[no-untyped-def]
    w = child_with_people(care_trial)
    a = w["actor"]
    with care_trial.unit_of_work(actor="rec1") as uow:
        v = people.update_contact(uow, a, w["carer"], {"email": "carer.new@example.org"}, encryption_key=KEY)
        uow.commit()
    assert v == 2
    with care_trial.unit_of_work(actor="rec1") as uow:
        now = people.current_contact(uow, a, w["carer"], encryption_key=KEY)
        uow.commit()
    assert now == {"name": "Carer One", "email": "carer.new@example.org", "version": 2}
    with care_trial.read() as s:
        rows = s.execute(select(PersonContact).order_by(PersonContact.id)).scalars().all()
        hist = people.contact_history(s, a, w["carer"])
        audit = s.execute(select(AuditRecord).where(AuditRecord.table_name == "person_contacts")).scalars().all()
    blob = b"".join(r.ciphertext for r in rows)
    assert b"carer.new@example.org" not in blob and b"Carer One" not in blob
    assert [h["version"] for h in hist] == [1, 2]
    assert hist[0]["superseded_at"] is not None and hist[1]["superseded_at"] is None
    assert "carer.new" not in "".join((r.new or "") + (r.old or "") for r in audit)
    assert {r.action for r in audit} >= {"insert", "update", "contact_read"}


def test_bad_contact_is_refused_with_field_and_value(care_trial) -> None:  # type: ignore[no-untyped-def]
    w = child_with_people(care_trial)
    with care_trial.unit_of_work(actor="rec1") as uow, pytest.raises(FieldError, match="email.*not-an-address"):
        people.add_person(uow, w["actor"], kind="carer", site_code="LA01", contact={"email": "not-an-address"},
                          encryption_key=KEY)
    bstat = actor(care_trial, "bstat")
    with care_trial.unit_of_work(actor="bstat") as uow, pytest.raises(PermissionDenied):
        people.current_contact(uow, bstat, w["carer"], encryption_key=KEY)


def test_placement_move_ends_one_link_starts_another_and_opens_consent(care_trial) -> None:  # type: ignore[no-untyped-def]
    w = child_with_people(care_trial)
    a, pid = w["actor"], w["participant_id"]
    with care_trial.unit_of_work(actor="rec1") as uow:
        new = people.add_person(uow, a, kind="carer", site_code="LA01", contact={"name": "Carer Two",
                                "email": "carer.two@example.org"}, encryption_key=KEY)
        out = people.placement_move(uow, a, pid, new.reference, moved_on=days_ago(5))
        uow.commit()
    assert out["ended_links"] == 1 and out["new_carer"] == new.reference
    with care_trial.read() as s:
        p = s.execute(select(Participant).where(Participant.participant_id == pid)).scalar_one()
        assert people.current_carer(s, p.id, days_ago(6)).reference == w["carer"]
        assert people.current_carer(s, p.id, days_ago(5)).reference == new.reference
        links = s.execute(select(PersonLink).where(PersonLink.participant_pk == p.id, PersonLink.relation == "carer")
                          .order_by(PersonLink.id)).scalars().all()
        tasks = people.open_tasks(s, a, participant_id=pid)
    assert [(str(x.starts_on), str(x.ends_on)) for x in links][1] == (str(days_ago(5)), "None")
    assert links[0].ends_on == days_ago(5) and links[0].end_reason == "placement move"
    assert [(t["kind"], t["person"], t["due_on"]) for t in tasks] == [
        ("carer_consent", new.reference, (days_ago(5) + timedelta(days=28)).isoformat())]
    with care_trial.unit_of_work(actor="rec1") as uow, pytest.raises(ConflictError, match="already the carer"):
        people.placement_move(uow, a, pid, new.reference, moved_on=days_ago(1))
    with care_trial.unit_of_work(actor="rec1") as uow:
        people.close_task(uow, a, tasks[0]["id"])
        uow.commit()
    with care_trial.read() as s:
        assert people.open_tasks(s, a, participant_id=pid) == []


def test_teacher_linked_per_school_year(care_trial) -> None:  # type: ignore[no-untyped-def]
    w = child_with_people(care_trial)
    a, pid = w["actor"], w["participant_id"]
    this_year = school_year(days_ago(0))
    first = int(this_year[:4])
    next_year = f"{first + 1}/{(first + 2) % 100:02d}"
    with care_trial.unit_of_work(actor="rec1") as uow:
        t2 = people.add_person(uow, a, kind="teacher", site_code="LA01", contact={"name": "Teacher Two"},
                               encryption_key=KEY)
        people.link_teacher(uow, a, pid, t2.reference, year=next_year)
        uow.commit()
    with care_trial.read() as s:
        p = s.execute(select(Participant).where(Participant.participant_id == pid)).scalar_one()
        from datetime import date
        assert people.teacher_for(s, p.id, date(first, 12, 1)).reference == w["teacher"]
        assert people.teacher_for(s, p.id, date(first + 1, 10, 1)).reference == t2.reference
        assert people.teacher_for(s, p.id, date(first + 3, 10, 1)) is None
    with care_trial.unit_of_work(actor="rec1") as uow, pytest.raises(FieldError, match="2026/28"):
        people.link_teacher(uow, a, pid, t2.reference, year="2026/28")
    with care_trial.unit_of_work(actor="rec1") as uow, pytest.raises(FieldError, match="a teacher"):
        people.link_teacher(uow, a, pid, w["carer"], year=next_year)


def test_reconsent_tasks_at_16_and_18(care_trial) -> None:  # type: ignore[no-untyped-def]
    w = child_with_people(care_trial, age=15)
    a, pid = w["actor"], w["participant_id"]
    with care_trial.read() as s:
        p = s.execute(select(Participant).where(Participant.participant_id == pid)).scalar_one()
        age_now = people.age_on(p, days_ago(0))
    sixteen = days_ago(0) + timedelta(days=int((16 - age_now) * 365.25) + 2)
    eighteen = days_ago(0) + timedelta(days=int((18 - age_now) * 365.25) + 2)
    with care_trial.unit_of_work(actor="rec1") as uow:
        assert people.open_reconsent_tasks(uow, a, on=sixteen - timedelta(days=5)) == []
        got16 = people.open_reconsent_tasks(uow, a, on=sixteen)
        again = people.open_reconsent_tasks(uow, a, on=sixteen + timedelta(days=30))
        got18 = people.open_reconsent_tasks(uow, a, on=eighteen)
        uow.commit()
    assert [t["kind"] for t in got16] == ["reconsent_16"] and again == []
    assert [t["kind"] for t in got18] == ["reconsent_18"]
    assert abs((sixteen - __import__("datetime").date.fromisoformat(got16[0]["due_on"])).days) <= 3
