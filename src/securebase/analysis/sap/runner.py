"""Run a statistical analysis plan on analysis-dataset frames.

``run_plan(plan, participants, visits)`` is the one entry point: the CLI calls it with frames from a
CSV/Parquet/REDCap export (analysis.datasets_external), and the store-backed path calls it with the
frames of analysis.datasets. For each outcome it selects the analysis set, fits the model, the
subgroup interaction models and the sensitivity analyses, then applies the multiplicity method to the
family's primary p-values. Results are immutable and JSON-serialisable.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from securebase.analysis import schema
from securebase.analysis.effectiveness import (
    DIRECTION,
    Ancova,
    Cace,
    Cox,
    EffectResult,
    Logistic,
    Mmrm,
    MultipleImputation,
    NegativeBinomial,
    PartiallyNested,
    Poisson,
    TippingPoint,
    adjust,
)
from securebase.analysis.sap.models import AnalysisSet, Model, Outcome, Plan
from securebase.analysis.sap.sparse import Prepared, as_factor, prepare, prepare_subgroup
from securebase.errors import DataError


@dataclass(frozen=True)
class AnalysisOutcome:
    """One analysis (primary, subgroup or sensitivity): its result, or the reason it could not run."""

    id: str
    label: str
    result: EffectResult | None = None
    error: str | None = None
    notes: tuple[str, ...] = ()  # what the plan's sparse-data rule did (merged a level, dropped a covariate)
    by_rule: bool = False  # not analysed because a pre-specified rule excluded it (not a failure)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "result": self.result.to_dict() if self.result else None,
                "error": self.error, "notes": list(self.notes), "by_rule": self.by_rule}


@dataclass(frozen=True)
class OutcomeResults:
    id: str
    label: str
    role: str
    variable: str
    summary_measure: str
    analysis_set: str
    primary: AnalysisOutcome
    subgroups: tuple[AnalysisOutcome, ...] = ()
    sensitivity: tuple[AnalysisOutcome, ...] = ()
    adjusted_p: float | None = None
    rejected: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "role": self.role, "variable": self.variable,
                "summary_measure": self.summary_measure, "analysis_set": self.analysis_set,
                "primary": self.primary.to_dict(), "subgroups": [s.to_dict() for s in self.subgroups],
                "sensitivity": [s.to_dict() for s in self.sensitivity], "adjusted_p": self.adjusted_p,
                "rejected": self.rejected}


@dataclass(frozen=True)
class PlanResults:
    plan_id: str
    plan_version: str
    trial: str
    n_randomised: dict[str, int]
    outcomes: tuple[OutcomeResults, ...]
    multiplicity: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"plan_id": self.plan_id, "plan_version": self.plan_version, "trial": self.trial,
                "direction": DIRECTION, "n_randomised": self.n_randomised,
                "outcomes": [o.to_dict() for o in self.outcomes], "multiplicity": self.multiplicity}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False, default=_default)

    def to_markdown(self) -> str:
        from securebase.analysis.sap.tables import results_markdown

        return results_markdown(self)

    def summary(self) -> str:
        return self.to_markdown()


def _default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"not JSON-serialisable: {type(obj).__name__}")


def select_analysis_set(participants: pd.DataFrame, aset: AnalysisSet) -> pd.DataFrame:
    """The rows of ``participants`` in analysis set ``aset``."""
    if aset.kind != "per_protocol" or aset.restrict_column is None:
        return participants
    if aset.restrict_column not in participants.columns:
        raise DataError(f"analysis set '{aset.id}': column '{aset.restrict_column}' is not in the dataset")
    col = participants[aset.restrict_column]
    val = aset.restrict_value
    match = col.astype(str) == str(val) if isinstance(val, str) else pd.to_numeric(col, errors="coerce") == val
    return participants[(participants["treat"] == 0) | match]


def estimator_for(model: Model, variable: str, level: float, interaction: str | None = None) -> Any:
    """The estimator a plan model names, configured for ``variable``."""
    cov = model.covariates
    t = model.type
    if t == "ancova":
        return Ancova(variable, cov, level=level, interaction=interaction)
    if t == "logistic":
        return Logistic(variable, cov, level=level, interaction=interaction)
    if t == "negative_binomial":
        return NegativeBinomial(variable, cov, exposure=model.exposure, level=level, interaction=interaction)
    if t == "poisson":
        return Poisson(variable, cov, exposure=model.exposure, level=level, interaction=interaction)
    if t == "cox":
        return Cox(variable, model.event or "placement_end_event", cov, strata=model.strata,
                   event_code=model.event_code, level=level, horizon=model.horizon, interaction=interaction)
    if t == "partially_nested":
        return PartiallyNested(variable, cov, therapist=model.therapist, level=level)
    if t == "cace":
        return Cace(variable, cov, received=model.received, level=level)
    if t == "mmrm":
        return Mmrm(_base_name(variable), visits=model.visits, baseline=model.baseline, covariates=cov, level=level)
    raise DataError(f"unknown model type {t!r}")


def _base_name(variable: str) -> str:
    m = re.fullmatch(r"(.+)_(\d+)", variable)
    return m.group(1) if m else variable


def visit_frame(participants: pd.DataFrame, visits: pd.DataFrame | None, model: Model, variable: str) -> pd.DataFrame:
    """Long frame for an MMRM: the visits frame joined to participant-level covariates, or else the
    participants' wide ``<outcome>_<month>`` columns reshaped."""
    base = _base_name(variable)
    needed = ["treat", *model.covariates] + ([model.baseline] if model.baseline else [])
    pcols = ["participant_id", *dict.fromkeys(needed)]
    missing = [c for c in pcols if c not in participants.columns]
    if missing:
        raise DataError(f"MMRM of '{base}': participant column(s) {missing} are not in the dataset")
    if visits is not None and base in visits.columns:
        v = visits[["participant_id", "visit_month", base]]
        return v.merge(participants[pcols], on="participant_id", how="inner")
    wide = [schema.outcome_column(base, m) for m in model.visits]
    absent = [c for c in wide if c not in participants.columns]
    if absent:
        raise DataError(f"MMRM of '{base}': no visits frame with column '{base}' and participant columns {absent} "
                        "are missing; supply --visits or the wide outcome columns")
    parts = [participants[pcols].assign(visit_month=m, **{base: participants[c].to_numpy()})
             for m, c in zip(model.visits, wide, strict=True)]
    return pd.concat(parts, ignore_index=True)


