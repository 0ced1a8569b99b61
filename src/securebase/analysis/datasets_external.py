"""Analysis datasets from data kept elsewhere: a CSV, Parquet or REDCap records export mapped onto the
analysis-dataset contract (analysis/schema.py) by a column-mapping YAML file.

Mapping file::

    participants:                 # target column -> source column, or {source, recode, event}
      participant_id: record_id
      treat: {source: rand_arm, recode: {"1": 1, "2": 0}}
      sdq_total_0: {source: sdq_total, event: baseline_arm_1}   # REDCap longitudinal: value at one event
    visits:
      participant_id: record_id
      sdq_total: sdq_total
    redcap:                       # only for longitudinal REDCap exports
      event_column: redcap_event_name
      events: {baseline_arm_1: 0, month_6_arm_1: 6, month_12_arm_1: 12}

Without a mapping, the file's columns must already carry the contract's names. A mapping that names a
column the file lacks raises :class:`DataError` naming the mapping file, the target, the missing source
column and the columns available. Every recode is strict: a value with no recode is an error, not a
silent NaN. Derived when absent: ``treat`` from ``arm``, ``age_band`` from ``age_years``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from securebase.analysis import schema
from securebase.errors import DataError
from securebase.protocol.yamlio import load_model

NUMERIC = {"treat", "age_years", "sessions_offered", "sessions_attended", "complier", "visit_month", "days",
           *schema.EVENT_COLUMNS, *schema.SCORED_OUTCOMES,
           *(schema.outcome_column(o, m) for o in schema.SCORED_OUTCOMES for m in schema.VISIT_MONTHS),
           *(f"days_{m}" for m in schema.VISIT_MONTHS)}


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    source: str
    recode: dict[str, Any] | None = None
    event: str | None = Field(None, description="REDCap longitudinal: take the value at this event")


class RedcapEvents(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    event_column: str = "redcap_event_name"
    events: dict[str, int] = Field(description="REDCap unique event name -> visit month")


class ColumnMapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    participants: dict[str, str | Source] = Field(default_factory=dict)
    visits: dict[str, str | Source] = Field(default_factory=dict)
    redcap: RedcapEvents | None = None


def load_mapping(path: str | Path) -> ColumnMapping:
    """Read and validate a column-mapping YAML file (errors name file, line and field)."""
    return load_model(ColumnMapping, path)


def read_table(path: str | Path) -> pd.DataFrame:
    """A CSV, Parquet, or REDCap JSON records export (list of records) as a data frame of text/numbers."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"data file {str(p)!r} not found; check the path")
    suffix = p.suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(p, keep_default_na=True, na_values=[""])
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(p)
        if suffix == ".json":
            records = json.loads(p.read_text(encoding="utf-8"))
            if not isinstance(records, list):
                raise DataError(f"{p}: a REDCap JSON export must be a list of records (got {type(records).__name__})")
            frame = pd.DataFrame.from_records(records).replace("", np.nan)
            return frame.apply(_maybe_numeric)
    except (ValueError, OSError, json.JSONDecodeError) as exc:
        raise DataError(f"{p}: could not be read as {suffix.lstrip('.')} ({exc}); check the file format") from None
    raise DataError(f"{p}: file type {suffix!r} is not supported; expected .csv, .parquet or .json (REDCap records)")


def _maybe_numeric(col: pd.Series) -> pd.Series:
    """REDCap JSON carries every value as text: numbers become numbers, other columns stay text."""
    try:
        return pd.to_numeric(col)
    except (ValueError, TypeError):
        return col


