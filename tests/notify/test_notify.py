"""E-mail through a real local SMTP server; outbox adapters; clear errors."""

from __future__ import annotations

import json

import pytest

from securebase.errors import InputError
from securebase.notify import (
    FileMailer,
    FileSmsGateway,
    Message,
    NotificationFailed,
    SmsMessage,
    SmtpMailer,
    mailer_from_settings,
)
from securebase.settings import Settings


def test_smtp_mailer_delivers_to_a_real_server(smtp_inbox) -> None:  # type: ignore[no-untyped-def]
    mailer = SmtpMailer(smtp_inbox.host, smtp_inbox.port, sender="trial@example.org")
    mid = mailer.send(Message(("lead@example.org",), "Safeguarding concern CARE-0007", "Please review."))
    assert len(smtp_inbox.received) == 1
    got = smtp_inbox.received[0]
    assert got["Subject"] == "Safeguarding concern CARE-0007"
    assert got["Message-ID"] == mid
    assert smtp_inbox.envelopes[0] == ("trial@example.org", ["lead@example.org"])
    assert "Please review." in got.get_payload()


def test_settings_choose_smtp_when_host_is_set(smtp_inbox, tmp_path) -> None:  # type: ignore[no-untyped-def]
    s = Settings(smtp_host=smtp_inbox.host, smtp_port=smtp_inbox.port, mail_outbox=tmp_path)
    mailer_from_settings(s).send(Message(("a@example.org",), "x", "y"))
    assert len(smtp_inbox.received) == 1
    assert not list(tmp_path.iterdir())


def test_unreachable_server_is_a_named_failure() -> None:
    mailer = SmtpMailer("127.0.0.1", 1, timeout=2)
    with pytest.raises(NotificationFailed, match="127.0.0.1:1.*SECUREBASE_SMTP_HOST"):
        mailer.send(Message(("a@example.org",), "x", "y"))


def test_file_outboxes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    fm = FileMailer(tmp_path / "mail")
    fm.send(Message(("a@example.org", "b@example.org"), "Invitation", "Link inside"))
    assert fm.messages()[0]["to"] == ["a@example.org", "b@example.org"]
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 1
    gw = FileSmsGateway(tmp_path / "sms")
    gw.send(SmsMessage("+447700900123", "Your questionnaire link"))
    assert json.loads(next((tmp_path / "sms").glob("*.json")).read_text())["to"] == "+447700900123"


@pytest.mark.parametrize("to", ["", "not-an-address", "a@example.org\nBcc: x@example.org"])
def test_bad_recipient_names_the_value(to: str) -> None:
    with pytest.raises(InputError, match="recipient|at least one"):
        Message((to,) if to else (), "s", "b")


def test_bad_sms_number_names_the_value() -> None:
    with pytest.raises(InputError, match="07700 900123|'07700900123'.*international"):
        SmsMessage("07700900123", "x")
