"""Trial-based cost-utility analysis of an NG26 trial from the analysis datasets (schema.py).

``CostEffectivenessAnalysis(plan).fit(participants, resource_use, delivery_log)``:

1. validate everything first (unit costs and index years for every item, quantities >= 0, utilities in
   [value-set minimum, 1]); nothing is computed on data that fail a check;
2. cost each participant by category at the plan's price year (``costing``), add the intervention cost;
3. multiple imputation by arm (PMM) of missing category costs and utilities;
4. in each completed set: QALYs by AUC on the actual assessment days (``qaly``), perspective totals;
5. for each perspective: SUR + bootstrap in each set, Rubin's rules (``engine``), decision outputs
   (``decision``), the gamma/log GLM sensitivity analysis, cost per unit of clinical outcome.
Participants with no resource-use rows have missing (not zero) costs: record zero use as quantity 0.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from securebase.analysis.economics.costing import (
    cost_resource_use,
    intervention_costs,
    totals_with_intervention,
)
from securebase.analysis.economics.decision import DIRECTION, DecisionResult, decide
from securebase.analysis.economics.engine import JointCostQaly, JointResult, gamma_glm_cost
from securebase.analysis.economics.mi import PMMImputer
from securebase.analysis.economics.plan import EconomicsPlan
from securebase.analysis.economics.qaly import DAYS_PER_YEAR, check_utilities, qalys_from_participants
from securebase.analysis.schema import VISIT_MONTHS
from securebase.cells import frame_to_csv
from securebase.errors import DataError
from securebase.instruments.unit_costs import UnitCostTable


def placement_end_12(p: pd.DataFrame) -> pd.Series:
    """1 if an unplanned placement ending occurred by day 365.25, 0 if not, NaN if censored earlier."""
    t, e = p["placement_end_time"].astype(float), p["placement_end_event"]
    out = pd.Series(0.0, index=p.index)
    out[(e == 1) & (t <= DAYS_PER_YEAR)] = 1.0
    out[(e == 0) & (t < DAYS_PER_YEAR)] = np.nan
    return out


@dataclass(frozen=True)
class PerspectiveResult:
    name: str
    label: str
    joint: JointResult
    decision: DecisionResult
    gamma_glm: dict[str, Any]
    cost_per_outcome: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "joint": self.joint.to_dict(),
                "decision": self.decision.to_dict(), "gamma_glm_sensitivity": self.gamma_glm,
                "cost_per_outcome": list(self.cost_per_outcome)}


@dataclass(frozen=True)
class CEAResult:
    """Immutable result of the analysis, one :class:`PerspectiveResult` per perspective."""

    trial: str
    price_year: str
    currency: str
    perspectives: tuple[PerspectiveResult, ...]
    cost_consequence: pd.DataFrame = field(repr=False)
    n: int = 0
    m: int = 1
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"trial": self.trial, "direction": DIRECTION, "price_year": self.price_year,
                "currency": self.currency, "n": self.n, "imputations": self.m,
                "perspectives": [p.to_dict() for p in self.perspectives],
                "cost_consequence": self.cost_consequence.to_dict(orient="records"),
                "warnings": list(self.warnings)}

    def summary(self) -> str:
        how = f"{self.m} imputed set(s)" if self.m > 1 else "observed data (nothing imputed)"
        parts = [f"Trial '{self.trial}': cost-utility analysis, {self.currency} at {self.price_year} prices, "
                 f"n = {self.n}, {how}; differences are {DIRECTION}."]
        for p in self.perspectives:
            parts.append(f"\nPerspective: {p.label}\n" + p.decision.summary())
            for c in p.cost_per_outcome:
                parts.append(f"  {c['statement']}")
        return "\n".join(parts)


class CostEffectivenessAnalysis:
    """Options: the plan (and overrides); data in :meth:`fit`."""

    def __init__(self, plan: EconomicsPlan, *, unit_costs: UnitCostTable | None = None,
                 n_boot: int | None = None, seed: int | None = None, m: int | None = None,
                 scheduler: str | None = None, workers: int = 1, under_age: str | None = None,
                 carer_qalys: bool = False, complete_case: bool = False) -> None:
        self.plan = plan
        self.under_age = under_age or plan.utility.under_age
        if self.under_age not in ("exclude", "proxy"):
            raise DataError(f"under_age must be 'exclude' or 'proxy' (got {self.under_age!r})")
        self.carer_qalys = carer_qalys
        self.complete_case = complete_case
        if carer_qalys and plan.carer_utility is None:
            raise DataError("carer QALYs were asked for but the plan declares no carer_utility; add a "
                            "carer_utility block (measure, column, minimum) to the plan")
        self.notes: list[str] = []
        self.table = unit_costs or plan.load_unit_costs()
        self.n_boot = n_boot or plan.bootstrap.replicates
        self.seed = plan.bootstrap.seed if seed is None else seed
        self.m = m or plan.imputation.m
        self.scheduler, self.workers = scheduler, workers

    def _frame(self, participants: pd.DataFrame, resource_use: pd.DataFrame,
               delivery_log: pd.DataFrame | None) -> tuple[pd.DataFrame, list[str], list[str]]:
        plan = self.plan
        for c in ("participant_id", "treat"):
            if c not in participants.columns:
                raise DataError(f"participant data need column '{c}' (see analysis/schema.py)")
        months = [m for m in VISIT_MONTHS if f"{plan.utility.column}_{m}" in participants.columns]
        if len(months) < 2:
            raise DataError(f"participant data need at least two '{plan.utility.column}_<month>' columns")
        ucols = [f"{plan.utility.column}_{m}" for m in months]
        participants = self._age_valid(participants, months)
        check_utilities(participants, ucols, plan.utility.minimum, measure=plan.utility.measure)
        if self.carer_qalys:
            cu = plan.carer_utility
            ccols = [f"{cu.column}_{m}" for m in months]
            check_utilities(participants, ccols, cu.minimum, measure=f"carer {cu.measure}")
        ids = pd.Index(participants["participant_id"])
        is_session = resource_use["item"] == plan.intervention_cost.session_item
        sessions = None
        if is_session.any():
            sess = resource_use[is_session]
            sessions = pd.to_numeric(sess["quantity"], errors="coerce").groupby(sess["participant_id"]).sum()
            resource_use = resource_use[~is_session]
        costs = cost_resource_use(resource_use, self.table, plan, participants=ids)
        seen = set(resource_use["participant_id"])
        costs.loc[~costs.index.isin(seen), :] = np.nan  # no rows: resource use not collected
        icost = intervention_costs(participants, self.table, plan, delivery_log, sessions)
        cat = plan.intervention_cost.category.value
        frame = participants.set_index("participant_id").copy()
        for c in costs.columns:
            frame[f"cost_{c}"] = costs[c].to_numpy()
        frame["cost_intervention"] = icost.reindex(frame.index).to_numpy()
        frame.attrs["intervention_category"] = cat
        if "sex" in frame.columns and frame["sex"].dtype == object:
            frame["sex"] = (frame["sex"] == "male").astype(float)
        if "placement_end_event" in frame.columns and "placement_end_12" not in frame.columns:
            frame["placement_end_12"] = placement_end_12(frame)
        cost_cols = [f"cost_{c}" for c in costs.columns]
        return frame, cost_cols, ucols

    def _age_valid(self, participants: pd.DataFrame, months: list[int]) -> pd.DataFrame:
        """Apply the utility measure's age range: exclude under-age children (declared) or use the proxy."""
        u = self.plan.utility
        if u.valid_from_age is None:
            return participants
        if "age_years" not in participants.columns:
            raise DataError(f"{u.measure} is valid from age {u.valid_from_age:g}: the participant data need "
                            "'age_years' (age at randomisation) to apply it")
        age = participants["age_years"].astype(float)
        young = age < u.valid_from_age
        if self.under_age == "exclude":
            if young.any():
                self.notes.append(f"{int(young.sum())} participant(s) under {u.valid_from_age:g} at baseline are "
                                  f"excluded from the cost-utility analysis: {u.measure} is valid from age "
                                  f"{u.valid_from_age:g} (declared exclusion; sensitivity analysis: under_age = "
                                  "proxy)")
            return participants[~young].copy()
        if not u.proxy_column:
            raise DataError("utility.under_age is 'proxy' but the plan names no utility.proxy_column; name the "
                            "proxy measure's columns (e.g. proxy_utility_<month>) or use under_age: exclude")
        out = participants.copy()
        used = 0
        for m in months:
            pc = f"{u.proxy_column}_{m}"
            at_visit = age + m / 12 < u.valid_from_age
            if not at_visit.any():
                continue
            if pc not in out.columns:
                raise DataError(f"utility.proxy_column: column '{pc}' is missing; {int(at_visit.sum())} "
                                f"participant(s) are under {u.valid_from_age:g} at month {m} and need a proxy value")
            check_utilities(out[at_visit], [pc], u.proxy_minimum, measure="proxy utility")
            out.loc[at_visit, f"{u.column}_{m}"] = out.loc[at_visit, pc]
            used += int(at_visit.sum())
        if used:
            self.notes.append(f"{used} under-{u.valid_from_age:g} visit value(s) use the proxy measure "
                              f"'{u.proxy_column}' instead of {u.measure} (sensitivity analysis)")
        return out

    def fit(self, participants: pd.DataFrame, resource_use: pd.DataFrame,
            delivery_log: pd.DataFrame | None = None) -> CEAResult:
        plan = self.plan
        self.notes = []
        frame, cost_cols, ucols = self._frame(participants, resource_use, delivery_log)
        covs = sorted(set(plan.cost_covariates) | set(plan.qaly_covariates) - set(ucols))
        for c in covs:
            if c not in frame.columns:
                raise DataError(f"covariate '{c}' named in the plan is not in the participant data")
        months = [int(c.rsplit("_", 1)[1]) for c in ucols]
        ccols = [f"{plan.carer_utility.column}_{m}" for m in months] if self.carer_qalys else []
        if self.complete_case:  # complete-case analysis: participants with every cost and utility observed
            full = frame[cost_cols + ucols + ccols].notna().all(axis=1)
            self.notes.append(f"complete-case analysis: {int(full.sum())} of {len(frame)} participants have every "
                              "cost and utility observed; nothing is imputed")
            frame = frame[full].copy()
        impute = [c for c in cost_cols + ucols + ccols if frame[c].isna().any()]
        cluster = plan.bootstrap.cluster
        keep = ["treat", *covs, *cost_cols, *ucols, *ccols]
        num = frame[keep].astype(float)
        for c in covs:
            if num[c].isna().any():
                raise DataError(f"covariate '{c}' has missing values; baseline covariates must be complete")
        days = frame[[f"days_{m}" for m in months if f"days_{m}" in frame.columns]]

        def derive(d: pd.DataFrame) -> pd.DataFrame:
            out = d.copy()
            for c in days.columns:
                out[c] = days[c].to_numpy()
            out["qaly"] = qalys_from_participants(out.reset_index(), plan.utility.column, months,
                                                  plan.discounting.effects, plan.discounting.undiscounted_days,
                                                  plan.utility.minimum).to_numpy()
            if ccols:  # spill-over sensitivity analysis: carers' QALYs added to the child's
                cu = plan.carer_utility
                out["qaly"] = out["qaly"] + qalys_from_participants(
                    out.reset_index(), cu.column, months, plan.discounting.effects,
                    plan.discounting.undiscounted_days, cu.minimum).to_numpy()
            cats = out[cost_cols].rename(columns=lambda c: c[5:])
            for name, col in totals_with_intervention(cats, out["cost_intervention"], plan).items():
                out[f"total_{name}"] = col.to_numpy()
            if cluster and cluster in frame.columns:
                out[cluster] = frame[cluster].to_numpy()
            return out

        imputer = PMMImputer(m=self.m, maxit=plan.imputation.maxit, donors=plan.imputation.donors)
        base = num.join(frame[["cost_intervention"]])
        ref = JointCostQaly("total_x", "qaly", "treat", (), (), seed=self.seed, imputer=imputer,
                            impute_columns=impute, impute_exclude=("cost_intervention",), derive=derive)
        sets = ref.completed_sets(base)
        results = []
        for p in plan.perspectives:
            est = JointCostQaly(f"total_{p.name}", "qaly", "treat", plan.cost_covariates, plan.qaly_covariates,
                                n_boot=self.n_boot, seed=self.seed, batch_size=plan.bootstrap.batch_size,
                                cluster=cluster, scheduler=self.scheduler, workers=self.workers)
            joint = est.fit(base, sets)
            pop = plan.population
            dec = decide(joint.pooled.estimate, joint.pooled.total, joint.stacked, plan.wtp.grid(),
                         plan.wtp.thresholds, currency="£" if plan.currency == "GBP" else plan.currency + " ",
                         population=(pop.annual, pop.years, plan.discounting.costs) if pop else None)
            glm = gamma_glm_cost(sets, f"total_{p.name}", "treat", plan.cost_covariates)
            cpo = tuple(self._cost_per_outcome(frame, float(joint.pooled.estimate[0]), dec.currency))
            results.append(PerspectiveResult(p.name, p.label, joint, dec, glm, cpo))
        ccons = cost_consequence(sets, frame, cost_cols, [o.column for o in plan.clinical_outcomes])
        warns = [*self.notes, *(["carers' QALYs are added to the children's (declared spill-over sensitivity "
                                 "analysis, not the primary analysis)"] if self.carer_qalys else []),
                 *[w for r in results for w in (*r.joint.warnings, *r.decision.warnings)]]
        if any(it.illustrative for it in self.table.items):
            warns.append("the unit-cost table contains illustrative values; replace them before a real analysis")
        return CEAResult(plan.trial, plan.price_year, plan.currency, tuple(results), ccons, len(frame), len(sets),
                         tuple(warns))

    def _cost_per_outcome(self, frame: pd.DataFrame, dc: float, cur: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for o in self.plan.clinical_outcomes:
            if o.column not in frame.columns:
                out.append({"name": o.name, "statement": f"{o.label}: column '{o.column}' not in the data"})
                continue
            y = frame[o.column].astype(float)
            p1, p0 = y[frame["treat"] == 1].mean(), y[frame["treat"] == 0].mean()
            avoided = (p0 - p1) if o.event_is_bad else (p1 - p0)
            if avoided > 0 and dc <= 0:
                val = dc / avoided
                text = (f"cost per {o.label}: the intervention saves {cur}{-dc:,.0f} and avoids {avoided:.4f} "
                        f"per participant (dominant; {DIRECTION}; point estimate, observed cases)")
            elif avoided > 0:
                val = dc / avoided
                text = (f"cost per {o.label}: {cur}{val:,.0f} (incremental cost {cur}{dc:,.0f} / "
                        f"{avoided:.4f} per participant; {DIRECTION}; point estimate, observed cases)")
            else:
                val = None
                text = (f"cost per {o.label}: not defined, the intervention avoids no events "
                        f"(difference {avoided:.4f} per participant, {DIRECTION})")
            out.append({"name": o.name, "label": o.label, "rate_intervention": float(p1),
                        "rate_usual_care": float(p0), "avoided_per_participant": float(avoided),
                        "cost_per_unit": val, "statement": text})
        return out

    def write(self, result: CEAResult, out_dir: Path) -> list[Path]:
        return write_outputs(result, out_dir)


def cost_consequence(sets: list[pd.DataFrame], frame: pd.DataFrame, cost_cols: list[str],
                     outcomes: list[str]) -> pd.DataFrame:
    """Mean (SD) by arm over the imputed sets (averaged), and intervention minus usual care."""
    cols = [*cost_cols, "cost_intervention", *[c for c in sets[0].columns if c.startswith("total_")], "qaly"]
    rows = []
    for c in cols:
        m1 = np.mean([s.loc[s["treat"] == 1, c].mean() for s in sets])
        m0 = np.mean([s.loc[s["treat"] == 0, c].mean() for s in sets])
        sd1 = np.mean([s.loc[s["treat"] == 1, c].std() for s in sets])
        sd0 = np.mean([s.loc[s["treat"] == 0, c].std() for s in sets])
        rows.append({"item": c, "intervention_mean": m1, "intervention_sd": sd1, "usual_care_mean": m0,
                     "usual_care_sd": sd0, "difference": m1 - m0,
                     "source": "imputed sets (mean)" if len(sets) > 1 else "observed (nothing imputed)"})
    for c in outcomes:
        if c in frame.columns:
            y = frame[c].astype(float)
            m1, m0 = y[frame["treat"] == 1].mean(), y[frame["treat"] == 0].mean()
            rows.append({"item": c, "intervention_mean": m1, "intervention_sd": y[frame["treat"] == 1].std(),
                         "usual_care_mean": m0, "usual_care_sd": y[frame["treat"] == 0].std(),
                         "difference": m1 - m0, "source": "observed cases"})
    return pd.DataFrame(rows)


def write_outputs(result: CEAResult, out_dir: Path) -> list[Path]:
    """JSON (everything), readable text and CSV tables, and PNG plots per perspective."""
    from securebase.analysis.economics.plots import plot_all

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "economics.json", out_dir / "summary.txt", out_dir / "cost_consequence.csv"]
    paths[0].write_text(json.dumps(result.to_dict(), indent=1, default=float), encoding="utf-8")
    paths[1].write_text(result.summary() + "\n", encoding="utf-8")
    frame_to_csv(result.cost_consequence, paths[2], index=False)
    from securebase.analysis.economics.intervals import write_replicates

    for p in result.perspectives:
        paths += write_replicates(p.joint.replicates, p.joint.pooled.estimate, p.decision.thresholds, out_dir,
                                  prefix=f"{p.name}_")
        curves = pd.DataFrame(p.decision.to_dict()["curves"])
        frame_to_csv(curves, out_dir / f"{p.name}_curves.csv", index=False)
        paths.append(out_dir / f"{p.name}_curves.csv")
        paths += plot_all(p.decision, out_dir, prefix=f"{p.name}_")
    return paths
