"""Outbound messages: e-mail through an SMTP server and SMS through a pluggable gateway.

Services never talk to SMTP directly: they take a :class:`Mailer` (or :class:`SmsGateway`) built from the
settings by :func:`mailer_from_settings` / :func:`sms_gateway_from_settings`. Two real kinds of each:

- :class:`SmtpMailer` sends through the SMTP server named in settings (``SECUREBASE_SMTP_HOST`` ...);
  tests run a real local server (``aiosmtpd``) and read what it received.
- :class:`FileMailer` / :class:`FileSmsGateway` write each message as a file in an outbox folder, for the
  demo and for sites that hand mail to another system.

A message that cannot be delivered raises :class:`NotificationFailed` (a ``ConfigurationError``) that names
the server and what to check; callers that must not lose a message (safeguarding alerts) keep their own
record of it and retry.
"""

from securebase.notify.mail import (
    FileMailer,
    Mailer,
    Message,
    NotificationFailed,
    SmtpMailer,
    mailer_from_settings,
)
from securebase.notify.sms import FileSmsGateway, SmsGateway, SmsMessage, sms_gateway_from_settings

__all__ = [
    "FileMailer",
    "FileSmsGateway",
    "Mailer",
    "Message",
    "NotificationFailed",
    "SmsGateway",
    "SmsMessage",
    "SmtpMailer",
    "mailer_from_settings",
    "sms_gateway_from_settings",
]
