"""Design matrices with R's conventions, and the data checks every estimator shares.

Numeric covariates enter as they are; text or categorical covariates are coded as treatment
contrasts against their first level in sorted order, named ``<column><level>`` as R's
``model.matrix`` names them, so coefficient tables line up with ``lm``/``glm`` output.
Rows with a missing outcome or covariate are dropped (complete cases, R's ``na.omit``) and the
count is reported as a warning. Bad data raise :class:`securebase.errors.DataError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from securebase.analysis.schema import ARM_CONTROL, ARM_INTERVENTION
from securebase.errors import DataError

TREAT = "treat"


@dataclass(frozen=True)
class Design:
    """Outcome, design matrix and bookkeeping for one complete-case analysis."""

    y: np.ndarray
    X: np.ndarray
    names: tuple[str, ...]
    treat: np.ndarray
    rows: pd.Index
    terms: dict[str, tuple[int, ...]]
    warnings: tuple[str, ...]

    @property
    def n_analysed(self) -> dict[str, int]:
        return {ARM_INTERVENTION: int((self.treat == 1).sum()), ARM_CONTROL: int((self.treat == 0).sum())}


def is_factor(series: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(series) or isinstance(series.dtype, pd.CategoricalDtype)


def require_columns(data: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise DataError(
            f"{what}: column(s) {missing} not in the dataset (have {sorted(map(str, data.columns))}); "
            "check the plan's variable names against the analysis-dataset contract (analysis/schema.py)")


def check_treat(data: pd.DataFrame | np.ndarray, what: str) -> np.ndarray:
    """The 0/1 treatment indicator; both arms must have participants."""
    raw = data[TREAT] if isinstance(data, pd.DataFrame) else data
    arr = pd.to_numeric(pd.Series(np.asarray(raw)), errors="coerce").to_numpy(dtype=float)
    bad = ~np.isin(arr, (0.0, 1.0))
    if bad.any():
        raise DataError(f"{what}: column 'treat' must be 1 (intervention) or 0 (usual care) "
                        f"(got {np.asarray(raw)[bad][0]!r}); recode the arm column")
    for val, arm in ((1, ARM_INTERVENTION), (0, ARM_CONTROL)):
        if not (arr == val).any():
            raise DataError(f"{what}: arm '{arm}' has no participants with complete data "
                            f"(n = {len(arr)} analysed, all in the other arm); a comparison needs both arms")
    return arr


def build_design(data: pd.DataFrame, outcome: str | None, covariates: Sequence[str], *,
                 what: str, intercept: bool = True, extra_required: Sequence[str] = (),
                 treat: bool = True, interactions: Sequence[str] = ()) -> Design:
    """Complete-case design ``[1, treat, covariates..., treat:interaction...]``."""
    cols = ([outcome] if outcome else []) + ([TREAT] if treat else []) + list(covariates) + list(extra_required)
    cols += [c for c in interactions if c not in cols]
    require_columns(data, cols, what)
    raw = {c: data[c] for c in dict.fromkeys(cols)}
    keep = np.ones(len(data), dtype=bool)
    for series in raw.values():
        keep &= ~pd.isna(series.to_numpy())
    warns: list[str] = []
    dropped = int((~keep).sum())
    if dropped:
        warns.append(f"{dropped} of {len(data)} rows dropped for missing "
                     f"{'outcome or ' if outcome else ''}covariate values (complete-case analysis)")
    if not keep.any():
        raise DataError(f"{what}: no participant has complete data for {cols}")
    sub = {c: (v[keep] if dropped else v) for c, v in raw.items()}
    tr = check_treat(sub[TREAT].to_numpy(), what) if treat else np.zeros(int(keep.sum()))
    n = len(tr)
    blocks: list[np.ndarray] = []
    names: list[str] = []
    terms: dict[str, tuple[int, ...]] = {}

    def add(term: str, block: np.ndarray, colnames: list[str]) -> None:
        start = len(names)
        blocks.append(block.reshape(n, -1))
        names.extend(colnames)
        terms[term] = tuple(range(start, len(names)))

    if intercept:
        add("(Intercept)", np.ones(n), ["(Intercept)"])
    if treat:
        add(TREAT, tr, [TREAT])
    for cov in covariates:
        block, cnames = _encode(sub[cov], cov, what)
        add(cov, block, cnames)
    for cov in interactions:
        block, cnames = _encode(sub[cov], cov, what)
        add(f"{TREAT}:{cov}", block * tr[:, None], [f"{TREAT}:{c}" for c in cnames])
    X = np.column_stack(blocks)
    _check_rank(X, names, what)
    y = sub[outcome].to_numpy(dtype=float) if outcome else np.empty(0)
    return Design(y=y, X=X, names=tuple(names), treat=tr, rows=data.index[keep], terms=terms, warnings=tuple(warns))


def design_with_subgroup(data: pd.DataFrame, outcome: str | None, covariates: Sequence[str],
                         interaction: str | None, *, what: str, **kwargs: Any) -> tuple[Design, list[str]]:
    """:func:`build_design` with an optional subgroup factor: its main effect joins the covariates (once)
    and its treat-by-level terms the interactions. Returns the design and the covariates used."""
    covs = list(covariates)
    if interaction and interaction not in covs:
        covs.append(interaction)
    d = build_design(data, outcome, covs, what=what, interactions=[interaction] if interaction else (), **kwargs)
    return d, covs


def factor_levels(series: pd.Series) -> list[str]:
    """Levels present, in category order for categoricals, else sorted (R's factor default)."""
    values = series.to_numpy()
    present = {str(v) for v in pd.unique(values[~pd.isna(values)])}
    if isinstance(series.dtype, pd.CategoricalDtype):
        return [str(c) for c in series.cat.categories if str(c) in present]
    return sorted(present)


def _encode(col: pd.Series, name: str, what: str) -> tuple[np.ndarray, list[str]]:
    if is_factor(col):
        levels = factor_levels(col)
        if len(levels) < 2:
            raise DataError(f"{what}: covariate '{name}' is constant (only level {levels!r} among the "
                            "participants analysed); drop it from the model or check the data")
        s = col.to_numpy().astype(str)
        block = np.column_stack([(s == lev).astype(float) for lev in levels[1:]])
        return block, [f"{name}{lev}" for lev in levels[1:]]
    arr = col.to_numpy(dtype=float)
    if np.ptp(arr) == 0:
        raise DataError(f"{what}: covariate '{name}' is constant (every value {arr[0]!r} among the "
                        "participants analysed); drop it from the model or check the data")
    return arr[:, None], [name]


def _check_rank(X: np.ndarray, names: list[str], what: str) -> None:
    if X.shape[0] <= X.shape[1]:
        raise DataError(f"{what}: {X.shape[0]} participants analysed for {X.shape[1]} model parameters; "
                        "the model needs more participants than parameters")
    norms = np.linalg.norm(X, axis=0)
    if (norms == 0).any():  # e.g. a treat-by-level column where the level has no one in the intervention arm
        j = int(np.argmax(norms == 0))
        raise DataError(f"{what}: model column '{names[j]}' is zero for every participant analysed; "
                        "a factor level has no participants in one arm (merge small levels or drop the subgroup)")
    # find the first column that is a linear combination of those before it
    r = np.linalg.qr(X / norms, mode="r")
    diag = np.abs(np.diag(r))
    if not np.isfinite(diag).all() or diag.min() < 1e-10:
        j = int(np.argmax(diag < 1e-10))
        raise DataError(f"{what}: model column '{names[j]}' is a linear combination of the columns "
                        f"before it ({names[:j]}); a factor level may have no participants in one arm, "
                        "or two covariates carry the same information")


def factor_level_events(data: pd.DataFrame, event: np.ndarray, factors: Sequence[str], what: str,
                        events_word: str = "events", all_events_ok: bool = False) -> None:
    """Refuse a model where a factor level has no events (or only events): its coefficient would be
    infinite (separation) and the fit would return a silent wrong number."""
    for f in factors:
        col = data[f]
        if not is_factor(col):
            continue
        s = col.astype(str).to_numpy()
        for lev in factor_levels(col):
            ev = event[s == lev]
            if ev.sum() == 0:
                raise DataError(f"{what}: level '{lev}' of factor '{f}' has no {events_word} "
                                f"({len(ev)} participants, 0 {events_word}); merge the level with another "
                                "or drop the factor (its coefficient is not estimable)")
            if ev.sum() == len(ev) and not all_events_ok:
                raise DataError(f"{what}: level '{lev}' of factor '{f}' has {events_word} in every participant "
                                f"({len(ev)} of {len(ev)}); merge the level with another or drop the factor")
