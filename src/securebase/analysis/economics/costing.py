"""Costing: resource use x unit costs, by cost category and perspective, at one price year.

``cost_i,c = sum_{rows of i, items in category c} quantity x unit_cost(item, price year) x discount``

Unit costs are inflated with the user's index (``UnitCostTable.amount``). A resource-use row covers
``[period_start_days, period_end_days]``; its cost is spread evenly over the period and discounted in
annual steps beyond the first year (NICE PMG36, 3.5%). Each unit-cost item declares its payer once (its
``category``); a perspective's cost is the sum of its payers (``nhs_pss`` = nhs + pss + children's social
care, which in England is part of PSS; ``public_sector`` adds education; ``societal`` adds families'
out-of-pocket costs). The intervention cost is charged to its payer (:func:`totals_with_intervention`) and
so counts in every perspective that includes that payer.

Intervention cost (:func:`intervention_costs`): per participant, attended sessions x session minutes / 60
x therapist hourly cost, plus each therapist's supervision and training costs shared equally over the
participants that therapist treated, plus materials (a micro-costing in the style of the PSSRU schema).
Every check runs before any cost is computed, and a failure names the item, participant or year.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from securebase.analysis.economics.plan import EconomicsPlan, Perspective
from securebase.analysis.economics.qaly import DAYS_PER_YEAR
from securebase.analysis.schema import RESOURCE_USE_COLUMNS
from securebase.errors import DataError
from securebase.instruments.unit_costs import UnitCostTable


def _discount_share(start: np.ndarray, end: np.ndarray, rate: float, free_days: float) -> np.ndarray:
    """Mean discount factor over [start, end] for a cost spread evenly over the period (annual steps)."""
    start = np.asarray(start, dtype=float)
    end = np.maximum(np.asarray(end, dtype=float), start)
    width = end - start
    out = np.zeros_like(start)
    # year 0: [0, free_days] undiscounted; year k >= 1: (free + (k-1)Y, free + kY] with factor (1+r)^-k
    horizon = float(np.nanmax(end)) if end.size else 0.0
    bounds = [(-np.inf, free_days, 1.0)]
    k, lo = 1, free_days
    while lo < horizon:
        bounds.append((lo, lo + DAYS_PER_YEAR, (1 + rate) ** -k))
        lo += DAYS_PER_YEAR
        k += 1
    for a, b, f in bounds:
        overlap = np.clip(np.minimum(end, b) - np.maximum(start, a), 0, None)
        out += np.where(width > 0, overlap / np.where(width > 0, width, 1), 0) * f
    # zero-length periods take the factor of their single day
    point = width == 0
    if point.any():
        t = start[point]
        kk = np.where(t > free_days, np.floor((t - free_days) / DAYS_PER_YEAR) + 1, 0)
        out[point] = (1 + rate) ** -kk
    return out


def check_resource_use(ru: pd.DataFrame, table: UnitCostTable, price_year: str) -> None:
    """Validate a resource-use frame against schema.py and the unit-cost table; raise on the first problem."""
    missing = [c for c in RESOURCE_USE_COLUMNS if c not in ru.columns]
    if missing:
        raise DataError(f"resource-use data lack column(s) {missing}; expected {list(RESOURCE_USE_COLUMNS)}")
    known = set(table.keys())
    for item in pd.unique(ru["item"]):
        if item not in known:
            who = ru.loc[ru["item"] == item, "participant_id"].iloc[0]
            raise DataError(f"resource item '{item}' (first used by participant {who}) has no unit cost in the "
                            f"unit-cost table; add '{item}' to the table or correct the item key")
        table.inflation_factor(table.get(str(item)).price_year, price_year, item=str(item))
    q = pd.to_numeric(ru["quantity"], errors="coerce")
    neg = ru[q < 0]
    if len(neg):
        r = neg.iloc[0]
        raise DataError(f"quantity of resource item '{r['item']}' must be >= 0 (got {float(r['quantity'])!r}) for "
                        f"participant {r['participant_id']}; correct the resource-use record")
    bad = ru[pd.to_numeric(ru["period_end_days"], errors="coerce") < pd.to_numeric(ru["period_start_days"],
                                                                                    errors="coerce")]
    if len(bad):
        r = bad.iloc[0]
        raise DataError(f"period_end_days must be >= period_start_days (got {r['period_start_days']!r} to "
                        f"{r['period_end_days']!r}) for item '{r['item']}', participant {r['participant_id']}")


def cost_resource_use(ru: pd.DataFrame, table: UnitCostTable, plan: EconomicsPlan,
                      participants: pd.Index | None = None) -> pd.DataFrame:
    """Per-participant costs (rows) by category (columns), discounted, at ``plan.price_year``.

    A participant with any missing quantity gets NaN in that item's category (missing, not zero).
    Participants in ``participants`` with no rows get 0 in every category.
    """
    check_resource_use(ru, table, plan.price_year)
    prices = {k: table.amount(k, plan.price_year) for k in pd.unique(ru["item"])}
    cats = {it.key: it.category.value for it in table.items}
    q = pd.to_numeric(ru["quantity"], errors="coerce").to_numpy(dtype=float)
    disc = _discount_share(ru["period_start_days"].to_numpy(dtype=float), ru["period_end_days"].to_numpy(dtype=float),
                           plan.discounting.costs, plan.discounting.undiscounted_days)
    cost = q * ru["item"].map(prices).to_numpy(dtype=float) * disc
    long = pd.DataFrame({"participant_id": ru["participant_id"].to_numpy(),
                         "category": ru["item"].map(cats).to_numpy(), "cost": cost, "nan": np.isnan(cost)})
    agg = long.groupby(["participant_id", "category"]).agg(cost=("cost", "sum"), nan=("nan", "any"))
    agg.loc[agg["nan"], "cost"] = np.nan
    wide = agg["cost"].unstack("category")
    # a category a participant never used costs 0 (not missing)
    seen = long.groupby(["participant_id", "category"]).size().unstack("category").notna()
    wide = wide.where(seen, 0.0)
    for c in plan.cost_categories:
        if c.value not in wide.columns:
            wide[c.value] = 0.0
    wide = wide[[c.value for c in plan.cost_categories]]
    if participants is not None:
        wide = wide.reindex(participants)
        wide.loc[~wide.index.isin(set(long["participant_id"])), :] = 0.0
    wide.columns.name = None
    return wide


def intervention_costs(participants: pd.DataFrame, table: UnitCostTable, plan: EconomicsPlan,
                       delivery_log: pd.DataFrame | None = None, sessions: pd.Series | None = None) -> pd.Series:
    """Intervention cost per participant (0 in usual care), at ``plan.price_year``, by ``intervention_cost.mode``.

    ``delivery_log`` (optional): one row per session with ``participant_id``, ``therapist``, ``attended``
    (0/1) and optionally ``minutes`` (group mode: ``group_id`` and ``session`` instead of ``therapist``);
    without it ``sessions_attended`` and ``therapist`` (group mode: ``group_id``) of the participant frame are
    used with the plan's minutes per session; ``sessions`` (attended sessions per participant, e.g. summed
    from the plan's ``session_item`` rows of the resource-use frame) takes precedence over
    ``sessions_attended``.
    """
    ic = plan.intervention_cost
    if ic.mode == "group":
        return group_intervention_costs(participants, table, plan, delivery_log, sessions)
    treated = participants[participants["treat"] == 1]
    ids = treated["participant_id"]
    out = pd.Series(0.0, index=participants["participant_id"].to_numpy(), name="intervention")
    if ic.mode == "flat":
        n = _sessions_attended(treated, delivery_log, sessions)
        out.loc[ids.to_numpy()] = n.reindex(ids).fillna(0.0).to_numpy() * float(ic.cost_per_session or 0.0) \
            + ic.materials_per_participant
        return out
    rate = table.amount(ic.therapist_item, plan.price_year)
    sup_rate = table.amount(ic.supervisor_item, plan.price_year)
    if delivery_log is not None:
        need = {"participant_id", "therapist", "attended"}
        if not need <= set(delivery_log.columns):
            raise DataError(f"the delivery log needs columns {sorted(need)} (got {list(delivery_log.columns)})")
        log = delivery_log[delivery_log["attended"] == 1]
        minutes = log["minutes"] if "minutes" in log.columns else pd.Series(ic.minutes_per_session, index=log.index)
        if (minutes < 0).any():
            raise DataError("session minutes in the delivery log must be >= 0")
        hours = (minutes / 60).groupby(log["participant_id"]).sum()
        therapist = delivery_log.groupby("participant_id")["therapist"].first()
    else:
        hours = _sessions_attended(treated, None, sessions) * ic.minutes_per_session / 60
        therapist = (treated.set_index("participant_id")["therapist"] if "therapist" in treated.columns
                     else pd.Series(None, index=ids.to_numpy(), dtype=object))
    contact = hours.reindex(ids).fillna(0.0).to_numpy() * rate
    fixed_per_therapist = (ic.supervision_hours_per_therapist * sup_rate
                           + ic.training_hours_per_therapist * rate + ic.training_fee_per_therapist)
    th = therapist.reindex(ids).fillna("__none__")
    caseload = th.map(th.value_counts()).to_numpy(dtype=float)
    shared = fixed_per_therapist / caseload
    out.loc[ids.to_numpy()] = contact + shared + ic.materials_per_participant
    return out


def _sessions_attended(treated: pd.DataFrame, delivery_log: pd.DataFrame | None,
                       sessions: pd.Series | None) -> pd.Series:
    """Attended sessions per treated participant: the delivery log, else ``sessions``, else the column."""
    ids = treated["participant_id"]
    if delivery_log is not None:
        for c in ("participant_id", "attended"):
            if c not in delivery_log.columns:
                raise DataError(f"the delivery log needs column '{c}' (got {list(delivery_log.columns)})")
        return delivery_log["attended"].astype(float).groupby(delivery_log["participant_id"]).sum().reindex(ids)
    base = (treated.set_index("participant_id")["sessions_attended"].astype(float)
            if "sessions_attended" in treated.columns else pd.Series(np.nan, index=ids.to_numpy()))
    if sessions is not None:
        base = sessions.reindex(base.index).astype(float).fillna(base)
    if base.isna().any():
        who = base.index[base.isna()][0]
        raise DataError(f"attended sessions are unknown for participant {who}: the participant data have no "
                        "'sessions_attended' value and there is no delivery log or 'intervention_session' "
                        "resource-use row for them; add one of these")
    return base


def group_intervention_costs(participants: pd.DataFrame, table: UnitCostTable, plan: EconomicsPlan,
                             delivery_log: pd.DataFrame | None = None,
                             sessions: pd.Series | None = None) -> pd.Series:
    """Group-delivered intervention: each session's staff cost shared over the participants who attended it.

    Session cost = facilitators x (minutes + preparation minutes) / 60 x hourly cost. Per group:
    supervision hours x supervisor cost + materials per group + facilitators x (training hours x hourly cost
    + training fee) / groups run per training, shared equally over the group's members. Plus materials per
    participant. With a delivery log (``participant_id, group_id, session, attended[, minutes]``) attendance
    is counted per session; without it (``group_id`` and ``sessions_attended`` in the participant frame) a
    participant's share of the group's session costs is their attended sessions / the group's attendances,
    over ``max(sessions_attended)`` sessions of ``minutes_per_session``.
    """
    ic = plan.intervention_cost
    rate = table.amount(ic.therapist_item, plan.price_year)
    sup_rate = table.amount(ic.supervisor_item, plan.price_year)
    treated = participants[participants["treat"] == 1]
    ids = treated["participant_id"]
    fixed_group = (ic.supervision_hours_per_group * sup_rate + ic.materials_per_group
                   + ic.facilitators_per_group * (ic.training_hours_per_therapist * rate
                                                  + ic.training_fee_per_therapist) / ic.groups_run_per_training)
    per_min = ic.facilitators_per_group * rate / 60
    share = pd.Series(0.0, index=ids.to_numpy())
    if delivery_log is not None:
        need = {"participant_id", "group_id", "session", "attended"}
        if not need <= set(delivery_log.columns):
            raise DataError(f"a group delivery log needs columns {sorted(need)} (got {list(delivery_log.columns)})")
        log = delivery_log.copy()
        log["minutes"] = log["minutes"].astype(float) if "minutes" in log.columns else ic.minutes_per_session
        att = log[log["attended"] == 1]
        sess = att.groupby(["group_id", "session"]).agg(minutes=("minutes", "max"), n=("participant_id", "size"))
        sess["cost_each"] = per_min * (sess["minutes"] + ic.preparation_minutes_per_session) / sess["n"]
        each = att.join(sess["cost_each"], on=["group_id", "session"])
        share = share.add(each.groupby("participant_id")["cost_each"].sum(), fill_value=0.0)
        group = log.groupby("participant_id")["group_id"].first()
    else:
        if "group_id" not in treated.columns:
            raise DataError("group costing needs a 'group_id' per treated participant in the participant data, "
                            "or a delivery log with participant_id, group_id, session, attended")
        n = _sessions_attended(treated, None, sessions)
        group = treated.set_index("participant_id")["group_id"]
        g = group.reindex(n.index)
        attendances, delivered = n.groupby(g).sum(), n.groupby(g).max()
        cost_group = per_min * (ic.minutes_per_session + ic.preparation_minutes_per_session) * delivered
        with np.errstate(divide="ignore", invalid="ignore"):
            share = (n / g.map(attendances) * g.map(cost_group)).fillna(0.0)
    g = group.reindex(ids)
    if g.isna().any():
        raise DataError(f"participant {g.index[g.isna()][0]} (intervention arm) has no group_id; group costing "
                        "needs the group each participant was allocated to")
    members = g.map(g.value_counts()).to_numpy(dtype=float)
    out = pd.Series(0.0, index=participants["participant_id"].to_numpy(), name="intervention")
    out.loc[ids.to_numpy()] = share.reindex(ids).fillna(0.0).to_numpy() + fixed_group / members \
        + ic.materials_per_participant
    return out


def perspective_totals(costs: pd.DataFrame, perspectives: tuple[Perspective, ...]) -> pd.DataFrame:
    """Sum category columns into one total column per perspective (NaN if any category is NaN)."""
    out = {}
    for p in perspectives:
        cols = [c.value for c in p.categories if c.value in costs.columns]
        out[p.name] = costs[cols].sum(axis=1, skipna=False) if cols else pd.Series(0.0, index=costs.index)
    return pd.DataFrame(out, index=costs.index)


def totals_with_intervention(costs: pd.DataFrame, intervention: pd.Series | np.ndarray,
                             plan: EconomicsPlan) -> pd.DataFrame:
    """Perspective totals after charging the intervention cost to its payer (``intervention_cost.category``).

    ``costs`` has one column per payer (``cost_resource_use``); the intervention cost then counts in every
    perspective whose payers include the intervention's payer, and in no other.
    """
    payer = plan.intervention_cost.category.value
    cats = costs.copy()
    if payer not in cats.columns:
        cats[payer] = 0.0
    cats[payer] = cats[payer].to_numpy(dtype=float) + np.asarray(intervention, dtype=float)
    return perspective_totals(cats, plan.perspectives)
