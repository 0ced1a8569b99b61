"""Respondent pages in headless Chromium (Playwright): a carer fills a questionnaire with the keyboard only on a
390x844 phone and on a desktop screen, saves, comes back through the same link and sends it; axe-core (the npm
package built into the static files) finds no serious or critical WCAG 2.2 AA violation on any respondent page."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from respond_world import build_respond_world
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
from web_world import start_server  # noqa: E402

from securebase.store.tables import QuestionnaireRespondent, Response  # noqa: E402

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "respond"
AXE = Path(__file__).resolve().parents[2] / "src" / "securebase" / "web" / "static" / "vendor" / "axe-core" / "axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from securebase.web import create_app

    w = build_respond_world(tmp_path_factory.mktemp("respond-browser"))
    app = create_app(w["settings"], store=w["store"], secure_cookies=False)
    w["base"], server = start_server(app)
    yield w
    server.should_exit = True
    w["store"].dispose()


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


def token(world: dict[str, Any], kid: int, instrument: str) -> str:
    pid = world["children"][kid]["participant_id"]
    return next(x["token"] for x in world["links"][pid] if x["instrument"] == instrument)


def focused(page: Any) -> dict[str, Any]:
    return page.evaluate("() => { const e = document.activeElement; return {tag: e.tagName, type: e.type || '', "
                         "name: e.name || '', id: e.id || '', checked: !!e.checked}; }")


def keyboard_fill(page: Any, *, answer: int | None, stop_at: str) -> int:
    """Tab through the form; answer unanswered questions with Space (first choice) and ArrowDown x answer; stop on
    the button ``stop_at`` and press Enter. Returns how many questions were answered."""
    done = 0
    for _ in range(400):
        page.keyboard.press("Tab")
        f = focused(page)
        if f["id"] == stop_at:
            with page.expect_navigation():
                page.keyboard.press("Enter")
            return done
        if f["type"] == "radio" and not f["checked"] and (answer is not None):
            page.keyboard.press("Space")
            for _ in range(answer):
                page.keyboard.press("ArrowDown")
            done += 1
            if stop_at == "save" and done == 10:
                answer = None  # answer ten, then go to the save button
    raise AssertionError(f"never reached #{stop_at}")


def axe(page: Any) -> list[dict[str, Any]]:
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG)
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("screen", [{"width": 390, "height": 844}, {"width": 1280, "height": 900}],
                         ids=["phone", "desktop"])
def test_carer_fills_saves_resumes_and_sends_by_keyboard(world, browser, screen) -> None:  # type: ignore[no-untyped-def]
    kid = 0 if screen["width"] < 500 else 2
    tok = token(world, kid, "sdq_parent")
    ctx = browser.new_context(base_url=world["base"], viewport=screen, is_mobile=screen["width"] < 500,
                              java_script_enabled=True)
    page = ctx.new_page()
    page.goto(f"/respond/{tok}")
    assert page.evaluate("() => document.scripts.length") == 0
    header = "() => getComputedStyle(document.querySelector('.govuk-header')).backgroundColor"
    assert page.evaluate(header) not in ("rgba(0, 0, 0, 0)", "transparent")  # the GOV.UK stylesheet is applied
    assert page.evaluate("() => document.documentElement.scrollWidth") <= screen["width"]  # no sideways scrolling
    n = keyboard_fill(page, answer=1, stop_at="save")
    assert n == 10 and page.locator("text=Your answers have been saved.").is_visible()
    page.goto(f"/respond/{tok}")  # come back through the same link
    assert page.locator("input[type=radio]:checked").count() == 10
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"resumed-{'phone' if kid == 0 else 'desktop'}.png"), full_page=False)
    n2 = keyboard_fill(page, answer=2, stop_at="send")
    page.wait_for_url("**/respond/thanks")
    assert page.locator("h1").inner_text() == "Thank you" and n2 > 0
    ctx.close()
    from securebase.instruments import load_instrument

    items = load_instrument("sdq_parent").items
    with world["store"].read() as s:
        pid = world["children"][kid]["participant_id"]
        who = s.execute(select(QuestionnaireRespondent).where(QuestionnaireRespondent.instrument == "sdq_parent"))\
            .scalars().all()
        rows = s.execute(select(Response).where(Response.instrument == "sdq_parent",
                                                Response.entered_by == f"respondent:{world['children'][kid]['carer']}"))\
            .scalars().all()
    assert len(rows) == len(items) and pid
    assert any(w.respondent_type == "carer" for w in who)
    values = {r.item: r.value for r in rows}
    assert sum(1 for v in values.values() if v == "1") >= 10  # the first ten answers: second choice


def test_no_serious_or_critical_accessibility_violation(world, browser) -> None:  # type: ignore[no-untyped-def]
    import secrets

    ctx = browser.new_context(base_url=world["base"], viewport={"width": 390, "height": 844}, bypass_csp=True)
    page = ctx.new_page()
    tok = token(world, 1, "rpq")
    seen: dict[str, list[dict[str, Any]]] = {}
    page.goto(f"/respond/{tok}")
    seen["form"] = axe(page)
    page.click("#send")  # nothing answered: the error summary
    page.wait_for_selector(".govuk-error-summary")
    seen["errors"] = axe(page)
    page.goto(f"/respond/{tok}")
    page.check("#item-1")
    page.click("#save")
    page.wait_for_selector("text=Your answers have been saved.")
    seen["saved"] = axe(page)
    page.goto("/respond/thanks")
    seen["thanks"] = axe(page)
    page.goto("/respond/" + secrets.token_urlsafe(32))
    seen["bad link"] = axe(page)
    bad = {k: [(v["id"], v["impact"], len(v["nodes"])) for v in vs] for k, vs in seen.items() if vs}
    assert bad == {}, bad
    ctx.close()
