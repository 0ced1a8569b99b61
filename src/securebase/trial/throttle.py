"""Log-in throttling by user name and by client address, with exponential back-off instead of locks.

Each failed log-in adds one to the counter of ``user:<name>`` (any name, known or not, so the answer never
says whether an account exists) and of ``addr:<address>``. Once a counter reaches its limit, every further
attempt under that key must wait ``5 * 2 ** (failures - limit)`` seconds after the last failure, up to
``max_wait`` (OWASP ASVS 4.0 V2.2.1: anti-automation without an attacker-controlled lock). Nothing here
touches the account: a throttled user's API tokens and open sessions keep working, and the wait ends by
itself. A counter that has seen no failure for a day starts again from zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from securebase.store.tables import LoginThrottle

FORGET_AFTER = timedelta(days=1)
FIRST_WAIT_SECONDS = 5


@dataclass(frozen=True)
class Limits:
    per_user: int
    per_address: int
    max_wait_seconds: int


def keys(username: str, address: str) -> list[tuple[str, str]]:
    """(key, kind) of the counters a log-in attempt touches."""
    return [("user:" + username.strip().lower()[:190], "user"), ("addr:" + (address or "unknown")[:190], "address")]


def _now() -> datetime:
    return datetime.now(UTC)


def wait_seconds(session: Session, username: str, address: str, *, now: datetime | None = None) -> int:
    """Seconds the caller must still wait before a log-in attempt for ``username`` from ``address`` (0: none)."""
    now = now or _now()
    longest = 0.0
    for key, _ in keys(username, address):
        row = session.get(LoginThrottle, key)
        if row is not None and row.wait_until is not None and row.wait_until > now:
            longest = max(longest, (row.wait_until - now).total_seconds())
    return int(longest + 0.999)


def record_failure(session: Session, username: str, address: str, limits: Limits, *,
                   now: datetime | None = None) -> None:
    now = now or _now()
    for key, kind in keys(username, address):
        limit = limits.per_user if kind == "user" else limits.per_address
        row = session.get(LoginThrottle, key)
        if row is None:
            row = LoginThrottle(key=key, failures=0)
            session.add(row)
        elif row.last_failure_at is not None and now - row.last_failure_at > FORGET_AFTER:
            row.failures = 0
        row.failures = (row.failures or 0) + 1
        row.last_failure_at = now
        if row.failures >= limit:
            wait = min(float(limits.max_wait_seconds), FIRST_WAIT_SECONDS * 2.0 ** (row.failures - limit))
            row.wait_until = now + timedelta(seconds=wait)
    session.flush()


def record_success(session: Session, username: str) -> None:
    """A good log-in clears the user name's counter (not the address's: one good account must not reset it)."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == keys(username, "")[0][0]))


def clear(session: Session, username: str) -> int:
    """Forget the failures counted against ``username`` (``securebase user unlock``); returns rows removed."""
    return int(session.execute(delete(LoginThrottle).where(LoginThrottle.key == keys(username, "")[0][0])).rowcount or 0)
