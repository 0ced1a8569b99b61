"""Every list in the JSON API is paged: a limit, an opaque cursor in the Link header, and the total."""

from __future__ import annotations

import re

import pytest

LISTS = ["participants", "screening", "events", "queries", "visits/upcoming?horizon_days=3660", "visits/overdue"]


def _walk(api, path: str, limit: int) -> tuple[list[dict], list[int]]:  # type: ignore[no-untyped-def]
    sep = "&" if "?" in path else "?"
    url, items, totals = f"/api/trials/ng26-care/{path}{sep}limit={limit}", [], []
    while url:
        r = api.get(url)
        assert r.status_code == 200, r.text
        assert len(r.json()) <= limit
        items += r.json()
        totals.append(int(r.headers["X-Total-Count"]))
        link = r.headers.get("Link")
        url = re.match(r'<http://testserver(.*)>; rel="next"', link).group(1) if link else None
    return items, totals


@pytest.mark.parametrize("path", LISTS)
def test_walking_the_pages_gives_every_item_once_in_order(web, api_for, path: str) -> None:  # type: ignore[no-untyped-def]
    api = api_for("tm")
    whole = api.get(f"/api/trials/ng26-care/{path}{'&' if '?' in path else '?'}limit=1000")
    assert whole.status_code == 200, whole.text
    everything = whole.json()
    assert int(whole.headers["X-Total-Count"]) == len(everything) and "Link" not in whole.headers
    if path in ("participants", "screening"):
        assert len(everything) > 2  # more than one page of 2
    paged, totals = _walk(api, path, 2)
    assert paged == everything
    assert set(totals) == {len(everything)}


def test_the_default_page_and_bad_paging_values(web, api_for) -> None:  # type: ignore[no-untyped-def]
    api = api_for("tm")
    r = api.get("/api/trials/ng26-care/participants")
    assert r.status_code == 200 and len(r.json()) == min(100, int(r.headers["X-Total-Count"]))
    bad = api.get("/api/trials/ng26-care/participants?cursor=not-a-cursor")
    assert bad.status_code == 422 and "cursor" in bad.text and "next_cursor" in bad.text
    for limit in (0, 1001):
        r = api.get(f"/api/trials/ng26-care/participants?limit={limit}")
        assert r.status_code == 422 and "limit" in r.text
