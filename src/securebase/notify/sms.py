"""SMS: a pluggable gateway port; the built-in adapter writes messages to an outbox folder."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from securebase.errors import InputError
from securebase.notify.mail import NotificationFailed

if TYPE_CHECKING:
    from securebase.settings import Settings

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


@dataclass(frozen=True)
class SmsMessage:
    to: str
    text: str

    def __post_init__(self) -> None:
        if not _E164.match(self.to):
            raise InputError(f"SMS number {self.to!r} is not in international form like +447700900123; "
                             "correct the phone number in the person's contact details.")
        if len(self.text) > 612:
            raise InputError(f"SMS text is {len(self.text)} characters; at most 612 (four parts) are sent. "
                             "Shorten the message template.")


class SmsGateway(Protocol):
    def send(self, message: SmsMessage) -> str:
        """Hand ``message`` to the gateway; return its id. Raise :class:`NotificationFailed` if it cannot."""
        ...


@dataclass
class FileSmsGateway:
    """Writes each SMS as a JSON file in ``folder`` (demo, tests, or a site's own SMS relay)."""

    folder: Path

    def send(self, message: SmsMessage) -> str:
        mid = uuid.uuid4().hex
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            stem = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f") + "-" + mid[:8]
            (self.folder / f"{stem}.json").write_text(json.dumps({"id": mid, "to": message.to, "text": message.text}))
        except OSError as exc:
            raise NotificationFailed(f"Could not write SMS to the outbox folder {self.folder} ({exc}); "
                                     "check SECUREBASE_SMS_OUTBOX.") from exc
        return mid

    def messages(self) -> list[dict[str, str]]:
        return [json.loads(p.read_text()) for p in sorted(self.folder.glob("*.json"))]


def sms_gateway_from_settings(settings: Settings) -> SmsGateway:
    return FileSmsGateway(Path(settings.sms_outbox))
