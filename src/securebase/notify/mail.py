"""E-mail: a small port (:class:`Mailer`) with an SMTP adapter and an outbox-folder adapter."""

from __future__ import annotations

import json
import smtplib
import ssl
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from securebase.errors import ConfigurationError, InputError

if TYPE_CHECKING:
    from securebase.settings import Settings


class NotificationFailed(ConfigurationError):
    """A message could not be handed to the mail server or gateway."""


@dataclass(frozen=True)
class Message:
    """One e-mail. ``body`` is plain text; no identifiers of children belong in it (use trial ids)."""

    to: tuple[str, ...]
    subject: str
    body: str
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.to:
            raise InputError("An e-mail needs at least one recipient (got none); add the person's e-mail "
                             "address to their user account.")
        for addr in self.to:
            if "@" not in addr or any(c in addr for c in "\r\n ,;"):
                raise InputError(f"E-mail recipient {addr!r} is not a single address like name@example.org; "
                                 "correct the address on the user's account.")
        if any(c in self.subject for c in "\r\n"):
            raise InputError("An e-mail subject must be one line (it contained a line break).")


class Mailer(Protocol):
    def send(self, message: Message) -> str:
        """Hand ``message`` over; return its Message-ID. Raise :class:`NotificationFailed` if it cannot."""
        ...


def _email(message: Message, sender: str) -> EmailMessage:
    em = EmailMessage()
    em["From"] = sender
    em["To"] = ", ".join(message.to)
    em["Subject"] = message.subject
    em["Date"] = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
    domain = sender.rsplit("@", 1)[-1] if "@" in sender else "securebase.invalid"
    em["Message-ID"] = f"<{uuid.uuid4().hex}@{domain}>"
    for k, v in message.headers.items():
        em[k] = v
    em.set_content(message.body)
    return em


@dataclass
class SmtpMailer:
    """Sends through an SMTP server; STARTTLS and log-in when configured."""

    host: str
    port: int = 25
    sender: str = "securebase@localhost"
    starttls: bool = False
    username: str = ""
    password: str = ""
    timeout: float = 10.0

    def send(self, message: Message) -> str:
        em = _email(message, self.sender)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(em)
        except (OSError, smtplib.SMTPException) as exc:
            raise NotificationFailed(
                f"Could not send e-mail {message.subject!r} through SMTP server {self.host}:{self.port} "
                f"({type(exc).__name__}: {exc}). Check SECUREBASE_SMTP_HOST / SECUREBASE_SMTP_PORT and that "
                "the server accepts mail from this machine.", host=self.host, port=self.port) from exc
        return str(em["Message-ID"])


@dataclass
class FileMailer:
    """Writes each message as ``<time>-<id>.eml`` (plus a JSON summary) into ``folder``."""

    folder: Path
    sender: str = "securebase@localhost"

    def send(self, message: Message) -> str:
        em = _email(message, self.sender)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            stem = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f") + "-" + uuid.uuid4().hex[:8]
            (self.folder / f"{stem}.eml").write_bytes(bytes(em))
            (self.folder / f"{stem}.json").write_text(json.dumps(
                {"to": list(message.to), "subject": message.subject, "message_id": em["Message-ID"]}))
        except OSError as exc:
            raise NotificationFailed(f"Could not write e-mail to the outbox folder {self.folder} ({exc}); "
                                     "check SECUREBASE_MAIL_OUTBOX.") from exc
        return str(em["Message-ID"])

    def messages(self) -> list[dict[str, object]]:
        """What the outbox holds, oldest first (for the demo and tests)."""
        return [json.loads(p.read_text()) for p in sorted(self.folder.glob("*.json"))]


def mailer_from_settings(settings: Settings) -> Mailer:
    """An SMTP mailer when ``smtp_host`` is set, otherwise the outbox folder ``mail_outbox``."""
    if settings.smtp_host:
        return SmtpMailer(settings.smtp_host, settings.smtp_port, settings.mail_from, settings.smtp_starttls,
                          settings.smtp_username, settings.smtp_password)
    return FileMailer(Path(settings.mail_outbox), settings.mail_from)
