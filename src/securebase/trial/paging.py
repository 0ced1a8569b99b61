"""Paging of lists in the database: a limit, an opaque cursor and the total, for every list service.

A list service takes an optional :class:`Paging` and hands its ordered statement to :func:`paged`, which
counts the whole list (one ``COUNT(*)`` over the same filters) and returns the statement with ``LIMIT``
and ``OFFSET`` applied, so a page costs what it returns plus one indexed count, whatever the trial holds.
The cursor is opaque to clients (base64 of the offset): the next page's cursor comes with each page.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from securebase.errors import FieldError

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The offset a cursor stands for; a cursor that was not given by securebase is a named error."""
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not text.startswith("o") or not text[1:].isdigit():
            raise ValueError(text)
        return int(text[1:])
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise FieldError("cursor", cursor, "the next_cursor value of the previous page (or none for the first page)",
                         "start again from the first page") from None


@dataclass
class Paging:
    """What the client asked for (``limit``, ``cursor``) and, once the list ran, its ``total``."""

    limit: int = DEFAULT_LIMIT
    cursor: str | None = None
    total: int | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise FieldError("limit", self.limit, f"a whole number from 1 to {MAX_LIMIT}")
        self.offset = decode_cursor(self.cursor)

    @property
    def next_cursor(self) -> str | None:
        if self.total is None or self.offset + self.limit >= self.total:
            return None
        return encode_cursor(self.offset + self.limit)

    def meta(self) -> dict[str, Any]:
        return {"total": self.total, "limit": self.limit, "next_cursor": self.next_cursor}


def paged(session: Session, stmt: Select[Any], page: Paging | None) -> Select[Any]:
    """``stmt`` (already filtered and ordered) limited to the page, with the list's total kept on ``page``."""
    if page is None:
        return stmt
    page.total = int(session.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one())
    return stmt.limit(page.limit).offset(page.offset)


__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "Paging", "decode_cursor", "encode_cursor", "paged"]