def _key(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _column(raw: pd.DataFrame, target: str, spec: str | Source, mapping_file: str, frame: str,
            redcap: RedcapEvents | None, ids: pd.Series | None) -> pd.Series:
    src = spec if isinstance(spec, Source) else Source(source=spec)
    if src.source not in raw.columns:
        raise DataError(f"mapping file {mapping_file}: {frame}.{target} names source column '{src.source}', which "
                        f"is not in the data (available: {sorted(map(str, raw.columns))}); fix the mapping")
    col = raw[src.source]
    if src.event is not None:
        if redcap is None or redcap.event_column not in raw.columns:
            raise DataError(f"mapping file {mapping_file}: {frame}.{target} takes event '{src.event}' but the data "
                            "has no REDCap event column; add a redcap: block naming event_column")
        at = raw[raw[redcap.event_column] == src.event].drop_duplicates(ids.name if ids is not None else None)
        col = at.set_index(ids.name)[src.source] if ids is not None else at[src.source]
    if src.recode is not None:
        table = {str(k): v for k, v in src.recode.items()}
        present = col.dropna()
        unknown = sorted({_key(v) for v in present} - set(table))
        if unknown:
            raise DataError(f"mapping file {mapping_file}: {frame}.{target}: value(s) {unknown} of source column "
                            f"'{src.source}' have no recode (recodes given for {sorted(table)}); add them to recode")
        col = col.map(lambda v: table[_key(v)] if pd.notna(v) else np.nan)
    return col


def _convert(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    for c in frame.columns:
        if c in NUMERIC and not pd.api.types.is_numeric_dtype(frame[c]):
            conv = pd.to_numeric(frame[c], errors="coerce")
            bad = frame[c][conv.isna() & frame[c].notna()]
            if len(bad):
                raise DataError(f"{label}: column '{c}' must be numeric (got {bad.iloc[0]!r} in row {bad.index[0]}); "
                                "recode it in the column mapping")
            frame[c] = conv
    if "treat" not in frame.columns and "arm" in frame.columns:
        frame["treat"] = (frame["arm"] == schema.ARM_INTERVENTION).astype(int)
    if "age_band" not in frame.columns and "age_years" in frame.columns:
        frame["age_band"] = [schema.age_band(a) if pd.notna(a) else None for a in frame["age_years"]]
    return frame


def map_participants(raw: pd.DataFrame, mapping: ColumnMapping | None, mapping_file: str = "<mapping>") -> pd.DataFrame:
    """The participants frame: one row per participant with the mapped contract columns."""
    if mapping is None or not mapping.participants:
        return _convert(raw.copy(), "participants")
    red = mapping.redcap
    if red is not None and red.event_column in raw.columns:
        id_spec = mapping.participants.get("participant_id")
        if id_spec is None:
            raise DataError(f"mapping file {mapping_file}: participants.participant_id must be mapped for a REDCap export")
        id_src = id_spec.source if isinstance(id_spec, Source) else id_spec
        if id_src not in raw.columns:
            raise DataError(f"mapping file {mapping_file}: participants.participant_id names source column '{id_src}', "
                            f"which is not in the data (available: {sorted(map(str, raw.columns))}); fix the mapping")
        ids = pd.Series(pd.unique(raw[id_src]), name=id_src)
        out = pd.DataFrame(index=ids)
        for target, spec in mapping.participants.items():
            src = spec if isinstance(spec, Source) else Source(source=spec)
            if src.event is None:  # first non-missing value across the participant's rows
                col = _column(raw, target, src, mapping_file, "participants", red, None)
                out[target] = col.groupby(raw[id_src]).first().reindex(ids)
            else:
                out[target] = _column(raw, target, src, mapping_file, "participants", red, ids).reindex(ids)
        return _convert(out.reset_index(drop=True), "participants")
    out = pd.DataFrame({t: _column(raw, t, s, mapping_file, "participants", red, None)
                        for t, s in mapping.participants.items()})
    return _convert(out, "participants")


def map_visits(raw: pd.DataFrame, mapping: ColumnMapping | None, mapping_file: str = "<mapping>") -> pd.DataFrame:
    """The visits frame: one row per participant and visit (REDCap: one per record and mapped event)."""
    if mapping is None or not mapping.visits:
        return _convert(raw.copy(), "visits")
    red = mapping.redcap
    rows = raw
    if red is not None and red.event_column in raw.columns:
        rows = raw[raw[red.event_column].isin(red.events)].copy()
    out = pd.DataFrame({t: _column(rows, t, s, mapping_file, "visits", red, None) for t, s in mapping.visits.items()})
    if red is not None and red.event_column in rows.columns and "visit_month" not in out.columns:
        out["visit_month"] = rows[red.event_column].map(red.events).to_numpy()
    return _convert(out.reset_index(drop=True), "visits")


def load_external(participants: str | Path, visits: str | Path | None = None,
                  mapping: str | Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Participants (and visits) frames from export files, mapped by ``mapping`` when given.
    A REDCap export holding every event may be given as ``participants`` alone: the visits frame is then
    taken from the same file when the mapping has a ``visits`` block."""
    m = load_mapping(mapping) if mapping is not None else None
    mfile = str(mapping) if mapping is not None else "<none>"
    raw = read_table(participants)
    part = map_participants(raw, m, mfile)
    vis = None
    if visits is not None:
        vis = map_visits(read_table(visits), m, mfile)
    elif m is not None and m.visits and m.redcap is not None:
        vis = map_visits(raw, m, mfile)
    missing = [c for c in ("participant_id",) if c not in part.columns]
    if missing:
        raise DataError(f"participants data: column(s) {missing} missing after mapping; map them in the mapping file "
                        f"(columns now: {sorted(map(str, part.columns))})")
    return part, vis
