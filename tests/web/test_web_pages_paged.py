"""The staff HTML lists show a page at a time (25 or 50 rows) with previous/next links that keep the filters:
walking the pages gives every row once, in the order of the whole list."""

from __future__ import annotations

import html
import re
import secrets
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from web_world import login  # noqa: E402

from scale_world import bulk_trial  # noqa: E402
from securebase.settings import Settings  # noqa: E402
from securebase.store import open_store  # noqa: E402
from securebase.store.tables import ScreeningRecord  # noqa: E402
from securebase.trial import enrol, screening, visits  # noqa: E402
from securebase.trial.audit_view import actor_for  # noqa: E402
from securebase.web import create_app  # noqa: E402

T = "/trials/ng26-care"
N = 130


@pytest.fixture(scope="module")
def paged_world(tmp_path_factory: pytest.TempPathFactory) -> Any:
    url = f"sqlite:///{tmp_path_factory.mktemp('paged') / 'store.db'}"
    store = open_store(url)
    bulk_trial(store, N, seed=5)
    with store.engine.begin() as conn:
        conn.execute(insert(ScreeningRecord), [
            {"trial_id": "ng26-care", "site_code": "LA01" if i % 3 else "LA02", "screening_number": f"S{i:05d}",
             "screened_on": date(2026, 1 + i % 11, 1 + i % 27), "answers": {}, "eligible": i % 4 != 0,
             "ineligible_reasons": "" if i % 4 else "age", "approached": True,
             "outcome": "enrolled" if i % 4 else "ineligible", "screened_by": "recruiter"} for i in range(1, 81)])
    app = create_app(Settings(database_url=url, secret_key=secrets.token_urlsafe(48), totp_required=False),
                     store=store, secure_cookies=False)
    client = TestClient(app, raise_server_exceptions=False)
    r = login(client, "tm", "correct-horse-battery-staple")
    assert r.status_code == 200, r.text[:300]
    yield store, client
    store.dispose()


def _walk(client: TestClient, url: str, rows_of, param: str = "cursor") -> tuple[list[str], list[str]]:  # type: ignore[no-untyped-def]
    seen, pages = [], []
    while url:
        r = client.get(url)
        assert r.status_code == 200, r.text[:300]
        pages.append(url)
        seen += rows_of(r.text)
        nxt = [html.unescape(h) for h in re.findall(r'<a href="([^"]+)">Next page</a>', r.text) if param + "=" in h]
        url = nxt[0] if nxt else ""
    return seen, pages


def _participants(text: str) -> list[str]:
    return re.findall(rf'<a href="{T}/participants/(BULK-\d+)">', text)


def _screening(text: str) -> list[str]:
    return re.findall(rf'<a href="{T}/screening/(S\d+)">', text)


def test_participant_pages_walk_the_whole_list(paged_world: Any) -> None:
    store, client = paged_world
    with store.read() as s:
        whole = [p["participant_id"] for p in enrol.list_participants(s, actor_for(s, "tm", "ng26-care"))]
    assert len(whole) == N
    seen, pages = _walk(client, f"{T}/participants?per_page=25", _participants)
    assert seen == whole and len(pages) == 6  # 130 in pages of 25
    first = client.get(f"{T}/participants?per_page=25").text
    assert f"Showing 1 to 25 of {N} participants." in first and "Previous page" not in first
    last = client.get(pages[-1]).text
    assert f"Showing 126 to {N} of {N} participants." in last and "Next page" not in last
    back = html.unescape(re.search(r'<a href="([^"]+)">Previous page</a>', last).group(1))
    assert "per_page=25" in back and _participants(client.get(back).text) == whole[100:125]
    seen50, pages50 = _walk(client, f"{T}/participants", _participants)  # default 50 per page
    assert seen50 == whole and len(pages50) == 3


def test_a_filter_is_kept_across_pages(paged_world: Any) -> None:
    store, client = paged_world
    with store.read() as s:
        a = actor_for(s, "tm", "ng26-care")
        la01 = [p["participant_id"] for p in enrol.list_participants(s, a, site_code="LA01")]
        enrolled = [r["screening_number"] for r in screening.list_screening(s, a, site_code="LA01", outcome="enrolled")]
    assert 25 < len(la01) < N and 25 < len(enrolled) < 80
    seen, pages = _walk(client, f"{T}/participants?site=LA01&per_page=25", _participants)
    assert seen == la01 and all("site=LA01" in p for p in pages)
    seen, pages = _walk(client, f"{T}/screening?site=LA01&outcome=enrolled&per_page=25", _screening)
    assert seen == enrolled and all("outcome=enrolled" in p for p in pages)


def test_the_two_visit_lists_page_independently(paged_world: Any) -> None:
    store, client = paged_world
    with store.read() as s:
        whole = [f"{v['participant_id']}/visits/{v['visit_id']}"
                 for v in visits.upcoming_visits(s, actor_for(s, "tm", "ng26-care"))]
    assert len(whole) > 25

    def upcoming(text: str) -> list[str]:
        part = text.split('id="upcoming"', 1)[1]
        return re.findall(rf'<a href="{T}/participants/(BULK-\d+/visits/[a-z0-9]+)">', part)

    seen, pages = _walk(client, f"{T}/visits?per_page=25", upcoming, "upcoming_cursor")
    assert seen == whole and len(pages) > 1
    assert all("overdue_cursor" not in p for p in pages)


@pytest.mark.parametrize("path,what", [("events", "events"), ("queries", "queries")])
def test_events_and_queries_pages_say_what_they_show(paged_world: Any, path: str, what: str) -> None:
    _, client = paged_world
    r = client.get(f"{T}/{path}?per_page=25")
    assert r.status_code == 200 and f"of 0 {what}." in r.text


def test_bad_paging_values_are_named(paged_world: Any) -> None:
    _, client = paged_world
    r = client.get(f"{T}/participants?per_page=1000")
    assert r.status_code == 422 and "per_page" in r.text and "25 or 50" in r.text
    r = client.get(f"{T}/participants?cursor=nonsense")
    assert r.status_code == 422 and "cursor" in r.text
