"""A page at a time for the staff HTML lists: ``?per_page=25|50`` and an opaque ``cursor`` (the same
:class:`securebase.trial.paging.Paging` the JSON API uses), with previous/next links that keep every other
query parameter (the list's filters)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request

from securebase.errors import FieldError
from securebase.trial.paging import Paging, encode_cursor

PER_PAGE = (25, 50)
DEFAULT_PER_PAGE = 50


def paging_of(request: Request, param: str = "cursor") -> Paging:
    """The page a list page was asked for: ``per_page`` 25 or 50 (default 50) and the cursor in ``param``."""
    raw = request.query_params.get("per_page") or str(DEFAULT_PER_PAGE)
    if raw not in {str(n) for n in PER_PAGE}:
        raise FieldError("per_page", raw, " or ".join(map(str, PER_PAGE)), "choose 25 or 50 rows per page")
    return Paging(int(raw), request.query_params.get(param) or None)


def _href(request: Request, param: str, cursor: str | None) -> str:
    query = [(k, v) for k, v in request.query_params.multi_items() if k != param]
    if cursor is not None:
        query.append((param, cursor))
    return request.url.path + (f"?{urlencode(query)}" if query else "")


def pager(request: Request, page: Paging, param: str = "cursor", what: str = "rows") -> dict[str, Any]:
    """A section: "Showing 51 to 100 of 1,234 rows" and links to the previous and next page (when there are)."""
    total = page.total or 0
    first, last = (page.offset + 1, min(page.offset + page.limit, total)) if total else (0, 0)
    links = []
    if page.offset > 0:
        back = page.offset - page.limit
        links.append({"href": _href(request, param, encode_cursor(back) if back > 0 else None), "text": "Previous page"})
    if page.next_cursor is not None:
        links.append({"href": _href(request, param, page.next_cursor), "text": "Next page"})
    return {"text": [f"Showing {first:,} to {last:,} of {total:,} {what}."], "links": links}


__all__ = ["DEFAULT_PER_PAGE", "PER_PAGE", "pager", "paging_of"]
