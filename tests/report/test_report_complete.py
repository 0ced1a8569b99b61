"""The closed report is complete: identification and estimands, adherence by arm, every sensitivity analysis
beside its primary, fitting warnings, subgroups with n, interaction tests and "favours" labels; the open
report carries the same identification and pooled adherence, nothing by arm."""

from __future__ import annotations

import re

import numpy as np
import pytest

from securebase.analysis.design.simulate import make_parameters, simulate
from securebase.analysis.sap import load_plan, run_plan
from securebase.protocol import load_protocol
from securebase.report.builder import ReportData, ReportKind, render_html
from securebase.report.consort import ArmFlow, ConsortCounts
from securebase.report.effects import effect_rows
from securebase.trial.roles import Actor, Role


@pytest.fixture(scope="module")
def rendered() -> dict[str, object]:
    sim = simulate(make_parameters(protocol="ng26-care", n_participants=200), np.random.default_rng(4))
    plan = load_plan("ng26-care")
    beh = plan.outcome("behaviour")
    sens = []
    for s in beh.sensitivity:  # the plan's own analyses, with fewer imputations to keep the test quick
        if s.imputation is not None:
            s = s.model_copy(update={"imputation": s.imputation.model_copy(update={"m": 5}),
                                     "deltas": s.deltas[:3] if s.deltas else []})
        sens.append(s)
    plan = plan.model_copy(update={"outcomes": [beh.model_copy(update={"sensitivity": sens})],
                                   "multiplicity": plan.multiplicity.model_copy(update={"family": []})})
    res = run_plan(plan, sim.participants, sim.visits)
    rows, forest = effect_rows(res)
    arms = tuple(ArmFlow(a, 100, 90, 10, {}, 80, 5, {}, 2, 1, 78, 22) for a in ("intervention", "usual_care"))
    data = ReportData(load_protocol("ng26-care"), sim.participants, sim.visits,
                      ConsortCounts(300, 100, 60, {"x": 60}, 20, {"y": 20}, 20, {"z": 20}, 0, 200, arms),
                      effects=rows, subgroups=forest)
    closed = render_html(data, ReportKind.closed, Actor("dmc", "ng26-care", frozenset({Role.dmc_member})))
    opened = render_html(data, ReportKind.open, Actor("tm", "ng26-care", frozenset({Role.trial_manager})))
    return {"closed": closed, "open": opened, "results": res}


def _section(html: str, start: str, end: str) -> str:
    return html[html.index(start):html.index(end, html.index(start))]


def test_identification_and_estimands(rendered) -> None:  # type: ignore[no-untyped-def]
    for html in (rendered["closed"], rendered["open"]):
        ident = _section(html, 'id="identification"', 'id="consort"')
        assert "Not registered: no ISRCTN number in the protocol" in ident
        assert "ng26-care version 1.0, dated 2026-11-26" in ident  # protocol and SAP, each with its date
        assert "Estimands" in ident and "<code>sdq_total_12</code>" in ident and "treatment policy" in ident
        assert "hazard ratio" in ident and "while on treatment" in ident


def test_every_sensitivity_analysis_beside_its_primary(rendered) -> None:  # type: ignore[no-untyped-def]
    table = _section(rendered["closed"], '<h2 id="outcomes">', "</table>")
    labels = re.findall(r"<tr><td>([^<]*)</td>", table)
    assert labels[0].startswith("Behavioural problems")
    for want in ("Mixed model for repeated measures", "Partially nested", "Per-protocol", "Complier average causal",
                 "Multiple imputation", "Delta-adjusted tipping point"):
        assert any(want in lab and lab.startswith("\u2003Sensitivity: ") for lab in labels[1:]), want
    notes = _section(rendered["closed"], 'id="outcome-notes"', "</ol>")
    assert "rows dropped for missing outcome or covariate values" in notes  # fitting warnings, with numbers
    assert "Delta-adjusted tipping point" in notes and ("conclusion changes at delta" in notes
                                                          or "does not change for any delta" in notes)
    assert "– to –" not in table


