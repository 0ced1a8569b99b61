"""Demo step: carers, teachers and young people answer questionnaires through their own links.

Three more children are recruited through the real services (randomised 190 days ago, so the 6-month window is
open), each with a carer (e-mail), a teacher (e-mail) and, from 11, the young person themself (SMS). The
invitations go to a file outbox (``outbox/mail``, ``outbox/sms`` under the demo folder); each respondent opens the
link in the web app's respondent pages (HTTP form posts, no JavaScript), some save and come back before sending.
One child then moves to a new carer: the old carer's links stop working, a consent task opens for the new carer,
and the next invitation goes to the new carer, who answers. Synthetic data only.
"""

from __future__ import annotations

import random
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from securebase.instruments import load_instrument
from securebase.notify import FileMailer, FileSmsGateway
from securebase.store import Store
from securebase.store.crypto import new_key
from securebase.trial import consent, enrol, invitations, people, screening
from securebase.trial.invitations import Channels
from securebase.trial.people.links import school_year
from securebase.trial.randomise import randomise
from securebase.trial.roles import Actor, Role

AGES = (9, 12, 14)


def _answers(instrument: str, rng: random.Random) -> dict[str, str]:
    out = {}
    for it in load_instrument(instrument).items:
        if it.allowed:
            out[it.code] = str(rng.choice(list(it.allowed)))
        elif it.response_type == "date":
            out[it.code] = (date.today() - timedelta(days=30)).isoformat()
        elif it.response_type in ("integer", "decimal"):
            lo = it.minimum if isinstance(it.minimum, (int, float)) else 0
            out[it.code] = str(int(lo) + rng.randint(0, 2))
        else:
            out[it.code] = "synthetic answer"
    return out


def _recruit(store: Store, rec: Actor, age: int, today: date) -> str:
    r0 = today - timedelta(days=190)
    answers = {"date_of_birth": (r0 - timedelta(days=21 + int((age + 0.3) * 365.25))).isoformat(),
               "care_status": "foster", "carer_available": True, "placement_ending_planned": False}
    with store.unit_of_work(actor=rec.username) as uow:
        sn = screening.screen(uow, rec, site_code="LA01", answers=answers, screened_on=r0 - timedelta(days=21)).screening_number
        screening.record_approach(uow, rec, sn, approached=True)
        for kind, role in (("carer_consent", "foster_carer"), ("child_assent", "child"), ("la_consent", "social_worker")):
            consent.record_consent(uow, rec, sn, kind=kind, form_version="1.0", signatory_role=role,
                                   signed_on=r0 - timedelta(days=14))
        pid = enrol.enrol(uow, rec, sn, sex="female", enrolled_on=r0 - timedelta(days=7)).participant_id
        randomise(uow, rec, pid, on=r0)
        uow.commit()
    return pid


