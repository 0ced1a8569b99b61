"""Load a plan file and check what the schema alone cannot: every model adjusts for the baseline
value of its outcome and for every minimisation factor (EMA Guideline on adjustment for baseline
covariates, EMA/CHMP/295050/2013, s. 4.2: variables used in stratified randomisation or minimisation
should be included), references resolve, and each model estimates its estimand's summary measure.
Every refusal is a :class:`securebase.errors.ProtocolError` naming file, line and field.
"""

from __future__ import annotations

import difflib
import re
from importlib import resources
from pathlib import Path

from securebase.analysis import schema
from securebase.analysis.sap.models import MODEL_MEASURE, SUBGROUP_MODELS, Model, Plan
from securebase.errors import ProtocolError
from securebase.protocol.yamlio import Path_, _nearest_line, load_model, parse_yaml

BUILTIN = ("ng26-care", "ng26-maltreatment")


def known_columns(plan: Plan) -> set[str]:
    cols = set(schema.PARTICIPANT_COLUMNS) | set(schema.EVENT_COLUMNS) | set(plan.custom_variables)
    cols |= {schema.outcome_column(o, m) for o in schema.SCORED_OUTCOMES for m in schema.VISIT_MONTHS}
    cols |= {f"days_{m}" for m in schema.VISIT_MONTHS}
    return cols


def baseline_of(variable: str) -> str | None:
    """The baseline column of a scored outcome at follow-up (sdq_total_12 -> sdq_total_0), else None."""
    m = re.fullmatch(r"(.+)_(\d+)", variable)
    if m and m.group(1) in schema.SCORED_OUTCOMES and int(m.group(2)) > 0:
        return schema.outcome_column(m.group(1), 0)
    return None


def load_plan(source: str | Path) -> Plan:
    """A plan from a file path or a built-in name (ng26-care, ng26-maltreatment), validated."""
    name = str(source)
    if name in BUILTIN or name.removesuffix(".yaml") in BUILTIN:
        ref = resources.files("securebase.analysis.sap") / "builtin" / f"{name.removesuffix('.yaml')}.yaml"
        text, file = ref.read_text(encoding="utf-8"), f"builtin:{name.removesuffix('.yaml')}"
    else:
        path = Path(source)
        if not path.exists():
            raise ProtocolError(f"plan file not found; give a path or one of the built-in plans {list(BUILTIN)}",
                                file=name)
        text, file = path.read_text(encoding="utf-8"), str(path)
    return plan_from_text(text, file)


def plan_from_text(text: str, file: str = "<plan>") -> Plan:
    plan = load_model(Plan, file, text=text)
    _, lines = parse_yaml(text, file)
    check_plan(plan, file, lines)
    return plan


def _fail(msg: str, file: str, lines: dict[Path_, int], loc: Path_) -> ProtocolError:
    field = ""
    for part in loc:
        field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else str(part))
    return ProtocolError(msg, file=file, line=_nearest_line(lines, loc), field=field)


