"""Apply the plan's pre-specified sparse-data rule (``Plan.sparse_data``) before a model is fitted.

A factor level with no events (or, for a binary outcome, no participants without the event) has a
coefficient that is not estimable (separation); the estimators refuse such a model rather than
return a silent wrong number. The plan says in advance what to do instead: merge the level into a
declared neighbour, then, if it is still sparse, drop the covariate or report the analysis as not
analysed. Every step taken is returned as a note for the results and the report (CONSORT 2025
item 20b/21: any departure from the planned analysis, and why).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from securebase.analysis.effectiveness._design import TREAT, is_factor
from securebase.analysis.sap.models import Model, SparseData, Subgroup


@dataclass(frozen=True)
class Prepared:
    """The data and model to fit after the rule, the notes of what it did, or why it excluded the analysis."""

    data: pd.DataFrame
    model: Model
    notes: tuple[str, ...] = ()
    excluded: str | None = None


def as_factor(series: pd.Series, levels: Sequence[str] = ()) -> pd.Series:
    """A categorical whose order (and so its reference, the first level) follows ``levels``; levels
    present but not declared follow in sorted order."""
    s = series.map(lambda v: v if pd.isna(v) else str(v))
    present = sorted({str(v) for v in s.dropna().unique()})
    order = [lev for lev in levels if lev in present] + [lev for lev in present if lev not in levels]
    return pd.Series(pd.Categorical(s, categories=order), index=series.index, name=series.name)


def _events(model: Model, variable: str, data: pd.DataFrame) -> tuple[np.ndarray, bool] | None:
    """Event indicator on ``data`` (NaN where missing) and whether non-events can be sparse too; None when
    the outcome has no events or a column is absent (the estimator then reports the missing column)."""
    if variable not in data.columns or TREAT not in data.columns:
        return None
    if model.type == "logistic":
        return pd.to_numeric(data[variable], errors="coerce").to_numpy(float), True
    if model.type in ("negative_binomial", "poisson"):
        y = pd.to_numeric(data[variable], errors="coerce").to_numpy(float)
        return np.where(np.isnan(y), np.nan, (y > 0).astype(float)), False
    if model.type == "cox" and model.event and model.event in data.columns:
        ev = pd.to_numeric(data[model.event], errors="coerce").to_numpy(float)
        return np.where(np.isnan(ev), np.nan, (ev == model.event_code).astype(float)), False
    return None


def _complete(data: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    keep = np.ones(len(data), dtype=bool)
    for c in dict.fromkeys(columns):
        if c in data.columns:
            keep &= data[c].notna().to_numpy()
    return keep


def _sparse_levels(col: pd.Series, ev: np.ndarray, both: bool, k: int) -> dict[str, tuple[int, int]]:
    """Levels with fewer than ``k`` events (or non-events when ``both``): level -> (n, events)."""
    out = {}
    s = col.astype(str).to_numpy()
    for lev in sorted(set(s)):
        e = ev[s == lev]
        n, events = len(e), int(e.sum())
        if events < k or (both and n - events < k):
            out[lev] = (n, events)
    return out


LARGEST = "(largest)"


def _mapping(rule: SparseData, var: str, sparse: dict, col: pd.Series | None = None) -> dict[str, str]:
    """Sparse level -> the level it joins: named in ``merge[var]``, or ``merge[var]["*"]`` for any level;
    the target ``(largest)`` is the largest level that is not sparse."""
    declared = rule.merge.get(var, {})
    out = {lev: declared.get(lev, declared.get("*")) for lev in sparse}
    if LARGEST in out.values():
        sizes = col.astype(str).value_counts() if col is not None else pd.Series(dtype=int)
        fine = [lev for lev in sizes.index if lev not in sparse]
        out = {k: (fine[0] if fine else None) if v == LARGEST else v for k, v in out.items()}
    return {k: v for k, v in out.items() if v is not None and v != k}


def _merge(data: pd.DataFrame, var: str, mapping: dict[str, str], levels: Sequence[str]) -> pd.DataFrame:
    col = data[var].map(lambda v: v if pd.isna(v) else mapping.get(str(v), str(v)))
    return data.assign(**{var: as_factor(col, levels)})


def _declared_order(data: pd.DataFrame, var: str) -> list[str]:
    col = data[var]
    return [str(c) for c in col.cat.categories] if isinstance(col.dtype, pd.CategoricalDtype) else []


def _describe(levels: dict[str, tuple[int, int]], word: str) -> str:
    return ", ".join(f"'{lev}' ({n} participants, {e} {word})" for lev, (n, e) in levels.items())


def prepare(rule: SparseData, model: Model, variable: str, data: pd.DataFrame) -> Prepared:
    """Apply ``rule`` to the factor covariates of ``model`` for outcome ``variable``."""
    got = _events(model, variable, data)
    if got is None:
        return Prepared(data, model)
    ev_all, both = got
    word = "events" if model.type != "logistic" else "events (outcome = 1)"
    notes: list[str] = []
    covariates = list(model.covariates)
    required = [variable, TREAT, *covariates, *model.strata, *([model.event] if model.event else [])]
    keep = _complete(data, required) & ~np.isnan(ev_all)
    if TREAT in data.columns:
        arms = _sparse_levels(data.loc[keep, TREAT], ev_all[keep], both, 1)
        if arms:
            which = ", ".join("intervention" if a == "1" else "usual care" for a in arms)
            return Prepared(data, model, (), f"no comparison possible: the {which} arm has no {word} or no "
                                              "participants without one among those analysed; no merging rule "
                                              "can make the effect estimable")
    for c in list(covariates):
        if c not in data.columns or not is_factor(data[c]):
            continue
        sparse = _sparse_levels(data.loc[keep, c], ev_all[keep], both, rule.min_events)
        if not sparse:
            continue
        mapping = _mapping(rule, c, sparse, data.loc[keep, c])
        if mapping:
            data = _merge(data, c, mapping, _declared_order(data, c))
            notes.append(f"{c}: sparse level {_describe({k: sparse[k] for k in mapping}, word)} merged into "
                         + ", ".join(sorted({f"'{v}'" for v in mapping.values()})) + " (plan's sparse-data rule)")
            sparse = _sparse_levels(data.loc[keep, c], ev_all[keep], both, rule.min_events)
        if not sparse:
            continue
        if rule.otherwise == "drop_covariate":
            covariates.remove(c)
            notes.append(f"{c}: dropped from the model because level {_describe(sparse, word)} is sparse "
                         "with no declared merge (plan's sparse-data rule: drop the covariate)")
        else:
            return Prepared(data, model, tuple(notes),
                            f"not analysed by the plan's sparse-data rule: level {_describe(sparse, word)} of "
                            f"covariate '{c}' has fewer than {rule.min_events} {word} and the plan declares no merge "
                            f"for it; declare one under sparse_data.merge.{c} or set sparse_data.otherwise: "
                            "drop_covariate")
    if model.type == "cox" and model.strata:
        strata = data.loc[keep, list(model.strata)].astype(str).agg(" / ".join, axis=1).to_numpy()
        empty = [s for s in sorted(set(strata)) if ev_all[keep][strata == s].sum() == 0]
        if empty:
            notes.append(f"{len(empty)} of {len(set(strata))} strata ({', '.join(empty[:4])}"
                         f"{', ...' if len(empty) > 4 else ''}) have no events and contribute nothing to the "
                         "stratified partial likelihood (kept, as planned)")
    if covariates != list(model.covariates):
        model = model.model_copy(update={"covariates": covariates})
    return Prepared(data, model, tuple(notes))


def prepare_subgroup(rule: SparseData, model: Model, variable: str, data: pd.DataFrame, sg: Subgroup) -> Prepared:
    """The subgroup analysis after the rule: merge sparse levels of the subgroup (too few participants
    in an arm, or too few events in an arm), else report the subgroup analysis as not estimable."""
    var = sg.variable
    if var not in data.columns:
        return Prepared(data, model)
    got = _events(model, variable, data)
    required = [variable, TREAT, var, *model.covariates, *model.strata, *([model.event] if model.event else [])]
    keep = _complete(data, required)
    if got is not None:
        keep &= ~np.isnan(got[0])

    def sparse_now(d: pd.DataFrame) -> dict[str, str]:
        out = {}
        sub = d.loc[keep]
        for lev, g in sub.groupby(sub[var].astype(str)):
            for arm, word in ((1, "intervention"), (0, "usual care")):
                m = (g[TREAT] == arm).to_numpy()
                if m.sum() < rule.min_per_arm:
                    out[lev] = f"{int(m.sum())} {word} participants"
                elif got is not None:
                    e = got[0][keep][(sub[var].astype(str) == lev).to_numpy()][m]
                    if e.sum() < rule.min_events or (got[1] and len(e) - e.sum() < rule.min_events):
                        out[lev] = f"{int(e.sum())} events among {len(e)} {word} participants"
        return out

    sparse = sparse_now(data)
    if not sparse:
        return Prepared(data, model)
    notes = []
    mapping = _mapping(rule, var, sparse, data.loc[keep, var])
    if mapping:
        data = _merge(data, var, mapping, list(sg.levels) or _declared_order(data, var))
        notes.append(f"{var}: sparse level(s) " + ", ".join(f"'{k}' ({sparse[k]}) merged into '{v}'"
                                                             for k, v in mapping.items())
                     + " (plan's sparse-data rule)")
        sparse = sparse_now(data)
    if sparse:
        detail = "; ".join(f"'{k}': {v}" for k, v in sparse.items())
        return Prepared(data, model, tuple(notes),
                        f"subgroup not estimable by the plan's sparse-data rule: level(s) {detail} (at least "
                        f"{rule.min_per_arm} per arm needed); declare a merge under sparse_data.merge.{var}")
    return Prepared(data, model, tuple(notes))