def _run(label_id: str, label: str, fn: Any, on_error: str, prep: Prepared | None = None) -> AnalysisOutcome:
    notes = prep.notes if prep is not None else ()
    if prep is not None and prep.excluded:
        return AnalysisOutcome(label_id, label, error=prep.excluded, notes=notes, by_rule=True)
    try:
        return AnalysisOutcome(label_id, label, result=fn(), notes=notes)
    except DataError as err:
        if on_error == "raise":
            raise
        return AnalysisOutcome(label_id, label, error=err.message, notes=notes)


def _fit_model(model: Model, variable: str, data: pd.DataFrame, participants_all: pd.DataFrame,
               visits: pd.DataFrame | None, level: float, interaction: str | None = None) -> EffectResult:
    est = estimator_for(model, variable, level, interaction)
    if model.type == "mmrm":
        return est.fit(visit_frame(data, visits, model, variable))
    return est.fit(data)


def _label_reference(res: EffectResult, factor: str, data: pd.DataFrame, model: Model | None = None,
                     variable: str | None = None) -> EffectResult:
    """In a subgroup fit the first estimate is the effect in the reference level: say so; and record the
    numbers analysed in each level by arm (complete cases, as the model sees them) as ``n_by_level``."""
    col = data[factor]
    ref = str(col.cat.categories[0]) if isinstance(col.dtype, pd.CategoricalDtype) and len(col.cat.categories) else ""
    first = res.estimates[0]
    name = f"{first.name} in the reference level ({factor}: {ref})" if ref else f"{first.name} in the reference level"
    details = dict(res.details)
    if model is not None and variable is not None:
        need = [c for c in dict.fromkeys([variable, "treat", factor, *model.covariates, *model.strata,
                                          *([model.event] if model.type == "cox" and model.event else [])])
                if c in data.columns]
        cc = data.dropna(subset=need)
        details["n_by_level"] = {str(lev): "/".join(str(int((g["treat"] == t).sum())) for t in (1, 0))
                                 for lev, g in cc.groupby(cc[factor].astype(str))}
    return dataclasses.replace(res, estimates=(dataclasses.replace(first, name=name), *res.estimates[1:]),
                               details=details)


