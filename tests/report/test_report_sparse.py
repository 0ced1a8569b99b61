"""The closed report states the plan's sparse-data rule where it was applied and why an outcome was not
analysed; no table cell holds a software message or an empty interval."""

from __future__ import annotations

import numpy as np

from securebase.analysis.design.simulate import make_parameters, simulate
from securebase.analysis.sap import load_plan, run_plan
from securebase.protocol import load_protocol
from securebase.report.builder import ReportData, ReportKind, render_html
from securebase.report.consort import ConsortCounts
from securebase.report.effects import effect_rows
from securebase.trial.roles import Actor, Role


def test_outcome_table_says_what_the_rule_did_and_why_not_analysed() -> None:
    sim = simulate(make_parameters(protocol="ng26-care", n_participants=160), np.random.default_rng(4))
    part = sim.participants.copy()
    res = part["care_status"] == "residential"
    part.loc[res & part["persistent_absence_12"].notna(), "persistent_absence_12"] = 0.0
    part = part.drop(columns=["rpq_total_12"])
    plan = load_plan("ng26-care")
    plan = plan.model_copy(update={"outcomes": [plan.outcome("attachment_rpq"), plan.outcome("persistent_absence")],
                                   "multiplicity": plan.multiplicity.model_copy(update={"family": []})})
    rows, _ = effect_rows(run_plan(plan, part, on_error="record"))
    data = ReportData(load_protocol("ng26-care"), part, sim.visits, ConsortCounts(0, 0, 0, {}, 0, {}, 0, {}, 0, 0, ()),
                      effects=rows)
    html = render_html(data, ReportKind.closed, Actor("dmc", "ng26-care", frozenset({Role.dmc_member})))
    table = html[html.index('<h2 id="outcomes">'):html.index('id="outcome-notes"')]
    assert "– to –" not in table and "merge the level" not in table and "not in the dataset" not in table
    assert "not analysed [" in table
    notes = html[html.index('id="outcome-notes"'):html.index("</ol>", html.index('id="outcome-notes"'))]
    assert "Not analysed: " in notes and "rpq_total_12" in notes
    assert "sparse level &#39;residential&#39;" in notes and "merged into" in notes
