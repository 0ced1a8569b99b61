"""Throttling of questionnaire-link guesses, per client address and per token prefix.

Every look-up of a token that opens nothing (unknown, malformed, used, expired) counts one failure against
``ip:<address>`` and against ``prefix:<first 4 characters>``. While either key has reached its limit in the
current window, every look-up from that address (or with that prefix) is refused before the database is
searched, valid token or not, until the window ends. With 256-bit tokens guessing cannot succeed anyway; the
throttle keeps the cost of trying, and the load, down. Counters are kept in the store (not audited), so
they hold across worker processes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from securebase.errors import SecurebaseError
from securebase.store import UnitOfWork
from securebase.store.tables import LinkThrottle

WINDOW = timedelta(minutes=15)
MAX_PER_ADDRESS = 20
MAX_PER_PREFIX = 10


class TooManyGuesses(SecurebaseError):
    http_status = 429

    def __init__(self, minutes: int) -> None:
        super().__init__(f"too many links that do not work were tried from here; try again in {minutes} minutes")
        self.minutes = minutes


def _keys(address: str, token: str) -> list[tuple[str, int]]:
    return [(f"ip:{address[:70]}", MAX_PER_ADDRESS), (f"prefix:{token[:4]}", MAX_PER_PREFIX)]


def check(session: Session, address: str, token: str) -> None:
    """Refuse (``TooManyGuesses``) when the address or the token prefix has used up its failures."""
    now = datetime.now(UTC)
    for key, limit in _keys(address, token):
        row = session.get(LinkThrottle, key)
        if row is not None and row.window_start + WINDOW > now and row.failures >= limit:
            left = row.window_start + WINDOW - now
            raise TooManyGuesses(max(1, int(left.total_seconds() // 60) + 1))


def record_failure(uow: UnitOfWork, address: str, token: str) -> None:
    now = datetime.now(UTC)
    for key, _ in _keys(address, token):
        row = uow.session.get(LinkThrottle, key)
        if row is None:
            uow.session.add(LinkThrottle(key=key, window_start=now, failures=1))
        elif row.window_start + WINDOW <= now:
            row.window_start, row.failures = now, 1
        else:
            row.failures += 1
    uow.session.flush()


def failures(uow: UnitOfWork, key: str) -> int:
    row = uow.session.execute(select(LinkThrottle).where(LinkThrottle.key == key)).scalar_one_or_none()
    return 0 if row is None else row.failures
