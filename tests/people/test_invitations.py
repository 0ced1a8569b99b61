"""Invitations on SQLite and PostgreSQL: hashed single-use tokens sent through a real SMTP server (aiosmtpd) and
an SMS file gateway, reminders inside the window, save and resume, submission audited with the respondent,
used/expired/forged links refused, guessing throttled, and a placement move redirecting the next invitation."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from people_world import KEY, child_with_people
from sqlalchemy import select
from trial_world import days_ago, valid_responses

from securebase.notify import FileSmsGateway, SmtpMailer
from securebase.store.tables import (
    AuditRecord,
    Invitation,
    PeopleTask,
    QuestionnaireRespondent,
    Response,
    Score,
    Voucher,
)
from securebase.trial import invitations, link_throttle, people
from securebase.trial.invitations import Channels, LinkNotUsable

TOKEN = re.compile(r"/respond/([A-Za-z0-9_-]{43})")


def channels(inbox, tmp_path) -> Channels:  # type: ignore[no-untyped-def]
    return Channels(SmtpMailer(inbox.host, inbox.port, sender="study@example.org"), FileSmsGateway(tmp_path / "sms"),
                    "https://trial.example.org", KEY)


def tokens_for(inbox, address: str) -> list[str]:  # type: ignore[no-untyped-def]
    out = []
    for m in inbox.received:
        if m["To"] == address:
            out += TOKEN.findall(m.get_payload(decode=True).decode())
    return out


def test_invitations_reach_smtp_and_sms_and_reveal_nothing(care_trial, smtp_inbox, tmp_path) -> None:  # type: ignore[no-untyped-def]
    w = child_with_people(care_trial, age=12)
    ch = channels(smtp_inbox, tmp_path)
    with care_trial.unit_of_work(actor="rec1") as uow:
        res = invitations.send_invitations(uow, w["actor"], ch)
        uow.commit()
    # the 6-month visit is open: carer SDQ, RPQ, EQ-5D-5L, resource use by e-mail; the child's CHU9D by SMS
    assert res.to_dict() == {"invitations": 5, "reminders": 0, "skipped_age": 0, "no_respondent": 0, "no_contact": 0}
    carer_mail = [m for m in smtp_inbox.received if m["To"] == "carer.one@example.org"]
    assert len(carer_mail) == 4
    sms = ch.sms.messages()  # type: ignore[attr-defined]
    assert [s["to"] for s in sms] == ["+447700900123"]
    texts = [m.get_payload(decode=True).decode() for m in carer_mail] + [s["text"] for s in sms]
    for t in texts:
        assert w["participant_id"] not in t and w["arm"] not in t and "CARE-" not in t
    toks = tokens_for(smtp_inbox, "carer.one@example.org") + TOKEN.findall(sms[0]["text"])
    assert len(set(toks)) == 5
    with care_trial.read() as s:
        stored = s.execute(select(Invitation)).scalars().all()
    assert {i.token_hash for i in stored} == {invitations.hash_token(t) for t in toks}
    assert all(t not in i.token_hash for t in toks for i in stored)
    with care_trial.unit_of_work(actor="rec1") as uow:  # a second run sends nothing twice
        assert invitations.send_invitations(uow, w["actor"], ch).invitations == 0


def test_save_resume_submit_then_the_link_is_used(care_trial, smtp_inbox, tmp_path) -> None:  # type: ignore[no-untyped-def]
    w = child_with_people(care_trial, age=9)
    with care_trial.unit_of_work(actor="rec1") as uow:
        res = invitations.send_invitations(uow, w["actor"], channels(smtp_inbox, tmp_path))
        uow.commit()
    link = next(x for x in res.links if x["instrument"] == "sdq_parent")
    answers = valid_responses("sdq_parent")
    first = dict(list(answers.items())[:10])
    with care_trial.unit_of_work(actor="respondent") as uow:
        assert invitations.save_answers(uow, link["token"], first, submit=False)["saved"] == 10
        uow.commit()
    with care_trial.read() as s:  # resume: the same link shows what was saved
        q = invitations.questionnaire(s, invitations.find_invitation(s, link["token"]))
    assert {it["code"]: it["value"] for it in q["items"] if it["value"] is not None} == \
        {k: str(v) for k, v in first.items()}
    with care_trial.unit_of_work(actor="respondent") as uow:
        out = invitations.save_answers(uow, link["token"], answers, submit=True)
        uow.commit()
    assert out == {"saved": len(answers) - 10, "submitted": True, "voucher_pence": 1000}
    with care_trial.read() as s:
        who = s.execute(select(QuestionnaireRespondent)).scalar_one()
        resp = s.execute(select(Response).where(Response.instrument == "sdq_parent")).scalars().all()
        sub = s.execute(select(AuditRecord).where(AuditRecord.action == "questionnaire_submitted")).scalar_one()
        voucher = s.execute(select(Voucher)).scalar_one()
        scores = s.execute(select(Score.scale).where(Score.instrument == "sdq_parent")).scalars().all()
        with pytest.raises(LinkNotUsable) as e:
            invitations.find_invitation(s, link["token"])
    assert e.value.kind == "used"
    assert (who.instrument, who.respondent_type, who.invitation_pk) == ("sdq_parent", "carer", link["invitation"])
    assert {r.entered_by for r in resp} == {f"respondent:{w['carer']}"} and len(resp) == len(answers)
    assert sub.actor == f"respondent:{w['carer']}" and w["carer"] in sub.new and sub.participant_id == w["participant_id"]
    assert voucher.amount_pence == 1000 and voucher.status == "owed"
    assert "total" in scores


def test_forged_expired_revoked_links_open_nothing(care_trial, smtp_inbox, tmp_path) -> None:  # type: ignore[no-untyped-def]
    w = child_with_people(care_trial)
    with care_trial.unit_of_work(actor="rec1") as uow:
        res = invitations.send_invitations(uow, w["actor"], channels(smtp_inbox, tmp_path))
        uow.commit()
    a, b = res.links[0], res.links[1]
    with care_trial.unit_of_work(actor="rec1") as uow:
        uow.session.get(Invitation, a["invitation"]).expires_at = datetime.now(UTC) - timedelta(seconds=1)
        uow.reason = "test: expire the link"
        invitations.revoke(uow, w["actor"], b["invitation"], why="wrong address")
        uow.commit()
    with care_trial.read() as s:
        for tok, kind in ((a["token"], "expired"), (b["token"], "revoked"), ("x" * 43, "unknown"),
                          (a["token"][:-1], "unknown"), ("../../etc/passwd", "unknown")):
            with pytest.raises(LinkNotUsable) as e:
                invitations.find_invitation(s, tok)
            assert e.value.kind == kind
    with care_trial.unit_of_work(actor="respondent") as uow, pytest.raises(LinkNotUsable):
        invitations.save_answers(uow, a["token"], valid_responses(a["instrument"]), submit=True)
    with care_trial.read() as s:
        assert s.execute(select(Response)).first() is None


def test_guessing_is_throttled_per_address_and_prefix(care_trial) -> None:  # type: ignore[no-untyped-def]
    import secrets

    refused = 0
    for _ in range(1000):
        guess = secrets.token_urlsafe(32)
        with care_trial.unit_of_work(actor="respondent") as uow:
            try:
                link_throttle.check(uow.session, "203.0.113.9", guess)
            except link_throttle.TooManyGuesses:
                refused += 1
                continue
            link_throttle.record_failure(uow, "203.0.113.9", guess)
            uow.commit()
    assert refused == 1000 - link_throttle.MAX_PER_ADDRESS
    with care_trial.unit_of_work(actor="respondent") as uow:
        for _ in range(link_throttle.MAX_PER_PREFIX):
            link_throttle.record_failure(uow, f"198.51.100.{_}", "AAAA" + "b" * 39)
        uow.commit()
    with care_trial.read() as s:
        with pytest.raises(link_throttle.TooManyGuesses, match="try again in 15 minutes"):
            link_throttle.check(s, "192.0.2.1", "AAAA" + "c" * 39)
        link_throttle.check(s, "192.0.2.1", "AAAB" + "c" * 39)  # another prefix from a new address is fine


def test_reminders_inside_the_window(care_trial, smtp_inbox, tmp_path) -> None:  # type: ignore[no-untyped-def]
    w = child_with_people(care_trial)
    ch = channels(smtp_inbox, tmp_path)
    with care_trial.unit_of_work(actor="rec1") as uow:
        invitations.send_invitations(uow, w["actor"], ch)
        assert invitations.send_reminders(uow, w["actor"], ch).reminders == 0  # too soon
        uow.commit()
    on = days_ago(0) + timedelta(days=7)
    with care_trial.unit_of_work(actor="rec1") as uow:
        rem = invitations.send_reminders(uow, w["actor"], ch, on=on)
        uow.commit()
    reminders = [m for m in smtp_inbox.received if m["Subject"].startswith("Reminder")]
    assert rem.reminders == 4 and len(reminders) == 4
    first = tokens_for(smtp_inbox, "carer.one@example.org")
    with care_trial.read() as s:  # both the first link and the reminder's link open the questionnaire
        assert all(invitations.find_invitation(s, t) for t in first)
    with care_trial.unit_of_work(actor="rec1") as uow:  # past the window close: no reminder
        assert invitations.send_reminders(uow, w["actor"], ch, on=days_ago(0) + timedelta(days=60)).reminders == 0


def test_placement_move_redirects_next_invitation_and_opens_consent(care_trial, smtp_inbox, tmp_path) -> None:  # type: ignore[no-untyped-def]
    w = child_with_people(care_trial)
    ch = channels(smtp_inbox, tmp_path)
    with care_trial.unit_of_work(actor="rec1") as uow:
        res = invitations.send_invitations(uow, w["actor"], ch)
        uow.commit()
    old = [x["token"] for x in res.links]
    with care_trial.unit_of_work(actor="rec1") as uow:
        new = people.add_person(uow, w["actor"], kind="carer", site_code="LA01",
                                contact={"name": "Carer Two", "email": "carer.two@example.org"}, encryption_key=KEY)
        moved = people.placement_move(uow, w["actor"], w["participant_id"], new.reference, moved_on=days_ago(1))
        again = invitations.send_invitations(uow, w["actor"], ch)
        uow.commit()
    assert moved["revoked_invitations"] == 4 and again.invitations == 4
    assert len(tokens_for(smtp_inbox, "carer.two@example.org")) == 4
    with care_trial.read() as s:
        for t in old:
            with pytest.raises(LinkNotUsable):
                invitations.find_invitation(s, t)
        task = s.execute(select(PeopleTask)).scalar_one()
        assert {i.person_pk for i in s.execute(select(Invitation).where(Invitation.status == "sent")).scalars()} == \
            {new.id}
    assert (task.kind, task.person_pk, task.status) == ("carer_consent", new.id, "open")
