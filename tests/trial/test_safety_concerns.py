"""Safeguarding concerns on SQLite and PostgreSQL, with alerts through a real local SMTP server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from trial_world import actor

from securebase.errors import FieldError, NotFound, PermissionDenied
from securebase.notify import SmtpMailer
from securebase.store.tables import AuditRecord, SafeguardingConcern
from securebase.trial.audit_view import participant_history
from securebase.trial.safety import concerns

SAFETY_USERS = {"dsl": ("safeguarding_lead", None), "ci": ("chief_investigator", None),
                "assessor": ("outcome_assessor", None)}
SAID = "MARKER child said the carer locks her in her room at night"


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def world(request, tmp_path_factory):  # type: ignore[no-untyped-def]
    """One trial world per backend for the module (building one takes ~15 s); tests use their own concerns."""
    from safety_world import safety_world

    w = safety_world(request, tmp_path_factory)
    yield w
    w["close"]()


def _raise(store, user, pid, mailer=None, **kw):  # type: ignore[no-untyped-def]
    with store.unit_of_work(actor=user) as uow:
        c = concerns.raise_concern(uow, actor(store, user), pid, source=kw.pop("source", "visit"),
                                   what_seen_or_said=kw.pop("what", SAID),
                                   immediate_action=kw.pop("action", "stayed with the child; told the carer nothing"),
                                   mailer=mailer, base_url="https://trial.example.org", **kw)
        uow.commit()
        return c.id


def test_assessor_raises_lead_is_alerted_and_sees_the_task(world, smtp_inbox) -> None:  # type: ignore[no-untyped-def]
    store = world["store"]
    mailer = SmtpMailer(smtp_inbox.host, smtp_inbox.port, sender="trial@example.org")
    cid = _raise(store, "assessor", world["inter"], mailer, source_detail="6-month visit, during the SDQ")
    assert len(smtp_inbox.received) == 1
    mail = smtp_inbox.received[0]
    assert smtp_inbox.envelopes[0] == ("trial@example.org", ["dsl@example.org"])
    assert mail["Subject"] == f"Safeguarding concern SG-{cid:04d} (ng26-care): sign-off needed"
    body = mail.get_payload(decode=True).decode()
    assert world["inter"] in body and f"/trials/ng26-care/safeguarding/{cid}" in body
    assert "MARKER" not in body and "intervention" not in body.lower()
    with store.read() as s:
        tasks = [t for t in concerns.task_list(s, actor(store, "dsl")) if t["id"] == cid]
        assert [t["reference"] for t in tasks] == [f"SG-{cid:04d}"]
        assert tasks[0]["alert"] == "sent" and tasks[0]["status"] == "open" and not tasks[0]["overdue"]
        for who in ("dsl", "ci", "assessor"):
            assert concerns.get_concern(s, actor(store, who), cid)["what_seen_or_said"] == SAID
        for who in ("tm", "dm", "rec1", "assessor1", "assessor2", "coder", "bstat", "ustat", "qual", "admin"):
            with pytest.raises(NotFound):
                concerns.get_concern(s, actor(store, who), cid)
        for who in ("assessor", "tm", "admin"):
            with pytest.raises(PermissionDenied):
                concerns.task_list(s, actor(store, who))


def test_referral_sign_off_follow_up_and_audit(world) -> None:  # type: ignore[no-untyped-def]
    store = world["store"]
    cid = _raise(store, "assessor", world["usual"])
    with store.read() as s:
        raised = s.get(SafeguardingConcern, cid).raised_at
    dsl = actor(store, "dsl")
    with store.unit_of_work(actor="dsl") as uow:
        with pytest.raises(FieldError, match="referral_at") as err:
            concerns.record_referral(uow, dsl, cid, made=True, to="LA01 MASH", reference_number="MASH-1",
                                     at=raised - timedelta(hours=2))
        assert err.value.field == "referral_at" and "not before the concern was raised" in str(err.value)
    with store.unit_of_work(actor="assessor") as uow:
        with pytest.raises(PermissionDenied, match="signed_off_by.*safeguarding_lead.*outcome_assessor"):
            concerns.sign_off(uow, actor(store, "assessor"), cid, assessment="fine")
    with store.unit_of_work(actor="tm") as uow:
        with pytest.raises(NotFound):  # the trial manager cannot even see it
            concerns.sign_off(uow, actor(store, "tm"), cid, assessment="fine")
    with store.unit_of_work(actor="ci") as uow:
        with pytest.raises(PermissionDenied, match="signed_off_by"):
            concerns.sign_off(uow, actor(store, "ci"), cid, assessment="fine")
    when = raised + timedelta(minutes=40)
    with store.unit_of_work(actor="dsl") as uow:
        concerns.record_referral(uow, dsl, cid, made=True, to="LA01 MASH", reference_number="MASH-2026-0042",
                                 at=when.strftime("%Y-%m-%d %H:%M:%S.%f"), now=raised + timedelta(hours=1))
        concerns.sign_off(uow, dsl, cid, assessment="Referral right; strategy meeting called",
                          now=raised + timedelta(hours=3))
        concerns.add_follow_up(uow, dsl, cid, "Strategy meeting held; child protection plan", close=True)
        uow.commit()
    with store.read() as s:
        got = concerns.get_concern(s, dsl, cid)
        assert got["status"] == "closed" and got["referral_reference"] == "MASH-2026-0042"
        assert got["referral_at"] == when.strftime("%Y-%m-%d %H:%M") and got["hours_since_raised"] == 3.0
        assert [f["note"] for f in got["follow_ups"]] == ["Strategy meeting held; child protection plan"]
        rows = s.execute(select(AuditRecord).where(AuditRecord.table_name.in_(
            ("safeguarding_concerns", "safeguarding_follow_ups"))).order_by(AuditRecord.seq)).scalars().all()
        steps = [(r.action, r.table_name, r.actor) for r in rows]
        assert steps[0] == ("insert", "safeguarding_concerns", "assessor")
        assert ("safeguarding_alert_failed", "safeguarding_concerns", "assessor") in steps  # no mailer given
        reasons = {r.reason for r in rows}
        assert {"safeguarding referral recorded", "safeguarding concern signed off",
                "safeguarding concern closed"} <= reasons
        assert ("insert", "safeguarding_follow_ups", "dsl") in steps
        pid = world["usual"]
        for who in ("tm", "dm", "assessor"):
            hist = participant_history(s, pid, who)
            assert not [h for h in hist if h["table"].startswith("safeguarding")]
            assert "MARKER" not in str(hist)
        assert any(h["table"] == "safeguarding_concerns" for h in participant_history(s, pid, "ci"))


def test_assessor_sees_the_same_whatever_the_arm(world) -> None:  # type: ignore[no-untyped-def]
    store = world["store"]
    a = actor(store, "assessor")
    views = []
    for pid in (world["inter"], world["usual"]):
        cid = _raise(store, "assessor", pid, source="intervention_session")
        with store.read() as s:
            v = concerns.get_concern(s, a, cid)
        for k in ("id", "reference", "participant_id", "site", "raised_at", "sign_off_due_at", "hours_since_raised"):
            v.pop(k)
        views.append(v)
    assert views[0] == views[1]
    with store.read() as s:
        mine = concerns.raised_by_me(s, a)
    assert [m["participant_id"] for m in mine][-2:] == [world["inter"], world["usual"]]
    assert "arm" not in str(mine) and "usual_care" not in str(mine)


def test_clock_and_failed_alert_is_kept_and_resent(world, smtp_inbox) -> None:  # type: ignore[no-untyped-def]
    store = world["store"]
    cid = _raise(store, "tm", world["inter"], SmtpMailer("127.0.0.1", 1, timeout=2), source="phone_call")
    dsl = actor(store, "dsl")
    with store.read() as s:
        raised = s.get(SafeguardingConcern, cid).raised_at
        task = next(t for t in concerns.task_list(s, dsl, now=raised + timedelta(hours=25)) if t["id"] == cid)
        assert task["overdue"] and task["alert"].startswith("not sent: Could not send e-mail")
        assert task["sign_off_due_at"] == (raised + timedelta(hours=24)).strftime("%Y-%m-%d %H:%M")
        assert not next(t for t in concerns.task_list(s, dsl, now=raised + timedelta(hours=23))
                        if t["id"] == cid)["overdue"]
        unsent = s.execute(select(SafeguardingConcern).where(SafeguardingConcern.alert_sent_at.is_(None))).all()
    with store.unit_of_work(actor="dsl") as uow:
        assert concerns.resend_alerts(uow, dsl, SmtpMailer(smtp_inbox.host, smtp_inbox.port)) == len(unsent)
        uow.commit()
    assert len(smtp_inbox.received) == len(unsent)
    with store.read() as s:
        assert concerns.get_concern(s, dsl, cid)["alert"] == "sent"


def test_bad_input_names_the_field(world) -> None:  # type: ignore[no-untyped-def]
    store = world["store"]
    a = actor(store, "assessor")
    with store.unit_of_work(actor="assessor") as uow:
        with pytest.raises(FieldError, match="source"):
            concerns.raise_concern(uow, a, world["inter"], source="gossip", what_seen_or_said="x")
        with pytest.raises(FieldError, match="what_seen_or_said"):
            concerns.raise_concern(uow, a, world["inter"], source="visit", what_seen_or_said="   ")
        other_site = world["la02"]
        with pytest.raises(NotFound):  # another site's participant
            concerns.raise_concern(uow, actor(store, "assessor1"), other_site, source="visit",
                                   what_seen_or_said="x")
    cid = _raise(store, "assessor", world["inter"])
    with store.unit_of_work(actor="dsl") as uow:
        with pytest.raises(FieldError, match="referral_at.*YYYY-MM-DD"):
            concerns.record_referral(uow, actor(store, "dsl"), cid, made=True, to="MASH", reference_number="1",
                                     at="yesterday")
        with pytest.raises(FieldError, match="referral_at.*future"):
            concerns.record_referral(uow, actor(store, "dsl"), cid, made=True, to="MASH", reference_number="1",
                                     at=datetime.now(UTC) + timedelta(days=1))
        with pytest.raises(FieldError, match="referral_made"):
            concerns.sign_off(uow, actor(store, "dsl"), cid, assessment="ok")
