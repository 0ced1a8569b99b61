"""Assemble the report from counts, frames and analysis results, and write HTML (and PDF).

Two kinds: ``open`` (pooled; anyone on the trial may produce it) and ``closed`` (by arm; for the data
monitoring committee, refused to blinded roles). The open report contains no by-arm number or figure.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from securebase.errors import BlindingError
from securebase.protocol import Protocol
from securebase.report import figures
from securebase.report.adherence import adherence_section
from securebase.report.checklist import checklist
from securebase.report.consort import ConsortCounts
from securebase.report.consort_svg import consort_svg
from securebase.report.economics_model import economics_model_context
from securebase.report.identification import identification
from securebase.report.provenance import frame_hash, provenance
from securebase.report.subgroups import subgroup_section
from securebase.report.tables import baseline_table, fmt, fmt_p, pooled_outcomes
from securebase.trial.roles import Actor

OUTCOME_LABELS = (("sdq_total", "SDQ total difficulties (carer)"), ("rpq_total", "RPQ total"),
                  ("kerns_mean", "Kerns security scale (mean)"), ("sensitivity", "Carer sensitivity (coded)"),
                  ("utility", "Child utility (CHU9D)"), ("carer_utility", "Carer utility (EQ-5D-5L)"))


class ReportKind(str, Enum):
    open = "open"
    closed = "closed"


@dataclass
class ReportData:
    protocol: Protocol
    participants: pd.DataFrame
    visits: pd.DataFrame
    consort: ConsortCounts
    effects: list[dict[str, Any]] = field(default_factory=list)
    subgroups: list[dict[str, Any]] = field(default_factory=list)
    economics: Any = None
    economics_plan: Any = None
    themes: list[dict[str, Any]] = field(default_factory=list)
    seeds: dict[str, Any] = field(default_factory=dict)
    plans: dict[str, str] = field(default_factory=dict)
    economics_dir: Path | None = None  # where write_outputs saved the plots, reused instead of re-plotting
    harms: dict[str, Any] | None = None  # report.harms tables (built for the report kind)
    sections: tuple[str, ...] = ()  # extra sections present (e.g. "harms"), for the reviewer's checklist
    reproduce: tuple[str, ...] = ()  # commands that rebuild the headline numbers from the exported inputs
    as_of: date | None = None  # the data cut the report describes (default: the CONSORT counts' date, else today)

    @property
    def data_date(self) -> date:
        return self.as_of or self.consort.as_of or date.today()
    economics_model: Any = None  # a model.analysis.ModelAnalysis (by arm: closed report only)


def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(resources.files("securebase.report") / "templates")),
                              autoescape=jinja2.select_autoescape(["html", "j2"]), undefined=jinja2.StrictUndefined)


def _effects_table(effects: list[dict[str, Any]]) -> dict[str, Any]:
    """The outcomes table. A row that could not be estimated says "not analysed" and points to a
    numbered note with the reason (never an empty interval or a software message in a cell)."""
    header = ["Outcome", "Analysis", "n (int / usual)", "Effect (intervention minus usual care)", "95% CI", "p",
              "Adjusted p"]
    rows, notes = [], []

    def mark(text: str) -> str:
        if text not in notes:
            notes.append(text)
        return f"[{notes.index(text) + 1}]"

    for e in effects:
        refs = " ".join(mark(n) for n in e.get("notes", []))
        label = ("\u2003" if e.get("sub") else "") + f"{e['label']} {refs}".strip()
        if e.get("estimate") is None:
            rows.append([label, f"not analysed {mark(e.get('not_analysed', 'not analysed'))}", "", "", "", "", ""])
            continue
        rows.append([label, e.get("model", ""), e.get("n", ""),
                     f"{e.get('measure', '')} {fmt(e['estimate'])}".strip(),
                     f"{fmt(e['ci_lower'])} to {fmt(e['ci_upper'])}", fmt_p(e.get("p_value")),
                     fmt_p(e.get("p_adjusted")) if e.get("p_adjusted") is not None
                     else ("" if e.get("sub") else "not in the family")])
    return {"header": header, "rows": rows, "notes": notes}


def _economics_parts(cea: Any, plot_dir: Path | None = None) -> tuple[dict[str, Any] | None, list[str], dict[str, Any] | None, list[dict[str, str]]]:
    if cea is None:
        return None, [], None, []
    header = ["Perspective", "Incremental cost (95% CI)", "Incremental QALYs (95% CI)", "ICER", "INMB at thresholds (95% CI)",
              "P(cost-effective) at thresholds"]
    rows, statements, figs = [], [], []
    for p in cea.perspectives:
        dec = p.decision
        c = dec.currency
        at = [dec.at(k) for k in dec.thresholds]
        inmb = "; ".join(f"{c}{t['wtp']:,.0f}: {c}{t['inmb']:,.0f} ({t['inmb_ci'][0]:,.0f} to {t['inmb_ci'][1]:,.0f})"
                         for t in at)
        pce = "; ".join(f"{c}{t['wtp']:,.0f}: {t['prob_cost_effective_bootstrap']:.2f}" for t in at)
        rows.append([p.label, f"{c}{dec.incremental_cost:,.0f} ({dec.cost_ci[0]:,.0f} to {dec.cost_ci[1]:,.0f})",
                     f"{dec.incremental_qaly:.3f} ({dec.qaly_ci[0]:.3f} to {dec.qaly_ci[1]:.3f})", dec.icer_statement,
                     inmb, pce])
        d = {"icer_statement": dec.icer_statement}
        statements.append(f"{p.label}: {d['icer_statement']}")
        for c in p.cost_per_outcome:
            statements.append(f"{p.label}: {c['statement']}")

        from securebase.analysis.economics.plots import plot_ceac, plot_evpi, plot_plane

        with tempfile.TemporaryDirectory() as tmp:
            for fn, what, stem in ((plot_plane, "Cost-effectiveness plane", "ce_plane"),
                                   (plot_ceac, "Cost-effectiveness acceptability curve", "ceac"),
                                   (plot_evpi, "Expected value of perfect information", "evpi")):
                saved = plot_dir / f"{p.name}_{stem}.png" if plot_dir is not None else None
                path = saved if saved is not None and saved.exists() else fn(
                    p.decision, Path(tmp) / f"{stem}.png", title=f"{what}: {p.label}")
                figs.append({"src": figures.file_to_data_uri(path), "alt": f"{what}, {p.label}",
                             "caption": f"{what}, {p.label} (intervention minus usual care)."})
    cc = cea.cost_consequence
    cc_table = {"header": [str(c) for c in cc.columns], "rows": [[fmt(v) if isinstance(v, float) else str(v) for v in r]
                                                                 for r in cc.itertuples(index=False)]}
    return {"header": header, "rows": rows}, statements, cc_table, figs


def _css_text(text: str) -> str:
    """Text safe inside a CSS string in the page's <style> (no quote, backslash or markup)."""
    return "".join(ch for ch in text.replace("'", "\u2019") if ch not in '"\\<>&\n')


