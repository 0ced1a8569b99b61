"""The main job end to end on a small trial: the report renders in Chromium and prints to PDF."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from rich.console import Console

ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def demo_output(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from securebase.demo import run_demo

    out = tmp_path_factory.mktemp("demo")
    files = run_demo(out, 36, 11, Console(quiet=True), pdf=True, n_boot=100)
    files["db"] = out / "demo.db"
    return files


@pytest.mark.browser
def test_report_renders_with_every_figure_and_no_broken_link(demo_output: dict[str, Path]) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    html = demo_output["html"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page()
        failed: list[str] = []
        page.on("requestfailed", lambda r: failed.append(r.url))
        page.goto(html.as_uri())
        images = page.eval_on_selector_all("img", "els => els.map(e => [e.complete, e.naturalWidth, e.alt])")
        assert len(images) >= 5  # trajectories, incidence, forest, CE plane, CEAC, EVPI
        assert all(ok and width > 0 for ok, width, _ in images), images
        assert page.locator("svg[aria-label='CONSORT flow diagram']").count() == 1
        hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
        for href in hrefs:
            assert href.startswith("#"), href
            assert page.locator(href).count() == 1, f"broken link {href}"
        assert not failed, failed
        page.screenshot(path=str(ARTIFACTS / "report-closed.png"), full_page=True)
        page.goto(demo_output["open_html"].as_uri())
        page.screenshot(path=str(ARTIFACTS / "report-open.png"), full_page=True)
        browser.close()


def test_pdf_has_pages(demo_output: dict[str, Path], tmp_path: Path) -> None:
    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm (Debian poppler-utils) is needed; `make test` installs it")
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(demo_output["pdf"]), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 3
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(pages[0], ARTIFACTS / "report-pdf-page1.png")


def test_demo_store_verifies_and_reconciles(demo_output: dict[str, Path]) -> None:
    from sqlalchemy import text

    from securebase.store import open_store, verify_chain
    from securebase.store.audit_key import seal_for

    url = f"sqlite:///{demo_output['db']}"
    st = open_store(url, seal=seal_for(url))  # the demo's chain is keyed (demo.db.audit-key beside it)
    with st.read() as s:
        assert verify_chain(s).records > 1000
    with st.engine.connect() as c:
        # 36 in the report; the questionnaires-by-link step then enrols three more children after the report
        assert c.execute(text("SELECT count(*) FROM allocations")).scalar_one() == 36 + 3
        html = demo_output["html"].read_text()
        assert "Randomised (n = 36)" in html
        # every follow-up record is dated from the child's own randomisation
        early = c.execute(text(
            "SELECT count(*) FROM visits v JOIN allocations a ON a.participant_pk = v.participant_pk "
            "WHERE v.visit_id != 'baseline' AND v.completed_on IS NOT NULL AND v.completed_on < a.allocated_on"
        )).scalar_one()
        assert early == 0
        assessed = c.execute(text("SELECT count(*) FROM screening")).scalar_one() - 3  # three screened after the report
        assert f"Assessed for eligibility (n = {assessed})" in html
    st.dispose()


def test_demo_report_summarises_qualitative_themes(demo_output: dict[str, Path]) -> None:
    html = demo_output["html"].read_text()
    for theme in ("Peer support", "Understanding the child", "Practical barriers", "Change at home"):
        assert f"<td>{theme}</td>" in html
    opened = demo_output["open_html"].read_text()
    assert "<td>Peer support</td>" in opened  # pooled counts: themes carry no arm


def test_demo_raises_a_concern_and_reports_harms(demo_output: dict[str, Path]) -> None:
    import json

    from sqlalchemy import func, select

    from securebase.store import open_store
    from securebase.store.tables import AdverseEvent, BlindingGuess, SafeguardingConcern

    out = demo_output["html"].parent
    mails = [m for m in (json.loads(p.read_text()) for p in sorted((out / "outbox" / "mail").glob("*.json")))
             if m["subject"].startswith("Safeguarding")]  # the outbox also holds the questionnaire invitations
    assert len(mails) == 1 and mails[0]["to"] == ["dsl@trial.example.org"]
    assert mails[0]["subject"].startswith("Safeguarding concern SG-0001")
    store = open_store(f"sqlite:///{demo_output['db']}", migrate=False)
    with store.read() as s:
        assert s.execute(select(func.count()).select_from(SafeguardingConcern)).scalar_one() == 1
        n_ae = s.execute(select(func.count()).select_from(AdverseEvent)).scalar_one()
        n_guess = s.execute(select(func.count()).select_from(BlindingGuess)).scalar_one()
    store.dispose()
    assert n_ae > 0 and n_guess > 0
    closed = demo_output["html"].read_text(encoding="utf-8")
    opened = demo_output["open_html"].read_text(encoding="utf-8")
    assert 'id="harms"' in closed and 'id="blinding-index"' in closed and "Bang&#39;s index" in closed
    assert 'id="sae-listing"' in closed or "No serious adverse event recorded." in closed
    assert 'id="harms"' in opened and 'id="blinding-index"' not in opened
    assert f"{n_guess} (" in opened  # guesses counted, pooled
    assert "synthetic) child said" not in closed + opened  # concern details never in a report


def test_headline_numbers_rebuild_from_the_exports_with_the_documented_command(demo_output: dict[str, Path],
                                                                              tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import json
    import re
    import shlex

    from securebase.cli import main

    out = demo_output["html"].parent
    steps = re.search(r"```\n(.*?)```", (out / "data" / "REPRODUCE.md").read_text(), re.S)[1].strip().splitlines()
    html = demo_output["html"].read_text()
    for cmd in steps:  # the very commands the report prints
        assert f"<code>{cmd}</code>" in html
        monkeypatch.chdir(out)
        args = shlex.split(cmd)[1:]
        args[args.index("--out") + 1] = str(tmp_path / args[args.index("--out") + 1])
        assert main(args) == 0, cmd
    report = json.loads((out / "analysis" / "results.json").read_text())
    rebuilt = json.loads((tmp_path / "rebuilt" / "analysis" / "results.json").read_text())
    for a, b in zip(report["outcomes"], rebuilt["outcomes"], strict=True):
        assert a["id"] == b["id"]
        if a["primary"]["result"] is None:
            assert b["primary"]["result"] is None
            continue
        ea, eb = a["primary"]["result"]["estimates"][0], b["primary"]["result"]["estimates"][0]
        assert eb["estimate"] == pytest.approx(ea["estimate"], rel=1e-9, abs=1e-12), a["id"]
        assert eb["ci_lower"] == pytest.approx(ea["ci_lower"], rel=1e-9, abs=1e-12)
    primary = report["outcomes"][0]["primary"]["result"]["estimates"][0]
    assert f"difference {primary['estimate']:.2f}" in html  # the number printed in the report
    ec_report = json.loads((out / "economics" / "economics.json").read_text())
    ec_rebuilt = json.loads((tmp_path / "rebuilt" / "economics" / "economics.json").read_text())
    for pa, pb in zip(ec_report["perspectives"], ec_rebuilt["perspectives"], strict=True):
        for key in ("incremental_cost", "incremental_qaly"):
            assert pb["decision"][key] == pytest.approx(pa["decision"][key], rel=1e-9, abs=1e-12), (pa["name"], key)
        assert f"{pa['decision']['incremental_cost']:,.0f}" in html


def test_demo_report_analyses_every_outcome_or_states_the_rule(demo_output: dict[str, Path]) -> None:
    import re

    from securebase.analysis.sap import load_plan

    html = demo_output["html"].read_text()
    table = html[html.index('<h2 id="outcomes">'):html.index("</table>", html.index('<h2 id="outcomes">'))]
    assert "– to –" not in table and "merge the level" not in table and "Traceback" not in table
    for o in load_plan("ng26-care").outcomes:
        row = re.search(r"<tr><td>" + re.escape(o.label) + r"[^<]*</td><td>([^<]*)</td>", table)
        assert row, o.label
        if row[1].startswith("not analysed"):  # then a numbered note gives the reason
            assert "Not analysed" in html[html.index('id="outcome-notes"'):]
    assert "Data as of" in html and "Reviewer" in html
    info = subprocess.run(["pdfinfo", str(demo_output["pdf"])], capture_output=True, text=True, check=True).stdout
    size = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info)
    assert size and (round(float(size[1])), round(float(size[2]))) == (595, 842) and "(A4)" in info, info


def test_closed_report_shows_the_decision_model_and_the_open_report_does_not(demo_output: dict[str, Path]) -> None:
    import json

    html = demo_output["html"].read_text(encoding="utf-8")
    assert "Decision model beyond the trial (ng26-placement, population &#39;care&#39;)" in html or \
        "Decision model beyond the trial (ng26-placement, population 'care')" in html
    for alt in ('alt="structure"', 'alt="ceac"', 'alt="tornado"', 'alt="evppi"'):
        assert alt in html
    assert "EVPPI per person by parameter group" in html and "treatment_effect" in html
    assert "Linked to the trial: rr_disruption = risk ratio" in html
    model = json.loads((demo_output["html"].parent / "economics_model" / "model.json").read_text())
    assert model["direction"] == "intervention minus usual care" and model["n_samples"] == 2000
    assert set(model["evppi"]["20000"]) == {"transitions", "treatment_effect", "costs", "utilities"}
    opened = demo_output["open_html"].read_text(encoding="utf-8")
    assert "Decision model beyond the trial" not in opened and "economics-model" not in opened
