"""A child with a carer, a teacher and (when old enough) themself as respondents, built through the services."""

from __future__ import annotations

from typing import Any

from trial_world import actor, add_users, days_ago, enrol_and_randomise

from securebase.store import Store
from securebase.store.crypto import new_key
from securebase.trial import people
from securebase.trial.people.links import school_year

KEY = new_key()


def child_with_people(store: Store, *, age: int = 9, site: str = "LA01", user: str = "rec1",
                      users: bool = True, carer_email: str = "carer.one@example.org",
                      teacher_mobile: str | None = None, back: int = 200) -> dict[str, Any]:
    if users:
        add_users(store)
    pid, arm = enrol_and_randomise(store, user, site, age=age, back=back)
    a = actor(store, user)
    with store.unit_of_work(actor=user) as uow:
        carer = people.add_person(uow, a, kind="carer", site_code=site, household="HH-1",
                                  contact={"name": "Carer One", "email": carer_email}, encryption_key=KEY)
        teacher = people.add_person(uow, a, kind="teacher", site_code=site,
                                    contact={"name": "Teacher One", "email": None if teacher_mobile else
                                             "teacher.one@example.org", "mobile": teacher_mobile,
                                             "school": "Hill Primary"}, encryption_key=KEY)
        people.link_carer(uow, a, pid, carer.reference, starts_on=days_ago(400))
        people.link_teacher(uow, a, pid, teacher.reference, year=school_year(days_ago(0)))
        yp = None
        if age >= 11:
            yp = people.add_person(uow, a, kind="young_person", site_code=site,
                                   contact={"name": "Young Person", "mobile": "+447700900123"}, encryption_key=KEY)
            people.link_self(uow, a, pid, yp.reference, starts_on=days_ago(400))
        uow.commit()
    return {"participant_id": pid, "arm": arm, "carer": carer.reference, "teacher": teacher.reference,
            "young_person": yp.reference if yp else None, "actor": a}
