"""A plan as readable text or Markdown, for the trial's statistical analysis plan document."""

from __future__ import annotations

from securebase.analysis.sap.models import Model, Plan


def _model_text(m: Model) -> str:
    parts = [m.type.replace("_", " ")]
    if m.baseline:
        parts.append(f"baseline {m.baseline} by visit")
    if m.covariates:
        parts.append("adjusted for " + ", ".join(m.covariates))
    if m.strata:
        parts.append("stratified by " + ", ".join(m.strata))
    if m.type == "mmrm":
        parts.append("visits " + ", ".join(f"{v} months" for v in m.visits))
    if m.type == "cox" and m.event:
        parts.append(f"event {m.event} = {m.event_code}")
    return "; ".join(parts)


def render_plan(plan: Plan, fmt: str = "text") -> str:
    md = fmt == "markdown"
    h1, h2 = ("# ", "## ") if md else ("", "")
    b = "- " if md else "  "
    out = [f"{h1}{plan.title}", f"Plan {plan.id}, version {plan.version}" + (f" ({plan.date})" if plan.date else "")
           + f"; trial '{plan.trial}'.", "",
           f"Minimisation factors (adjusted for in every model): {', '.join(plan.minimisation_factors)}.",
           f"Confidence level {plan.confidence_level:.0%}; direction: intervention minus usual care.", ""]
    out.append(f"{h2}Analysis sets")
    for s in plan.analysis_sets:
        extra = f" (intervention arm restricted to {s.restrict_column} = {s.restrict_value})" if s.restrict_column else ""
        out.append(f"{b}{s.id}: {s.kind.replace('_', ' ')}{extra}. {s.description}".rstrip())
    out.append("")
    for o in plan.outcomes:
        e = o.estimand
        out.append(f"{h2}{o.role.capitalize()} outcome: {o.label} [{o.id}]")
        out.append(f"{b}Population: {e.population}")
        out.append(f"{b}Variable: {e.variable}")
        out.append(f"{b}Treatment: {e.treatment}")
        for ie in e.intercurrent_events:
            desc = f" ({ie.description})" if ie.description else ""
            out.append(f"{b}Intercurrent event {ie.event.replace('_', ' ')}: {ie.strategy.replace('_', ' ')} strategy{desc}")
        out.append(f"{b}Summary measure: {e.summary_measure}")
        out.append(f"{b}Analysis set: {o.analysis_set}; model: {_model_text(o.model)}")
        if o.subgroups:
            out.append(f"{b}Subgroups (treatment-by-subgroup interaction tests): {', '.join(o.subgroups)}")
        for sens in o.sensitivity:
            what = {"model": _model_text(sens.model) if sens.model else "",
                    "analysis_set": f"analysis set {sens.analysis_set}",
                    "multiple_imputation": "multiple imputation by arm under MAR",
                    "tipping_point": f"delta-adjusted MI, {sens.shift_arm} arm shifted by {sens.deltas}"}[sens.kind]
            out.append(f"{b}Sensitivity {sens.id}: {sens.label} ({what})")
        out.append("")
    if plan.subgroups:
        out.append(f"{h2}Subgroups")
        for sg in plan.subgroups:
            out.append(f"{b}{sg.id}: {sg.label} ({sg.variable}{': ' + ' vs '.join(sg.levels) if sg.levels else ''})")
        out.append("")
    mu = plan.multiplicity
    out.append(f"{h2}Multiplicity")
    out.append(f"{b}Family: {', '.join(mu.family)}; method: {mu.method.replace('_', ' ')}; alpha {mu.alpha}.")
    if mu.rationale:
        out.append(f"{b}{mu.rationale}")
    sd = plan.sparse_data
    out += ["", f"{h2}Sparse data",
            f"{b}A factor level with fewer than {sd.min_events} event(s) (or non-events, binary outcomes), or a subgroup "
            f"level with fewer than {sd.min_per_arm} participant(s) in an arm, is sparse."]
    for var, m in sd.merge.items():
        out.append(f"{b}{var}: " + "; ".join(f"{'any sparse level' if k == '*' else k} joins {'the largest level' if v == '(largest)' else v}" for k, v in m.items()))
    out.append(f"{b}Still sparse after merging: "
               + ("the covariate is dropped (noted in the report)." if sd.otherwise == "drop_covariate"
                  else "the analysis is reported as not analysed, with this rule."))
    if sd.rationale:
        out.append(f"{b}{sd.rationale}")
    out += _derivations(plan, h2, b)
    return "\n".join(out) + "\n"


def _derivations(plan: Plan, h2: str, b: str) -> list[str]:
    """The protocol's declared derivation rules for routine-record outcomes (issue 21), when it declares any."""
    from securebase.errors import SecurebaseError
    from securebase.protocol import load_protocol
    from securebase.protocol.derivations import describe

    proto = None
    for name in (plan.id, plan.trial):  # a built-in plan is named after its protocol
        try:
            proto = load_protocol(name)
            break
        except (SecurebaseError, OSError, ValueError):
            continue
    if proto is None or proto.derivations is None or proto.analysis_plans.statistical not in (plan.id, None):
        return []
    return ["", f"{h2}Outcomes from routine records (protocol derivation rules)"] + [f"{b}{line}" for line in describe(proto.derivations)]