def run_outcome(plan: Plan, o: Outcome, participants: pd.DataFrame, visits: pd.DataFrame | None,
                on_error: str = "raise") -> OutcomeResults:
    lvl = plan.confidence_level
    var = o.estimand.variable
    data = select_analysis_set(participants, plan.analysis_set(o.analysis_set))
    what = f"outcome '{o.id}'"
    prep = prepare(plan.sparse_data, o.model, var, data)
    primary = _run(o.id, f"{o.label} ({o.model.type})",
                   lambda: _with_context(what, lambda: _fit_model(prep.model, var, prep.data, participants, visits,
                                                                  lvl)),
                   on_error, prep)
    subgroups = []
    for sg_id in o.subgroups:
        sg = next(s for s in plan.subgroups if s.id == sg_id)
        sp = prepare_subgroup(plan.sparse_data, prep.model, var, prep.data, sg)
        sp = Prepared(sp.data, sp.model, prep.notes + sp.notes, prep.excluded or sp.excluded)
        subgroups.append(_run(sg_id, sg.label, lambda sg=sg, sp=sp: _label_reference(_fit_model(
            sp.model, var, sp.data, participants, visits, lvl, interaction=sg.variable), sg.variable, sp.data,
            sp.model, var),
            "record", sp))
    sens = []
    for s in o.sensitivity:
        sprep = _sensitivity_prep(plan, o, s, participants)
        sens.append(_run(s.id, s.label, lambda s=s, sprep=sprep: _sensitivity(plan, o, s, sprep, visits),
                         "record", sprep))
    return OutcomeResults(id=o.id, label=o.label, role=o.role, variable=var,
                          summary_measure=o.estimand.summary_measure, analysis_set=o.analysis_set,
                          primary=primary, subgroups=tuple(subgroups), sensitivity=tuple(sens))


def _with_context(what: str, fn: Any) -> EffectResult:
    try:
        return fn()
    except DataError as err:
        raise DataError(f"{what}: {err.message}") from None


def _sensitivity_prep(plan: Plan, o: Outcome, s: Any, participants: pd.DataFrame) -> Prepared:
    """The analysis data of sensitivity analysis ``s`` with the plan's sparse-data rule applied."""
    model = s.model or o.model
    if s.kind == "model":
        aset = "cace" if model.type == "cace" else o.analysis_set
        data = select_analysis_set(participants, plan.analysis_set(aset)) if aset in {a.id for a in plan.analysis_sets} \
            else participants
    elif s.kind == "analysis_set":
        data = select_analysis_set(participants, plan.analysis_set(s.analysis_set))
    else:
        data = select_analysis_set(participants, plan.analysis_set(o.analysis_set))
    return prepare(plan.sparse_data, model, s.variable or o.estimand.variable, data)


def _sensitivity(plan: Plan, o: Outcome, s: Any, prep: Prepared, visits: pd.DataFrame | None) -> EffectResult:
    lvl, var = plan.confidence_level, s.variable or o.estimand.variable
    model, data = prep.model, prep.data
    if s.kind in ("model", "analysis_set"):
        return _fit_model(model, var, data, data, visits, lvl)
    imp = s.imputation
    mi = MultipleImputation(estimator_for(model, var, lvl), impute=imp.impute, predictors=imp.predictors, m=imp.m,
                            iterations=imp.iterations, method=imp.method, seed=imp.seed)
    if s.kind == "multiple_imputation":
        return mi.fit(data)
    return TippingPoint(mi, var, s.deltas, arm=1 if s.shift_arm == "intervention" else 0,
                        alpha=plan.multiplicity.alpha).fit(data)