def check_plan(plan: Plan, file: str = "<plan>", lines: dict[Path_, int] | None = None) -> None:
    """Semantic checks (see module doc); raises ProtocolError at the first problem."""
    lines = lines or {}
    cols = known_columns(plan)
    sets = {s.id for s in plan.analysis_sets}
    subgroups = {s.id: s for s in plan.subgroups}
    ids = [o.id for o in plan.outcomes]
    for i, sg in enumerate(plan.subgroups):
        if sg.variable not in cols:
            raise _fail(f"unknown subgroup variable '{sg.variable}'", file, lines, ("subgroups", i, "variable"))
    for var in plan.sparse_data.merge:
        if var not in cols:
            raise _fail(f"sparse_data.merge names unknown variable '{var}'; expected a factor column of the analysis "
                        "dataset such as care_status or site", file, lines, ("sparse_data", "merge", var))
    for i, o in enumerate(plan.outcomes):
        at = ("outcomes", i)
        if ids.count(o.id) > 1:
            raise _fail(f"outcome id '{o.id}' is used twice; ids must be unique", file, lines, (*at, "id"))
        var = o.estimand.variable
        if var not in cols:
            close = difflib.get_close_matches(var, sorted(cols), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else " (declare extra columns under custom_variables)"
            raise _fail(f"unknown variable '{var}'; expected a column of the analysis dataset{hint}", file, lines,
                        (*at, "estimand", "variable"))
        if o.analysis_set not in sets:
            raise _fail(f"analysis set '{o.analysis_set}' is not defined (have {sorted(sets)})", file, lines,
                        (*at, "analysis_set"))
        if o.estimand.summary_measure not in MODEL_MEASURE[o.model.type]:
            raise _fail(f"model '{o.model.type}' estimates {' / '.join(MODEL_MEASURE[o.model.type])}, not the "
                        f"estimand's summary measure '{o.estimand.summary_measure}'", file, lines, (*at, "model", "type"))
        _check_model(o.model, var, plan, cols, file, lines, (*at, "model"))
        for k, sg_id in enumerate(o.subgroups):
            if sg_id not in subgroups:
                raise _fail(f"subgroup '{sg_id}' is not defined under subgroups (have {sorted(subgroups)})", file,
                            lines, (*at, "subgroups", k))
            if o.model.type not in SUBGROUP_MODELS:
                raise _fail(f"subgroup interaction tests are available for {list(SUBGROUP_MODELS)} models, not "
                            f"'{o.model.type}'", file, lines, (*at, "subgroups", k))
        for k, s in enumerate(o.sensitivity):
            sat = (*at, "sensitivity", k)
            svar = s.variable or var
            if svar not in cols:
                raise _fail(f"unknown variable '{svar}'; expected a column of the analysis dataset", file, lines,
                            (*sat, "variable"))
            if s.kind == "model" and s.model is None:
                raise _fail("a 'model' sensitivity analysis needs a model", file, lines, sat)
            if s.model is not None:
                _check_model(s.model, svar, plan, cols, file, lines, (*sat, "model"))
            if s.kind == "analysis_set" and s.analysis_set not in sets:
                raise _fail(f"analysis set '{s.analysis_set}' is not defined (have {sorted(sets)})", file, lines,
                            (*sat, "analysis_set"))
            if s.kind in ("multiple_imputation", "tipping_point"):
                if s.imputation is None:
                    raise _fail(f"a '{s.kind}' analysis needs an imputation block (impute, predictors, m, seed)",
                                file, lines, sat)
                if svar not in s.imputation.impute:
                    raise _fail(f"the outcome '{svar}' must be listed under imputation.impute", file, lines,
                                (*sat, "imputation", "impute"))
                if (s.model or o.model).type != "ancova" and s.kind == "tipping_point":
                    raise _fail("tipping-point analyses are defined for ANCOVA models", file, lines, sat)
            if s.kind == "tipping_point" and not s.deltas:
                raise _fail("a tipping-point analysis needs a grid of deltas", file, lines, (*sat, "deltas"))
    for k, oid in enumerate(plan.multiplicity.family):
        if oid not in ids:
            raise _fail(f"multiplicity family names outcome '{oid}', which the plan does not define", file, lines,
                        ("multiplicity", "family", k))


def _check_model(model: Model, var: str, plan: Plan, cols: set[str], file: str, lines: dict[Path_, int],
                 at: Path_) -> None:
    adjusted = set(model.covariates) | set(model.strata) | ({model.baseline} if model.baseline else set())
    for k, c in enumerate([*model.covariates, *model.strata]):
        if c not in cols:
            raise _fail(f"unknown covariate '{c}'", file, lines, (*at, "covariates" if k < len(model.covariates)
                                                                  else "strata"))
    missing = [f for f in plan.minimisation_factors if f not in adjusted]
    if missing:
        raise _fail(f"the model must adjust for every minimisation factor; missing {missing} (add them to "
                    "covariates, or to strata for a Cox model)", file, lines, (*at, "covariates"))
    base = baseline_of(var)
    if base and base not in adjusted:
        raise _fail(f"the model must adjust for the baseline value '{base}' of '{var}'; add it to covariates"
                    + (" or set baseline" if model.type == "mmrm" else ""), file, lines, (*at, "covariates"))
    if model.type == "cox" and not model.event:
        raise _fail("a Cox model needs the event column (event: placement_end_event)", file, lines, at)