def _answer(client: Any, url: str, instrument: str, rng: random.Random, *, save_first: bool) -> int:
    """Open the link and answer as the respondent would: optionally save half and come back, then send."""
    path = url.split("://", 1)[-1].split("/", 1)[1]
    page = client.get("/" + path)
    if page.status_code != 200:
        return page.status_code
    answers = _answers(instrument, rng)
    form = {f"item-{k}": v for k, v in answers.items()}
    if save_first:
        half = dict(list(form.items())[: len(form) // 2])
        client.post("/" + path, data={**half, "action": "save"})
        again = client.get("/" + path)
        assert len(re.findall(r" checked>", again.text)) >= 1
    return client.post("/" + path, data={**form, "action": "submit"}, follow_redirects=False).status_code


def run_people_demo(store: Store, trial_id: str, out: Path, *, seed: int = 20, console: Any = None,
                    settings: Any = None) -> dict[str, Any]:
    """Run the step on ``store`` (the demo's, with users ``rec_la01``); returns what happened, by count."""
    from fastapi.testclient import TestClient

    from securebase.settings import Settings
    from securebase.web import create_app

    rng = random.Random(seed)
    key = new_key()
    today = date.today()
    rec = Actor("rec_la01", trial_id, frozenset({Role.site_recruiter}), frozenset({"LA01"}))
    ch = Channels(FileMailer(out / "outbox" / "mail"), FileSmsGateway(out / "outbox" / "sms"),
                  "http://127.0.0.1:8000", key)
    kids = []
    for i, age in enumerate(AGES):
        pid = _recruit(store, rec, age, today)
        with store.unit_of_work(actor=rec.username) as uow:
            carer = people.add_person(uow, rec, kind="carer", site_code="LA01", household=f"DEMO-HH-{i + 1}",
                                      contact={"name": f"Demo Carer {i + 1}", "email": f"carer{i + 1}@example.org"},
                                      encryption_key=key)
            teacher = people.add_person(uow, rec, kind="teacher", site_code="LA01", encryption_key=key,
                                        contact={"name": f"Demo Teacher {i + 1}", "email": f"teacher{i + 1}@example.org"})
            people.link_carer(uow, rec, pid, carer.reference, starts_on=today - timedelta(days=400))
            people.link_teacher(uow, rec, pid, teacher.reference, year=school_year(today))
            if age >= 11:
                yp = people.add_person(uow, rec, kind="young_person", site_code="LA01", encryption_key=key,
                                       contact={"name": f"Demo Young Person {i + 1}", "mobile": f"+4477009001{i:02d}"})
                people.link_self(uow, rec, pid, yp.reference, starts_on=today - timedelta(days=400))
            uow.commit()
        kids.append((pid, carer.reference))
    with store.unit_of_work(actor=rec.username) as uow:
        sent = invitations.send_invitations(uow, rec, ch, on=today)
        uow.commit()
    from securebase.demo_security import demo_secret

    app = create_app(settings or Settings(database_url=store.url, encryption_key=key,
                                          secret_file=str(demo_secret(out))), store=store,
                     secure_cookies=False)
    client = TestClient(app, client=("192.0.2.10", 50000))
    submitted = 0
    by_person: dict[str, list[dict[str, Any]]] = {}
    for link in sent.links:
        by_person.setdefault(link["person"], []).append(link)
    moved_pid, old_carer = kids[0]
    for person, links in by_person.items():
        if person == old_carer:
            links = [x for x in links if x["instrument"] != "sdq_parent"]  # this carer leaves the SDQ for now
        if person == "YP-0002":
            continue  # this young person does not answer yet: a reminder goes by SMS a week later
        for j, link in enumerate(links):
            if _answer(client, link["url"], link["instrument"], rng, save_first=j == 0) == 303:
                submitted += 1
    with store.unit_of_work(actor=rec.username) as uow:
        new = people.add_person(uow, rec, kind="carer", site_code="LA01", household="DEMO-HH-4", encryption_key=key,
                                contact={"name": "Demo New Carer", "email": "newcarer@example.org"})
        moved = people.placement_move(uow, rec, moved_pid, new.reference, moved_on=today - timedelta(days=1),
                                      reason="planned move to a new foster placement")
        again = invitations.send_invitations(uow, rec, ch, on=today)
        uow.commit()
    old_link = next(x for x in by_person[old_carer] if x["instrument"] == "sdq_parent")
    old_status = _answer(client, old_link["url"], "sdq_parent", rng, save_first=False)
    for link in again.links:
        if _answer(client, link["url"], link["instrument"], rng, save_first=False) == 303:
            submitted += 1
    with store.unit_of_work(actor=rec.username) as uow:
        reminded = invitations.send_reminders(uow, rec, ch, on=today + timedelta(days=7))
        uow.commit()
    with store.read() as s:
        tasks = people.open_tasks(s, rec, participant_id=moved_pid)
    summary = {"children": len(kids), "invitations": sent.invitations + again.invitations,
               "skipped_for_age": sent.skipped_age, "submitted": submitted, "reminders": reminded.reminders,
               "moved_child": moved_pid, "new_carer": new.reference, "revoked_links": moved["revoked_invitations"],
               "old_link_status": old_status, "consent_tasks": [t["kind"] for t in tasks],
               "outbox": str(out / "outbox")}
    if console is not None:
        console.print(f"Questionnaires by link: {summary['invitations']} invitations ({summary['skipped_for_age']} "
                      f"questionnaires not sent for age), {submitted} answered online, {reminded.reminders} reminders; "
                      f"{moved_pid} moved to {new.reference}: {summary['revoked_links']} old links revoked "
                      f"(old link now HTTP {old_status}), consent task {', '.join(summary['consent_tasks'])}; "
                      f"messages in {summary['outbox']}")
    return summary


__all__ = ["run_people_demo"]
