"""Simulated NG26 trials in exactly the analysis-dataset schema (:mod:`securebase.analysis.schema`).

``simulate(params, rng)`` returns a :class:`SimulatedTrial` with the participants, visits and
resource_use frames that the store's extraction produces, so every analysis runs unchanged on simulated
data; ``item_level=True`` adds SDQ item responses (a long frame) and rescores the SDQ from them.
The numbers come from :func:`securebase.analysis.design.simulate_core.simulate_arrays` (one trial).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from securebase.analysis import schema
from securebase.analysis.design.parameters import SimulationParameters
from securebase.analysis.design.sdq_items import SUBSCALE_ITEMS, items_from_subscales, score_items
from securebase.analysis.design.simulate_core import simulate_arrays
from securebase.cells import frame_to_csv
from securebase.errors import FieldError

PERIODS: tuple[tuple[float, float], ...] = ((0.0, 182.0), (182.0, 365.0))
ROUTINE_ITEMS = ("foster_care_week", "residential_care_week")


def make_parameters(**overrides: Any) -> SimulationParameters:
    """Build :class:`SimulationParameters`, turning validation errors into the standard FieldError."""
    try:
        return SimulationParameters(**overrides)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(x) for x in err.get("loc", ()))
        if not field:  # a check across fields
            raise FieldError("parameters", overrides, "consistent: " + str(err.get("msg", "")).removeprefix(
                "Value error, "), "see docs/design.md for every simulator parameter") from None
        msg = str(err.get("msg", "a valid value"))
        for prefix in ("Input should be ", "Value error, "):
            msg = msg.removeprefix(prefix)
        raise FieldError(field, err.get("input"), msg,
                         "see docs/design.md for every simulator parameter") from None


@dataclass(frozen=True)
class SimulatedTrial:
    """One simulated trial: the three analysis frames (plus SDQ items when asked) and how it was made."""

    params: SimulationParameters
    participants: pd.DataFrame
    visits: pd.DataFrame
    resource_use: pd.DataFrame
    sdq_items: pd.DataFrame | None = None
    seed: int | None = None

    def summary(self) -> str:
        p = self.participants
        n_int = int(p["treat"].sum())
        return (f"{self.params.protocol}: {len(p)} participants ({n_int} intervention, {len(p) - n_int} usual care) "
                f"at {p['site'].nunique()} sites; 12-month SDQ observed for "
                f"{int(p['sdq_total_12'].notna().sum())}; {int((p['placement_end_event'] == 1).sum())} unplanned "
                f"placement endings; {len(self.resource_use)} resource-use rows")

    def to_dict(self) -> dict[str, Any]:
        return {"protocol": self.params.protocol, "seed": self.seed, "n_participants": len(self.participants),
                "n_visits": len(self.visits), "n_resource_rows": len(self.resource_use),
                "parameters": self.params.model_dump(mode="json")}

    def write(self, directory: Path | str, fmt: str = "csv") -> list[Path]:
        """Write each frame as ``<name>.csv`` or ``<name>.parquet`` in ``directory``; return the paths."""
        if fmt not in ("csv", "parquet"):
            raise FieldError("format", fmt, "'csv' or 'parquet'")
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        frames = {"participants": self.participants, "visits": self.visits, "resource_use": self.resource_use}
        if self.sdq_items is not None:
            frames["sdq_items"] = self.sdq_items
        paths = []
        for name, frame in frames.items():
            path = d / f"{name}.{fmt}"
            frame_to_csv(frame, path, index=False) if fmt == "csv" else frame.to_parquet(path, index=False)
            paths.append(path)
        return paths


def simulate(params: SimulationParameters, rng: np.random.Generator, *, item_level: bool = False,
             seed: int | None = None) -> SimulatedTrial:
    """Simulate one trial for ``params.protocol`` with randomness from ``rng`` (``seed`` is only recorded)."""
    if item_level and not params.round_scores:
        raise FieldError("item_level", item_level, "False when round_scores is False",
                         "item responses need integer subscale scores")
    a = {k: v[0] for k, v in simulate_arrays(params, 1, rng).items()}
    _teacher_sdq(a)
    n = params.n_participants
    ids = [f"{params.id_prefix}-{i + 1:04d}" for i in range(n)]
    items_frame = _sdq_items(a, ids, params, rng) if item_level else None
    participants = _participants(a, ids, params, rng)
    visits = _visits(participants)
    resources = _resources(a, participants, params, rng)
    return SimulatedTrial(params, participants, visits, resources, items_frame, seed)


def _teacher_sdq(a: dict[str, np.ndarray]) -> None:
    """The teacher's SDQ total (blinded informant): 0.6 x the carer's total + 2 + N(0, 3^2), rounded and clipped
    to 0-40, present where the carer's is (teachers see less of home behaviour, so agreement is moderate and the
    effect is smaller: assumption). Its randomness is seeded from the simulated carer scores, not drawn from the
    trial's generator, so every other simulated value is unchanged by it."""
    base = a.get("sdq_total_0")
    if base is None:
        return
    import hashlib

    seed = int.from_bytes(hashlib.sha256(np.ascontiguousarray(base).tobytes()).digest()[:8], "little")
    g = np.random.default_rng(seed)
    for m in schema.VISIT_MONTHS:
        parent = a.get(f"sdq_total_{m}")
        if parent is None:
            continue
        val = np.clip(np.round(0.6 * parent + 2 + g.normal(0, 3, parent.shape)), 0, 40)
        a[f"sdq_teacher_total_{m}"] = np.where(np.isnan(parent), np.nan, val)


