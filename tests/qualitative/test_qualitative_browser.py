"""Browser test: select text in a transcript, apply a code, and see the segment in the framework matrix.

Headless Debian Chromium through Playwright (never `playwright install`); screenshots in test-artifacts/.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest
from qual_app import make_app
from qual_synth import actor

from securebase.qualitative import code_tree
from securebase.qualitative.codebook import flatten

ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.browser
@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)  # the pages, not the backend, are under test
def test_code_a_segment_in_the_browser_and_see_it_in_the_matrix(qual_trial) -> None:  # type: ignore[no-untyped-def]
    import uvicorn
    from playwright.sync_api import sync_playwright

    store, ids, cb_id = qual_trial
    with store.read() as s:
        video = next(n for n in flatten(code_tree(s, actor(store, "qual1"), cb_id)) if n.name == "Video feedback")
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(make_app(store), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}/trials/ng26-care/qualitative"
    ARTIFACTS.mkdir(exist_ok=True)
    phrase = "Seeing myself respond calmly"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            context = browser.new_context()
            context.add_cookies([{"name": "test_user", "value": "qual1", "url": f"http://127.0.0.1:{port}"}])
            page = context.new_page()
            page.goto(f"{base}/transcripts/{ids['CARE-0001']}?codebook={cb_id}")
            # select the phrase as a person would (a DOM range over the text), then release the mouse
            page.evaluate("""(phrase) => {
                const box = document.getElementById('transcript-text');
                const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
                let node;
                while ((node = walker.nextNode())) {
                    const i = node.textContent.indexOf(phrase);
                    if (i >= 0) {
                        const r = document.createRange();
                        r.setStart(node, i); r.setEnd(node, i + phrase.length);
                        const sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(r);
                        box.dispatchEvent(new MouseEvent('mouseup', {bubbles: true}));
                        return;
                    }
                }
                throw new Error('phrase not found');
            }""", phrase)
            text = page.inner_text("#transcript-text")
            start = int(page.input_value("#start"))
            assert page.input_value("#end") == str(start + len(phrase))
            assert page.inner_text("#selected-text") == phrase and text[start:start + len(phrase)] == phrase
            page.select_option("#code", str(video.id))
            with page.expect_navigation():
                page.click("#apply")
            assert phrase in page.inner_text("#segments")
            assert page.locator("span.coded").count() == 1
            page.screenshot(path=str(ARTIFACTS / "qualitative-transcript.png"), full_page=True)
            page.click("text=Framework matrix")
            page.wait_for_selector("#matrix")
            cell = page.locator("tr:has(td:text-is('CARE-0001')) td[data-theme='Support']")
            assert phrase in cell.inner_text() and "Video feedback" in cell.inner_text()
            assert page.locator("th:text-is('Arm')").count() == 0  # a blinded qualitative researcher
            page.screenshot(path=str(ARTIFACTS / "qualitative-matrix.png"), full_page=True)
            cell.locator(".refs a").first.click()
            page.wait_for_selector("#transcript-text")
            assert "#seg-" in page.url
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