def page_header(p: Protocol, *, closed: bool, as_of: date) -> dict[str, str]:
    """Running header and footer of every printed page (CSS @page margin boxes)."""
    status = ("CLOSED REPORT: for the data monitoring committee only" if closed
              else "OPEN REPORT: pooled, no result by arm")
    return {"status": _css_text(status), "colour": "#b3261e" if closed else "#1d4e89",
            "trial": _css_text(f"{p.short_title or p.id} · data as of {as_of.isoformat()}"),
            "footer": _css_text(f"{p.id} protocol v{p.version} · synthetic data")}


def render_html(data: ReportData, kind: ReportKind, actor: Actor) -> str:
    """Render the report HTML. A closed report for a blinded actor is refused."""
    closed = kind == ReportKind.closed
    if closed and not actor.can_see_allocation():
        raise BlindingError("the closed (by-arm) report is for unblinded roles (the data monitoring committee, "
                            "unblinded statistician); produce the open report instead: --kind open")
    p = data.protocol
    arm_labels = {a.id: a.name if len(a.name) < 40 else ("Intervention" if a.intervention else "Usual care") for a in p.arms}
    part = data.participants
    visits = data.visits
    baseline = baseline_table(part if closed else part.drop(columns=["arm"], errors="ignore").assign(arm="all"),
                              by_arm=closed, arm_labels=arm_labels)
    outcome_figures = []
    if "sdq_total" in visits.columns:
        outcome_figures.append({"src": figures.trajectories(visits if closed else visits.assign(arm="all"), "sdq_total",
                                                            "SDQ total difficulties (carer)", by_arm=closed, arm_labels=arm_labels),
                                "alt": "Mean SDQ total difficulties over visits",
                                "caption": "Mean SDQ total difficulties (95% CI) at each visit" + (" by arm." if closed else ", all participants.")})
    if {"placement_end_time", "placement_end_event"} <= set(part.columns):
        outcome_figures.append({"src": figures.cumulative_incidence(part if closed else part.assign(arm="all"), by_arm=closed,
                                                                    arm_labels=arm_labels),
                                "alt": "Cumulative incidence of unplanned placement ending",
                                "caption": "Cumulative incidence (Aalen-Johansen) of unplanned placement ending"
                                + (" by arm" if closed else ", all participants") + ", with numbers at risk."})
    outcome_table, note = None, ""
    subgroups = None
    econ_table, econ_statements, cc_table, econ_figs = None, [], None, []
    econ_note = ""
    if closed:
        outcome_table = _effects_table(data.effects)
        note = ("Effects are intervention minus usual care (ratios: intervention over usual care), adjusted for the "
                "baseline value and the minimisation factors; adjusted p-values by the plan's multiplicity method. "
                "Each primary analysis is followed by the plan's sensitivity analyses (indented). Numbered notes "
                "give every fitting warning (rows excluded and why), each pre-specified rule applied, and the "
                "reason for any analysis not done.")
        subgroups = subgroup_section(data.subgroups, outcome_label="SDQ total difficulties")
        econ_table, econ_statements, cc_table, econ_figs = _economics_parts(data.economics, data.economics_dir)
    else:
        outcome_table = pooled_outcomes(part, [o for o in OUTCOME_LABELS if f"{o[0]}_0" in part.columns])
        note = "Pooled over both arms. Comparative results are in the closed report for the data monitoring committee."
        econ_note = "Cost-effectiveness results are by arm and appear only in the closed report."
    try:
        visit_label = p.visit(data.consort.primary_visit).label
    except KeyError:
        visit_label = data.consort.primary_visit
    consort = consort_svg(data.consort, by_arm=closed, arm_labels=arm_labels, visit_label=visit_label)
    prov = provenance(data_hash=frame_hash(part.drop(columns=[c for c in ("arm", "treat", "therapist") if c in part.columns and not closed]),
                                           visits.drop(columns=[c for c in ("arm", "treat") if c in visits.columns and not closed])),
                      seeds=data.seeds, plans=data.plans, trial=p.id, protocol_version=p.version)
    sections = [{"id": i, "title": t} for i, t in (("identification", "Identification"), ("consort", "CONSORT"),
                                                   ("baseline", "Baseline"), ("adherence", "Adherence"),
                                                   ("outcomes", "Outcomes"),
                                                   ("economics", "Cost effectiveness"), ("checklist", "Checklist"),
                                                   ("qualitative", "Qualitative"), ("provenance", "Provenance"))]
    return _env().get_template("report.html.j2").render(
        title=f"{p.short_title or p.id}: {'closed' if closed else 'open'} report", protocol=p, kind=kind.value,
        sections=sections, consort=data.consort, consort_svg=consort, baseline=baseline, outcome_table=outcome_table,
        outcome_note=note, outcome_figures=outcome_figures, economics_table=econ_table,
        economics_direction="All differences are intervention minus usual care.", economics_statements=econ_statements,
        cost_consequence=cc_table, economics_figures=econ_figs, economics_note=econ_note,
        checklist=checklist(p, data.economics_plan if closed else None, closed=closed, sections=set(data.sections)),
        themes=data.themes, provenance=prov, reproduce=data.reproduce if closed else (),
        actor=actor.username, harms=data.harms, as_of=data.data_date.isoformat(), subgroups=subgroups,
        page_header=page_header(p, closed=closed, as_of=data.data_date),
        identification=identification(p, as_of=data.data_date, he_plan=data.economics_plan if closed else None),
        adherence=adherence_section(part, p, closed=closed, arm_labels=arm_labels),
        economics_model=economics_model_context(data.economics_model if closed else None, data.economics_dir))


def build_report(data: ReportData, kind: ReportKind | str, actor: Actor, out_dir: Path, *, pdf: bool = True,
                 name: str = "report") -> dict[str, Path]:
    """Write ``<name>.html`` (self-contained) and, when asked, ``<name>.pdf`` from the same HTML."""
    kind = ReportKind(kind)
    html = render_html(data, kind, actor)
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path = out_dir / f"{name}.html"
    html_path.write_text(html, encoding="utf-8")
    out = {"html": html_path}
    if pdf:
        from securebase.report.pdf import html_to_pdf

        out["pdf"] = html_to_pdf(html_path, out_dir / f"{name}.pdf")
    return out
