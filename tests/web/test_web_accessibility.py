"""Issue 17, slice 8: axe-core (vendored) over every page reached by every role, in headless Chromium:
no critical or serious violation; every page has one ``main`` landmark and one ``h1``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from browser_kit import browser, live  # noqa: F401 (fixtures)
from crawl import EXTRA_ROLES, add_extra_users, crawl
from web_world import PASSWORD, USERS

pytestmark = [pytest.mark.browser, pytest.mark.slow]
AXE = Path(__file__).resolve().parents[2] / "src" / "securebase" / "web" / "static" / "vendor" / "axe-core" / "axe.min.js"
ROLES = sorted(USERS) + sorted(EXTRA_ROLES)


@pytest.mark.parametrize("user", ROLES)
def test_axe_on_every_page_a_role_reaches(browser, live, client_for, web, user: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    add_extra_users(web["store"])
    reached = [p for p, status in crawl(client_for(user), limit=40).items() if status == 200]
    # One page per template (ids and numbers in the path stand for the same page), so the crawl stays within
    # the CI budget; every template a role reaches is still checked for that role.
    templates: dict[str, str] = {}
    for p in reached:
        templates.setdefault(re.sub(r"[A-Z]{2,6}-[A-Z0-9-]*\d+|\d+", "#", p.split("?")[0]), p)
    pages = list(templates.values())
    ctx = browser.new_context(base_url=live, viewport={"width": 420, "height": 900})
    problems: list[Any] = []
    try:
        page = ctx.new_page()
        page.goto("/login")
        page.fill("#login #f-username", user)
        page.fill("#login #f-password", PASSWORD)
        page.click("#login button[type=submit]")
        page.wait_for_selector("text=Your trials")
        for path in pages + ["/login?probe=1"]:
            page.goto(path)
            page.add_script_tag(url="/static/vendor/axe-core/axe.min.js")  # served by the app: the CSP allows 'self'
            result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
            for v in result["violations"]:
                if v["impact"] in ("critical", "serious"):
                    problems.append((path, v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]))
            counts = page.evaluate("() => [document.querySelectorAll('main, [role=main]').length, "
                                   "document.querySelectorAll('h1').length]")
            if counts != [1, 1]:
                problems.append((path, "main/h1 count", counts))
    finally:
        ctx.close()
    assert len(pages) >= 3
    assert problems == [], "\n".join(map(str, problems))