def _prepare(participants: pd.DataFrame) -> pd.DataFrame:
    if "treat" not in participants.columns:
        if "arm" not in participants.columns:
            raise DataError("the participants frame needs a 'treat' (1 intervention, 0 usual care) or an 'arm' "
                            f"column ('{schema.ARM_INTERVENTION}' / '{schema.ARM_CONTROL}'); map one in the column mapping")
        arms = set(participants["arm"].dropna().astype(str))
        unknown = arms - {schema.ARM_INTERVENTION, schema.ARM_CONTROL}
        if unknown:
            raise DataError(f"column 'arm' must hold '{schema.ARM_INTERVENTION}' or '{schema.ARM_CONTROL}' "
                            f"(got {sorted(unknown)}); recode it in the column mapping")
        participants = participants.assign(treat=(participants["arm"] == schema.ARM_INTERVENTION).astype(int))
    if "participant_id" not in participants.columns:
        raise DataError("the participants frame needs a 'participant_id' column")
    if participants["participant_id"].duplicated().any():
        dup = participants.loc[participants["participant_id"].duplicated(), "participant_id"].iloc[0]
        raise DataError(f"participant_id {dup!r} appears twice in the participants frame; one row per participant")
    return participants


def run_plan(plan: Plan, participants: pd.DataFrame, visits: pd.DataFrame | None = None, *,
             on_error: str = "raise") -> PlanResults:
    """Run every analysis of ``plan`` on the frames (analysis/schema.py contract).

    ``on_error="raise"`` stops at the first primary analysis that cannot run (DataError naming the
    outcome); ``"record"`` keeps going and records the message in the results. Subgroup and sensitivity
    analyses always record their errors.
    """
    if on_error not in ("raise", "record"):
        raise DataError(f"on_error must be 'raise' or 'record' (got {on_error!r})")
    participants = _prepare(participants)
    # minimisation factors, subgroup variables and strata are categories even when coded as numbers
    # (a site coded 1, 2, 3 must not enter a model as a linear term)
    factors = {*plan.minimisation_factors, *(s.variable for s in plan.subgroups),
               *(c for o in plan.outcomes for m in (o.model, *(x.model for x in o.sensitivity if x.model))
                 for c in m.strata)}
    declared = {s.variable: list(s.levels) for s in plan.subgroups}
    for c in factors:
        if c in participants.columns and pd.api.types.is_numeric_dtype(participants[c]):
            col = participants[c]
            participants = participants.assign(**{c: col.map(lambda v: v if pd.isna(v) else (
                str(int(v)) if float(v).is_integer() else str(v)))})
        if c in participants.columns and declared.get(c):  # the declared levels set the order and the reference
            participants = participants.assign(**{c: as_factor(participants[c], declared[c])})
    outcomes = [run_outcome(plan, o, participants, visits, on_error) for o in plan.outcomes]
    mu = plan.multiplicity
    by_id = {o.id: o for o in outcomes}
    ps = [r.p_value if (r := by_id[i].primary.result) is not None else np.nan for i in mu.family]
    multiplicity: dict[str, Any] = {"family": list(mu.family), "method": mu.method, "alpha": mu.alpha}
    if mu.family and not np.isnan(ps).any():
        adj = adjust(ps, mu.method)
        multiplicity["adjusted_p"] = dict(zip(mu.family, adj.tolist(), strict=True))
        rej = adj <= mu.alpha
        if mu.method == "fixed_sequence":  # stop at the first non-rejection
            rej = np.cumprod(rej).astype(bool)
        for i, oid in enumerate(mu.family):
            o = by_id[oid]
            by_id[oid] = OutcomeResults(**{**o.__dict__, "adjusted_p": float(adj[i]), "rejected": bool(rej[i])})
    elif mu.family:
        multiplicity["note"] = "not applied: a primary analysis in the family could not run"
    n = {schema.ARM_INTERVENTION: int((participants["treat"] == 1).sum()),
         schema.ARM_CONTROL: int((participants["treat"] == 0).sum())}
    return PlanResults(plan_id=plan.id, plan_version=plan.version, trial=plan.trial, n_randomised=n,
                       outcomes=tuple(by_id[o.id] for o in outcomes), multiplicity=multiplicity)
