"""Issue 17, slice 5: navigation by role. Every role sees only the links it may use and every link works
(crawl from the home page and the dashboard: no 403, 404, 409 or 500); the DMC member reads the open and
closed reports in the app; the qualitative pages carry the same header with navigation and log-out."""

from __future__ import annotations

from typing import Any

import pytest
from crawl import EXTRA_ROLES, TRIAL, add_extra_users, crawl, nav_links
from web_world import USERS

ROLES = sorted(USERS) + sorted(EXTRA_ROLES)


@pytest.fixture(scope="module")
def everyone(web: dict[str, Any]) -> list[str]:
    add_extra_users(web["store"])
    return ROLES


@pytest.mark.parametrize("user", ROLES)
def test_every_link_a_role_sees_works(client_for, everyone, user: str) -> None:  # type: ignore[no-untyped-def]
    c = client_for(user)
    dash = c.get(f"/trials/{TRIAL}/dashboard").text
    for href in nav_links(dash):
        assert c.get(href).status_code == 200, (user, href)
    pages = crawl(c)
    bad = {p: s for p, s in pages.items() if s >= 400}
    assert not bad, (user, bad)
    assert len(pages) >= 3


def test_dmc_member_sees_reports_and_nothing_refused(client_for, everyone) -> None:  # type: ignore[no-untyped-def]
    c = client_for("dmc")
    links = nav_links(c.get(f"/trials/{TRIAL}/dashboard").text)
    assert links == ["/", f"/trials/{TRIAL}/dashboard", f"/trials/{TRIAL}/reports", f"/trials/{TRIAL}/exports"]
    r = c.get(f"/trials/{TRIAL}/reports")
    assert "Open report (pooled over arms)" in r.text and "Closed report (by arm)" in r.text
    closed = c.get(f"/trials/{TRIAL}/reports/closed").text
    assert "<td>Attachment-focused parental sensitivity and education training</td>" in closed
    assert "<td>Usual care</td>" in closed and "serious adverse events" in closed


@pytest.mark.parametrize("user", ["bstat", "dm"])
def test_blinded_report_readers_get_the_open_report_only(client_for, everyone, user: str) -> None:  # type: ignore[no-untyped-def]
    c = client_for(user)
    r = c.get(f"/trials/{TRIAL}/reports")
    assert r.status_code == 200 and "Closed report" not in r.text
    assert c.get(f"/trials/{TRIAL}/reports/closed").status_code == 403


def test_qualitative_pages_have_the_same_header(client_for, everyone) -> None:  # type: ignore[no-untyped-def]
    c = client_for("qual")
    html = c.get(f"/trials/{TRIAL}/qualitative").text
    assert nav_links(html) and 'action="/logout"' in html and html.count("<main") == 1 and html.count("<h1") == 1
    assert f"/trials/{TRIAL}/qualitative" in nav_links(html)