def _participants(a: dict[str, np.ndarray], ids: list[str], p: SimulationParameters,
                  rng: np.random.Generator) -> pd.DataFrame:
    n = len(ids)
    cats = np.array(list(p.categories), dtype=object)[a["category"]]
    treat = a["treat"].astype(int)
    # IDs are given in recruitment order; allocation is already a random permutation
    offsets = np.sort(rng.integers(0, p.recruitment_days, n))
    rand_on = pd.to_datetime(p.start_date) + pd.to_timedelta(offsets, unit="D")
    therapist = [f"S{s + 1:02d}-T{t % p.therapists_per_site + 1}" if t >= 0 else None
                 for s, t in zip(a["site"], a["therapist"], strict=True)]
    df = pd.DataFrame({
        "participant_id": ids,
        "site": [f"S{s + 1:02d}" for s in a["site"]],
        "arm": np.where(treat == 1, schema.ARM_INTERVENTION, schema.ARM_CONTROL),
        "treat": treat,
        "age_years": np.round(a["age"], 2),
        "age_band": [schema.age_band(x) for x in a["age"]],
        "sex": np.where(a["female"] == 1, "female", "male"),
        "care_status": cats if p.protocol == "ng26-care" else None,
        "maltreatment_type": cats if p.protocol == "ng26-maltreatment" else None,
        "randomised_on": rand_on,
        "therapist": therapist,
        "sessions_offered": a["sessions_offered"].astype(int),
        "sessions_attended": a["sessions_attended"].astype(int),
        "complier": a["complier"].astype(int),
    })
    cols: dict[str, Any] = {}
    for outcome in schema.SCORED_OUTCOMES:
        for m in schema.VISIT_MONTHS:
            key = f"{outcome}_{m}"
            cols[schema.outcome_column(outcome, m)] = a[key] if key in a else np.full(n, np.nan)
    cols["days_0"] = np.zeros(n)
    cols["days_6"], cols["days_12"] = a["days_6"], a["days_12"]
    cols["placement_end_time"] = np.round(a["placement_time"], 2)
    cols["placement_end_event"] = a["placement_event"].astype(int)
    cols["maltreatment_12"] = a["maltreatment_12"]
    cols["exclusions_12"] = a["exclusions_12"]
    cols["attendance_12"] = a["attendance_12"]
    cols["persistent_absence_12"] = np.where(np.isnan(a["attendance_12"]), np.nan,
                                             (a["attendance_12"] < 0.9).astype(float))
    for col in ("permanent_exclusion_12", "ks2_mean_12", "attainment8_12", "adoption_disruption"):  # routine-record outcomes not simulated
        cols[col] = np.full(n, np.nan)
    for fam, who in (("sdq", "carer"), ("sdq_teacher", "teacher"), ("sdq_self", "child")):
        for m in schema.VISIT_MONTHS:
            total = np.asarray(cols[schema.outcome_column(f"{fam}_total", m)], dtype=float)
            cols[f"{fam}_respondent_{m}"] = np.where(np.isnan(total), None, who)
    return pd.concat([df, pd.DataFrame(cols)], axis=1)


