"""Trial identification and estimands: registration, protocol and plan versions with their dates,
the data cut, and the estimand of every outcome (ICH E9(R1) attributes, from the statistical
analysis plan). No allocation information: the same section is in the open and closed reports."""

from __future__ import annotations

from datetime import date
from typing import Any


def _plan_or_none(name: str) -> Any:
    from securebase.analysis.sap.validate import load_plan
    from securebase.errors import SecurebaseError

    try:
        return load_plan(name)
    except (SecurebaseError, OSError):
        return None


def identification(protocol: Any, *, as_of: date, sap: Any = None, he_plan: Any = None) -> dict[str, Any]:
    """Rows of the identification table and one estimand entry per outcome of the plan."""
    sap = sap if sap is not None else _plan_or_none(protocol.analysis_plans.statistical or protocol.id)
    reg = protocol.registration
    rows = [
        ["Trial registration", f"{reg.registry} {reg.number}" if reg.number
         else f"Not registered: no {reg.registry} number in the protocol (synthetic demonstration trial)"],
        ["Protocol", f"{protocol.id} version {protocol.version}"
         + (f", dated {protocol.version_date.isoformat()}" if protocol.version_date else ", date not recorded")],
        ["Statistical analysis plan", f"{sap.id} version {sap.version}" + (f", dated {sap.date}" if sap.date
                                                                             else ", date not recorded")
         if sap is not None else "not found"],
    ]
    if he_plan is not None:
        rows.append(["Health-economics plan", f"{getattr(he_plan, 'title', he_plan.trial)}; version "
                     f"{getattr(he_plan, 'version', None) or 'not declared'}; prices {he_plan.price_year} "
                     f"{he_plan.currency}"])
    rows += [["Guideline recommendation", reg.nice_recommendation], ["Sponsor", reg.sponsor or "not recorded"],
             ["Data as of", as_of.isoformat()]]
    estimands = []
    for o in (sap.outcomes if sap is not None else ()):
        e = o.estimand
        ice = "; ".join(f"{ie.event.replace('_', ' ')}: {ie.strategy.replace('_', ' ')}"
                        + (f" ({ie.description})" if ie.description else "") for ie in e.intercurrent_events)
        estimands.append({"outcome": o.label, "role": o.role, "population": e.population, "variable": e.variable,
                          "treatment": e.treatment, "intercurrent": ice or "none declared",
                          "measure": e.summary_measure, "analysis_set": o.analysis_set})
    return {"rows": rows, "estimands": estimands, "sparse_rule": sap.sparse_data.rationale if sap is not None else ""}
