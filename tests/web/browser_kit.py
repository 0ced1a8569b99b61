"""Playwright fixtures shared by the browser tests of issue 17 (import them into a test module):
a live server over the module's web world, headless Debian Chromium, and a logged-in page per user."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from web_world import PASSWORD, start_server

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def live(web: dict[str, Any]) -> Iterator[str]:
    base, server = start_server(web["app"])
    yield base
    server.should_exit = True


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield b
        b.close()


@pytest.fixture
def page_as(browser: Any, live: str):  # type: ignore[no-untyped-def]
    contexts = []

    def make(user: str) -> Any:
        ctx = browser.new_context(base_url=live, viewport={"width": 420, "height": 900})
        contexts.append(ctx)
        page = ctx.new_page()
        page.goto("/login")
        page.fill("#login #f-username", user)
        page.fill("#login #f-password", PASSWORD)
        page.click("#login button[type=submit]")
        page.wait_for_selector("text=Your trials")
        return page
    yield make
    for c in contexts:
        c.close()


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def screen_child(page: Any, *, age: int = 12, care_status: str = "foster", carer: str = "yes",
                 placement_continues: str = "yes") -> None:
    """Fill the care trial's screening form (positive questions) and continue to the eligibility summary."""
    from datetime import date, timedelta

    page.goto("/trials/ng26-care/screening")
    page.select_option("#screen #f-site_code", "LA01")
    page.fill("#screen #f-date_of_birth", (date.today() - timedelta(days=365 * age + 40)).isoformat())
    page.check(f"#screen input[name=care_status][value={care_status}]")
    page.check(f"#screen input[name=met_carer_available][value={carer}]")
    page.check(f"#screen input[name=met_placement_ending_planned][value={placement_continues}]")
    page.click("#screen button[type=submit]")
    page.wait_for_selector("#eligibility-summary")