def _visits(part: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for m in schema.VISIT_MONTHS:
        v = part[["participant_id", "site", "arm", "treat"]].copy()
        v["visit_month"] = m
        v["days"] = part[f"days_{m}"].to_numpy()
        for outcome in schema.SCORED_OUTCOMES:
            v[outcome] = part[schema.outcome_column(outcome, m)].to_numpy()
        rows.append(v)
    out = pd.concat(rows, ignore_index=True)
    out = out.sort_values(["participant_id", "visit_month"], kind="stable").reset_index(drop=True)
    return out[list(schema.VISIT_COLUMNS) + list(schema.SCORED_OUTCOMES)]


def _sdq_items(a: dict[str, np.ndarray], ids: list[str], p: SimulationParameters,
               rng: np.random.Generator) -> pd.DataFrame:
    """Item answers consistent with the simulated subscales; item non-response, then rescoring in ``a``."""
    frames = []
    n = len(ids)
    for m in schema.VISIT_MONTHS:
        seen = np.isfinite(a[f"sdq_total_{m}"])
        prosocial = a.get(f"sdq_prosocial_{m}", np.full(n, 7.0))
        scores = {k: np.nan_to_num(a[f"{k}_{m}"] if k != "sdq_prosocial" else prosocial).astype(int)
                  for k in SUBSCALE_ITEMS}
        items = items_from_subscales(scores, rng).astype(float)
        items[rng.random(items.shape) < p.sdq_item_missing_prob] = np.nan
        items[~seen] = np.nan
        rescored = score_items(items)
        for k, v in rescored.items():
            a[f"{k}_{m}"] = np.where(seen, v, np.nan)
        long = pd.DataFrame({"participant_id": np.repeat(ids, 25), "visit_month": m,
                             "item": np.tile(np.arange(1, 26), n), "response": items.ravel()})
        frames.append(long[np.repeat(seen, 25)])
    return pd.concat(frames, ignore_index=True)


def _resources(a: dict[str, np.ndarray], part: pd.DataFrame, p: SimulationParameters,
               rng: np.random.Generator) -> pd.DataFrame:
    """Quantities per 6-month period: NB counts with a shared log-normal frailty (NaN when the visit that
    collects them was missed), placement weeks from records, sessions from therapist records."""
    n = len(part)
    treat = a["treat"]
    frailty = np.exp(p.frailty_sd * rng.standard_normal(n) - p.frailty_sd**2 / 2)
    seen = [a["seen_6"] == 1, a["seen_12"] == 1]
    cats = np.array(list(p.categories), dtype=object)[a["category"]]
    # days in paid care: care trial until the competing event (adoption, return home);
    # maltreatment trial from entry to care (an unplanned ending) onwards
    if p.protocol == "ng26-care":
        care_from, care_to = np.zeros(n), a["competing_time"]
        item_of = np.where(cats == "residential", "residential_care_week",
                           np.where(np.isin(cats, ["foster", "kinship"]), "foster_care_week", ""))
    else:
        care_from = np.where(a["placement_event"] == 1, a["placement_time"], np.inf)
        care_to = np.full(n, np.inf)
        item_of = np.full(n, "foster_care_week", dtype=object)
    first_share = rng.binomial(a["sessions_attended"].astype(int), 0.75)
    rows: list[pd.DataFrame] = []
    for j, (lo, hi) in enumerate(PERIODS):
        base = {"participant_id": part["participant_id"].to_numpy(), "arm": part["arm"].to_numpy(),
                "treat": part["treat"].to_numpy(), "period_start_days": lo, "period_end_days": hi}
        for item, spec in p.resources.items():
            mu = spec.mean * spec.rate_ratio**treat * frailty
            lam = rng.gamma(1 / spec.dispersion, spec.dispersion * mu) if spec.dispersion > 0 else mu
            q = np.where(seen[j], rng.poisson(lam).astype(float), np.nan)
            rows.append(pd.DataFrame({**base, "item": item, "quantity": q}))
        overlap = np.clip(np.minimum(care_to, hi) - np.maximum(care_from, lo), 0, None)
        for item in ROUTINE_ITEMS:
            q = np.where(item_of == item, np.round(overlap / 7, 1), 0.0)
            if (item_of == item).any():
                rows.append(pd.DataFrame({**base, "item": item, "quantity": q}))
        if p.intervention_resource_item:
            s = first_share if j == 0 else a["sessions_attended"] - first_share
            rows.append(pd.DataFrame({**base, "item": p.intervention_resource_item, "quantity": s.astype(float)}))
    out = pd.concat(rows, ignore_index=True)
    out = out.sort_values(["participant_id", "period_start_days", "item"], kind="stable").reset_index(drop=True)
    return out[list(schema.RESOURCE_USE_COLUMNS)]


def start_date_default() -> dt.date:
    """The default first randomisation date (used by the CLI help)."""
    return SimulationParameters.model_fields["start_date"].default