def test_subgroups_have_n_interaction_tests_and_declared_reference(rendered) -> None:  # type: ignore[no-untyped-def]
    sub = _section(rendered["closed"], 'id="subgroups"', "</table>")
    res = rendered["results"].outcomes[0]
    age = next(s for s in res.subgroups if s.id == "age").result
    p = age.details["interaction_test"]["p_value"]
    assert (f"{p:.3f}" if p >= 0.001 else "<0.001") in sub
    levels = re.findall(r"<td>(5-10|11-17)</td>", sub)
    assert levels == ["5-10", "11-17"]  # declared order, 5-10 first (the reference)
    n_age = age.details["n_by_level"]
    assert f"<td>{n_age['5-10']}</td>" in sub and "F on 1 df" in sub
    caption = _section(rendered["closed"], 'alt="Forest plot of the primary outcome by subgroup"', "</figure>")
    assert "favours intervention" in caption and "Interaction tests are in the table above" in caption


def test_adherence_by_arm_in_closed_and_pooled_in_open(rendered) -> None:  # type: ignore[no-untyped-def]
    closed = _section(rendered["closed"], 'id="adherence"', "</table>")
    assert "Sessions attended" in closed and "Complied (attended at least" in closed and "(n = " in closed
    opened = _section(rendered["open"], 'id="adherence"', "</p>")
    assert "All participants (pooled)" in opened and "Complied" not in opened
    proto = load_protocol("ng26-care")
    for arm in proto.arms:
        assert arm.name not in rendered["open"]


def test_pdf_is_a4_with_running_header_and_page_numbers(rendered, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import shutil
    import subprocess

    from securebase.report.pdf import html_to_pdf

    if shutil.which("pdfinfo") is None:
        pytest.fail("pdfinfo/pdftotext (Debian poppler-utils) are needed: apt-get install -y poppler-utils")
    html = tmp_path / "closed.html"
    html.write_text(rendered["closed"], encoding="utf-8")
    pdf = html_to_pdf(html, tmp_path / "closed.pdf")
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    size = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info)
    assert size and round(float(size[1])) == 595 and round(float(size[2])) == 842, info  # A4
    pages = int(re.search(r"Pages:\s+(\d+)", info)[1])
    assert pages >= 3
    for k in range(1, pages + 1):
        text = subprocess.run(["pdftotext", "-f", str(k), "-l", str(k), "-layout", str(pdf), "-"],
                              capture_output=True, text=True, check=True).stdout
        assert f"Page {k} of {pages}" in text, (k, text[-300:])
        assert "CLOSED REPORT" in text and "data as of" in text, k


def test_reviewers_checklist_lists_every_item_met_or_not(rendered) -> None:  # type: ignore[no-untyped-def]
    from securebase.report.checklist import CONSORT_2025, checklist

    html = rendered["closed"]
    table = _section(html, 'id="checklist-table"', "</table>")
    rows = re.findall(r"<tr class=\"(met|not-met)\"><td>([^<]*)</td><td>([^<]*)</td>", table)
    consort = [(s, i) for s, g, i in rows if g.startswith("CONSORT 2025")]
    cheers = [(s, i) for s, g, i in rows if g == "CHEERS 2022"]
    assert [i for _, i in consort] == [i for i, _, _ in CONSORT_2025] and len(cheers) == 28
    status = dict((i, s) for s, i in consort)
    assert status["22a"] == status["25"] == status["26"] == status["28"] == "met"
    assert status["1a"] == status["27"] == status["2"] == "not-met"  # no title, harms pending, not registered
    assert "CONSORT 2025 (harms)" in table and "harms section pending" in table
    proto = load_protocol("ng26-care")
    with_harms = checklist(proto, None, closed=True, sections={"harms"})
    assert next(it for it in with_harms["items"] if it.item == "27").status == "met"


def test_cheers_says_what_is_illustrative() -> None:
    from securebase.analysis.economics.plan import load_plan as load_he_plan
    from securebase.demo_world import install_demo_tariff
    from securebase.report.cheers import cheers_items

    install_demo_tariff()
    items = {it.item: it for it in cheers_items(load_he_plan("ng26-care"), load_protocol("ng26-care"), closed=True)}
    assert items["1"].status == "not met" and "title" in items["1"].where
    assert items["13"].status == "not met" and "made up" in items["13"].where
    assert items["14"].status == "not met" and "illustrative" in items["14"].where
    assert items["20"].status == "met"
