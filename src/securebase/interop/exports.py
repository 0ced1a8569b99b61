"""Analysis exports for R and Stata users: CSV, Parquet and Stata .dta files with a data dictionary.

``AnalysisExport(formats=("csv", "parquet", "dta"), allocation="none" | "arms" | "coded")`` writes six
tables built from the store by :mod:`securebase.interop.extract` (plain queries, no ORM logic):

- ``participants``: one row per participant (site, age, sex, care/maltreatment status, status,
  enrolment date) with every score wide as ``<instrument>_<scale>_<month>``;
- ``visits``: one row per participant and visit (due, completed, status, days from enrolment);
- ``responses``: one row per item answer (``value_num`` for numeric items, ``value_text`` as recorded,
  ``missing_code`` not_answered / not_applicable / refused, ``entry`` 1 or 2);
- ``scores``: one row per scored scale (value, band, missing reason);
- ``events``: one row per trial event;
- ``resource_use``: one row per resource-use record (item, quantity, recall period; items are the
  unit-cost table's keys);

plus ``dictionary.csv`` / ``dictionary.json`` (table, variable, label, type, codes, unit) and
``manifest.json`` (files with SHA-256). Direct identifiers are never read (the ``identifiers`` table
is not queried). Allocation: ``none`` leaves it out; ``arms`` adds ``arm``, ``treat`` (1 = intervention,
0 = usual care) and ``randomised_on``; ``coded`` adds ``arm_code`` (A, B, ... assigned to the arms by a
seeded random permutation) for blinded analysis, and writes the code key only to ``key_file`` (outside
the export folder; the audit trail records its SHA-256, never the key). ``arms`` and ``coded`` need a
role that may see allocation (``Actor.can_see_allocation()``). Stata files (format 118 by default;
``stata_version`` 114, 117, 118 or 119) carry variable labels and value labels (categorical columns become
labelled integers). Stata names are at most 32 characters: a wide score family
``<instrument>_<scale>_<month>`` keeps one stem for all its months (shortened, with a hash of the whole
stem when two stems would meet, the same in every member) and the month as its suffix, so
``reshape long <stem>_, i(participant_id) j(month)`` works; labels name the visit ("CHU9D: utility, 6
months") and are unique within a file. Parquet files have a fixed schema (dates, strings, integers and
floats by column), so an all-empty column has its real type. The dictionary gives the codes of every
categorical variable.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from securebase.cells import frame_to_csv
from securebase.errors import BlindingError, FieldError
from securebase.interop.extract import ANALYSIS_ROLES, TrialData, instrument, read_trial
from securebase.store import Store
from securebase.trial.roles import Actor

FORMATS = ("csv", "parquet", "dta")
STATA_VERSIONS = (114, 117, 118, 119)
INTEGER_COLUMNS = {"treat", "entry", "month", "days"}
FLOAT_COLUMNS = {"age_years", "value_num", "value", "quantity"}
DATE_COLUMNS = {"period_start", "period_end"}
ALLOCATION_MODES = ("none", "arms", "coded")
MISSING_LABELS = {"not_answered": "Not answered", "not_applicable": "Not applicable", "refused": "Refused"}
CATEGORICAL = {"site", "sex", "age_band", "care_status", "maltreatment_status", "maltreatment_type", "status",
               "arm", "arm_code", "missing_code", "event_type", "visit_id", "instrument", "respondent",
               "seriousness", "relatedness", "expectedness"}
BASE_LABELS = {
    "participant_id": "Participant trial ID (pseudonymous)", "site": "Site code", "enrolled_on": "Date of enrolment",
    "age_years": "Age at enrolment (years)", "age_band": "Age band", "sex": "Sex", "care_status": "Care status",
    "maltreatment_status": "Maltreatment status", "maltreatment_type": "Maltreatment type",
    "status": "Participant status", "arm": "Allocated arm", "treat": "1 = intervention, 0 = usual care",
    "randomised_on": "Date of randomisation", "arm_code": "Coded arm (key held back)", "visit_id": "Visit",
    "month": "Visit month", "due_on": "Visit due date", "completed_on": "Date completed", "days": "Days from enrolment",
    "missed_reason": "Reason the visit was missed", "instrument": "Instrument", "respondent": "Respondent",
    "item": "Item code", "entry": "Data entry (1, or 2 for double entry)", "value_num": "Answer (numeric items)",
    "value_text": "Answer as recorded", "missing_code": "Missing-value code", "scale": "Scale",
    "value": "Score", "category": "Score band", "missing_reason": "Why the score is missing",
    "event_type": "Event type", "occurred_on": "Date of the event", "seriousness": "Seriousness",
    "quantity": "Quantity of the resource used", "period_start": "Start of the recall period",
    "period_end": "End of the recall period",
    "relatedness": "Relatedness", "expectedness": "Expectedness", "details": "Event details (JSON)",
}


def stata_name(name: str, taken: set[str]) -> str:
    """A Stata variable name (at most 32 characters, unique)."""
    if len(name) <= 32 and name not in taken:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:4]
    return f"{name[:27]}_{digest}"


def stata_names(columns: list[str], families: dict[str, tuple[str, str]]) -> dict[str, str]:
    """Stata names of ``columns``; ``families`` maps a wide column to ``(stem, suffix)`` (e.g.
    ``("sdq_parent_total", "6")``). Every member of a family gets the same short stem and keeps its suffix."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for col in columns:
        if col not in families:
            out[col] = stata_name(col, taken)
            taken.add(out[col])
    stems: dict[str, list[str]] = {}
    for col, (stem, _suffix) in families.items():
        stems.setdefault(stem, []).append(col)
    short_of: dict[str, str] = {}
    for stem, cols in stems.items():
        room = 32 - max(len(families[c][1]) for c in cols) - 1
        short = stem if len(stem) <= room else stem[:room]
        clash = short in short_of.values() or any(f"{short}_{families[c][1]}" in taken for c in cols)
        if clash:
            digest = hashlib.sha1(stem.encode()).hexdigest()[:4]
            short = f"{stem[:room - 5]}_{digest}"
        short_of[stem] = short
        for c in cols:
            out[c] = f"{short}_{families[c][1]}"
            taken.add(out[c])
    return out


def _fit(head: str, tail: str, width: int = 80) -> str:
    """``head + tail`` in at most ``width`` characters, shortening the head (the tail says which member)."""
    if len(head) + len(tail) <= width:
        return head + tail
    return head[:max(0, width - len(tail) - 3)].rstrip() + "..." + tail


@dataclass(frozen=True)
class ExportResult:
    out_dir: Path
    files: tuple[Path, ...]
    rows: dict[str, int]
    allocation: str
    key_file: Path | None = None
    warnings: tuple[str, ...] = field(default=())

    def summary(self) -> str:
        tables = ", ".join(f"{k} ({v} rows)" for k, v in self.rows.items())
        key = f"; code key written to {self.key_file} (keep it away from the analysts)" if self.key_file else ""
        return f"analysis export in {self.out_dir}: {tables}; {len(self.files)} files; allocation: {self.allocation}{key}"

    def to_dict(self) -> dict[str, Any]:
        return {"out_dir": str(self.out_dir), "files": [str(f) for f in self.files], "rows": dict(self.rows),
                "allocation": self.allocation, "key_file": str(self.key_file) if self.key_file else None,
                "warnings": list(self.warnings)}


class AnalysisExport:
    """Options in the constructor; :meth:`frames` builds the tables, :meth:`write` writes them."""

    def __init__(self, formats: tuple[str, ...] = FORMATS, allocation: str = "none", key_file: Path | None = None,
                 seed: int | None = None, stata_version: int = 118) -> None:
        bad = [f for f in formats if f not in FORMATS]
        if bad or not formats:
            raise FieldError("--format", ",".join(formats), "one or more of csv, parquet, dta")
        if allocation not in ALLOCATION_MODES:
            raise FieldError("--allocation", allocation, "none, arms or coded")
        if allocation == "coded" and key_file is None:
            raise FieldError("--key-file", "", "a file for the code key when --allocation coded",
                             "give a path outside the export folder, held by the unblinded team")
        if stata_version not in STATA_VERSIONS:
            raise FieldError("--stata-version", str(stata_version), "114, 117, 118 or 119",
                             "114 for Stata 10-12 (no Unicode), 117 for Stata 13, 118 for Stata 14 and later, "
                             "119 for Stata 15 and later with more than 32,767 variables")
        self.formats, self.allocation, self.key_file = tuple(formats), allocation, key_file
        self.stata_version = stata_version
        self.seed = seed if seed is not None else int(np.random.SeedSequence().entropy % (2**31))  # type: ignore[operator]

    # ------------------------------------------------------------------ frames
    def code_key(self, data: TrialData) -> dict[str, str]:
        arms = sorted(a.id for a in data.protocol.arms)
        order = np.random.default_rng(self.seed).permutation(len(arms))
        return {chr(ord("A") + k): arms[int(i)] for k, i in enumerate(order)}

    def frames(self, data: TrialData, actor: Actor) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
        """The six tables and the data dictionary."""
        if self.allocation != "none" and not (actor.can_see_allocation() and data.allocation_visible):
            raise BlindingError(f"user '{actor.username}' may not export allocation (blinded role); export with "
                                "--allocation none, or ask an unblinded statistician for a coded export")
        month = {v.id: v.month for v in data.protocol.visits}
        enrolled = {p["participant_id"]: p["enrolled_on"] for p in data.participants}
        part = pd.DataFrame([{
            "participant_id": p["participant_id"], "site": p["site_code"], "enrolled_on": p["enrolled_on"],
            "age_years": p["age_years"], "age_band": p["age_band"], "sex": p["sex"], "care_status": p["care_status"],
            "maltreatment_status": p["maltreatment_status"], "maltreatment_type": p["maltreatment_type"],
            "status": p["status"]} for p in data.participants], columns=list(BASE_LABELS)[:10])
        if self.allocation != "none":
            alloc = {a["participant_id"]: a for a in data.allocations or []}
            intervention = data.protocol.intervention_arm.id
            if self.allocation == "arms":
                part["arm"] = [alloc.get(p, {}).get("arm") for p in part["participant_id"]]
                part["treat"] = [None if a is None else int(a == intervention) for a in part["arm"]]
            else:
                inverse: dict[Any, str] = {arm: code for code, arm in self.code_key(data).items()}
                part["arm_code"] = [inverse.get(alloc.get(p, {}).get("arm")) for p in part["participant_id"]]
            if self.allocation == "arms":
                part["randomised_on"] = [alloc.get(p, {}).get("allocated_on") for p in part["participant_id"]]
        visits = pd.DataFrame([{
            "participant_id": v["participant_id"], "visit_id": v["visit_id"], "month": v["month"], "due_on": v["due_on"],
            "completed_on": v["completed_on"], "status": v["status"], "missed_reason": v["missed_reason"],
            "days": (v["completed_on"] - enrolled[v["participant_id"]]).days if v["completed_on"] else None}
            for v in data.visits], columns=["participant_id", "visit_id", "month", "due_on", "completed_on", "status",
                                            "missed_reason", "days"])
        resp = pd.DataFrame([{
            "participant_id": r["participant_id"], "visit_id": r["visit_id"], "month": month.get(r["visit_id"]),
            "instrument": r["instrument"], "respondent": r["respondent"], "item": r["item"], "entry": r["entry"],
            "value_num": _number(r["instrument"], r["item"], r["value"]), "value_text": r["value"],
            "missing_code": r["missing_code"]} for r in data.responses],
            columns=["participant_id", "visit_id", "month", "instrument", "respondent", "item", "entry", "value_num",
                     "value_text", "missing_code"])
        scores = pd.DataFrame([{
            "participant_id": s["participant_id"], "visit_id": s["visit_id"], "month": month.get(s["visit_id"]),
            "instrument": s["instrument"], "respondent": s["respondent"], "scale": s["scale"], "value": s["value"],
            "category": s["category"], "missing_reason": s["missing_reason"]} for s in data.scores],
            columns=["participant_id", "visit_id", "month", "instrument", "respondent", "scale", "value", "category",
                     "missing_reason"])
        events = pd.DataFrame([{
            "participant_id": e["participant_id"], "event_type": e["event_type"], "occurred_on": e["occurred_on"],
            "seriousness": e["seriousness"], "relatedness": e["relatedness"], "expectedness": e["expectedness"],
            "details": json.dumps(e["details"], sort_keys=True)} for e in data.events],
            columns=["participant_id", "event_type", "occurred_on", "seriousness", "relatedness", "expectedness",
                     "details"])
        wide_labels: dict[str, str] = {}
        families: dict[str, tuple[str, str]] = {}
        visit_label = {v.month: v.label for v in data.protocol.visits}
        if not scores.empty:
            s1 = scores.dropna(subset=["month"]).copy()
            s1["col"] = [f"{i}_{s}_{int(m)}" for i, s, m in zip(s1["instrument"], s1["scale"], s1["month"], strict=True)]
            wide = s1.pivot_table(index="participant_id", columns="col", values="value", aggfunc="first")
            for col in sorted(s1["col"].unique()):
                i, s, m = s1.loc[s1["col"] == col, ["instrument", "scale", "month"]].iloc[0]
                inst = instrument(i)
                title = inst.title if inst else i
                label = next((sc.label for sc in (inst.scales if inst else ()) if sc.name == s and sc.label), s)
                wide_labels[col] = _fit(f"{title}: {label}", f", {visit_label.get(int(m), f'month {int(m)}')}")
                families[col] = (f"{i}_{s}", str(int(m)))
                part[col] = part["participant_id"].map(wide[col]) if col in wide else np.nan
        resource = pd.DataFrame([{
            "participant_id": r["participant_id"], "visit_id": r["visit_id"], "item": r["item"],
            "quantity": r["quantity"], "period_start": r["period_start"], "period_end": r["period_end"]}
            for r in data.resource_use], columns=["participant_id", "visit_id", "item", "quantity", "period_start",
                                                   "period_end"])
        tables = {"participants": part, "visits": visits, "responses": resp, "scores": scores, "events": events,
                  "resource_use": resource}
        return tables, _dictionary(tables, data, wide_labels, self.allocation, families)

    # ------------------------------------------------------------------ files
    def write(self, store: Store, actor: Actor, out_dir: str | Path) -> ExportResult:
        out = Path(out_dir)
        if self.key_file is not None and Path(self.key_file).resolve().is_relative_to(out.resolve()):
            raise FieldError("--key-file", str(self.key_file), "a path outside the export folder",
                             "the code key must not travel with the blinded data")
        with store.read() as session:
            data = read_trial(session, actor, roles=ANALYSIS_ROLES)
        tables, dictionary = self.frames(data, actor)
        out.mkdir(parents=True, exist_ok=True)
        # Everything is written into a work folder beside the export and moved into place only when complete,
        # the manifest last: a failure leaves the export folder as it was, never half-written.
        work = Path(tempfile.mkdtemp(prefix=f".{out.name}-partial-", dir=out.parent))
        try:
            names: list[str] = []
            for name, df in tables.items():
                if "csv" in self.formats:
                    names.append(f"{name}.csv")
                    frame_to_csv(df, work / names[-1], index=False)
                if "parquet" in self.formats:
                    names.append(f"{name}.parquet")
                    _to_parquet(df, work / names[-1])
                if "dta" in self.formats:
                    names.append(f"{name}.dta")
                    _to_stata(df, dictionary[dictionary["table"] == name], work / names[-1], data.trial["id"], name,
                              self.stata_version)
            names.append("dictionary.csv")
            frame_to_csv(dictionary, work / names[-1], index=False)
            names.append("dictionary.json")
            (work / names[-1]).write_text(json.dumps(dictionary.to_dict(orient="records"), indent=1,
                                                     ensure_ascii=False), encoding="utf-8")
            manifest = {"trial": data.trial["id"], "allocation": self.allocation, "actor": actor.username,
                        "files": {n: hashlib.sha256((work / n).read_bytes()).hexdigest() for n in names}}
            names.append("manifest.json")
            (work / names[-1]).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
            (out / "manifest.json").unlink(missing_ok=True)  # an old manifest must not vouch for new files
            for n in names:
                os.replace(work / n, out / n)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        files = [out / n for n in names]
        key_path, detail = None, dict(manifest)
        if self.allocation == "coded":
            key_path = Path(self.key_file)  # type: ignore[arg-type]
            key_path.parent.mkdir(parents=True, exist_ok=True)
            key = {"trial": data.trial["id"], "seed": self.seed, "codes": self.code_key(data),
                   "export_manifest_sha256": hashlib.sha256(files[-1].read_bytes()).hexdigest()}
            key_path.write_text(json.dumps(key, indent=1), encoding="utf-8")
            detail["code_key_sha256"] = hashlib.sha256(key_path.read_bytes()).hexdigest()
        with store.unit_of_work(actor=actor.username) as uow:
            uow.log_event("export", table_name="analysis", record_id=out.name, trial_id=actor.trial_id, detail=detail)
            uow.commit()
        return ExportResult(out, tuple(files), {k: len(v) for k, v in tables.items()}, self.allocation, key_path)


def _number(name: str, item: str, value: str | None) -> float | None:
    inst = instrument(name)
    if value is None or inst is None:
        return None
    try:
        it = inst.item(item)
    except KeyError:
        return None
    if not it.numeric:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _known_codes(table: str, col: str, data: TrialData) -> list[tuple[str, str]]:
    """The documented values of a categorical column (code, label)."""
    from securebase.protocol.models import CARE_STATUSES, MALTREATMENT_STATUSES, MALTREATMENT_TYPES
    from securebase.trial.events import EXPECTEDNESS, RELATEDNESS, SERIOUSNESS

    def plain(values: Any) -> list[tuple[str, str]]:
        return [(v, v.replace("_", " ")) for v in values]

    factor = {f.name: f.levels for f in data.protocol.stratification.factors}
    if col == "missing_code":
        return list(MISSING_LABELS.items())
    if col == "arm":
        return [(a.id, a.name) for a in data.protocol.arms]
    if col == "event_type":
        return [(e.id, e.label) for e in data.protocol.events]
    if col == "visit_id":
        return [(v.id, v.label) for v in data.protocol.visits]
    if col == "site":
        return [(x.code, x.name) for x in data.protocol.sites]
    if col == "sex":
        return [("female", "female"), ("male", "male")]
    if col == "age_band":
        return plain(factor.get("age_band") or ("5-10", "11-17"))
    if col == "care_status":
        return plain(CARE_STATUSES)
    if col == "maltreatment_status":
        return plain(MALTREATMENT_STATUSES)
    if col == "maltreatment_type":
        return plain(MALTREATMENT_TYPES)
    if col == "status" and table == "participants":
        return plain(("enrolled", "randomised", "withdrawn", "withdrawn_data_use"))
    if col == "status" and table == "visits":
        return plain(("scheduled", "completed", "missed", "withdrawn"))
    if col == "seriousness":
        return plain(SERIOUSNESS)
    if col == "relatedness":
        return plain(RELATEDNESS)
    if col == "expectedness":
        return plain(EXPECTEDNESS)
    if col == "instrument":
        return [(n, (instrument(n).title if instrument(n) else n)) for n, _v in data.instruments_used()]
    return []


def _codes(table: str, col: str, data: TrialData, allocation: str, observed: Any = ()) -> str:
    if col == "treat":
        return "1=intervention; 0=usual care"
    if col == "arm_code":
        return "A, B, ... (key held back)"
    if col not in CATEGORICAL:
        return ""
    known = _known_codes(table, col, data)
    seen = {k for k, _l in known}
    extra = sorted({str(v) for v in observed if v is not None and not (isinstance(v, float) and np.isnan(v))} - seen)
    return "; ".join(f"{k}={v}" for k, v in known + [(x, x) for x in extra])


def _dictionary(tables: dict[str, pd.DataFrame], data: TrialData, wide: dict[str, str], allocation: str,
                families: dict[str, tuple[str, str]] | None = None) -> pd.DataFrame:
    rows = []
    for table, df in tables.items():
        shorts = stata_names(list(df.columns), {c: f for c, f in (families or {}).items() if c in df.columns})
        labels = _unique_labels([BASE_LABELS.get(c) or wide.get(c, c) for c in df.columns], list(df.columns))
        for col, label in zip(df.columns, labels, strict=True):
            kind = "date" if col.endswith("_on") or col in DATE_COLUMNS else ("categorical" if col in CATEGORICAL else str(df[col].dtype))
            rows.append({"table": table, "variable": col, "stata_name": shorts[col], "label": label, "type": kind,
                         "codes": _codes(table, col, data, allocation, df[col].unique() if col in CATEGORICAL else ()),
                         "unit": "years" if col == "age_years" else ("days" if col == "days" else "")})
    for name, _v in data.instruments_used():  # item-level codes and units for the responses table
        inst = instrument(name)
        for it in inst.items if inst else ():
            codes = "; ".join(f"{k}={v}" for k, v in (it.value_labels or {}).items())
            rows.append({"table": f"responses:{name}", "variable": it.code, "stata_name": "", "label": it.label,
                         "type": it.response_type, "codes": codes, "unit": it.unit or ""})
    return pd.DataFrame(rows, columns=["table", "variable", "stata_name", "label", "type", "codes", "unit"])


def _unique_labels(labels: list[str], columns: list[str]) -> list[str]:
    """Labels of at most 80 characters, unique within one file (a repeat names its variable)."""
    out = [_fit(str(x), "") for x in labels]
    for k, label in enumerate(out):
        if out.count(label) > 1:
            out[k] = _fit(label, f" ({columns[k]})")
    return out


def _arrow_type(col: str, df: pd.DataFrame) -> Any:
    import pyarrow as pa

    if col.endswith("_on") or col in DATE_COLUMNS:
        return pa.date32()
    if col in INTEGER_COLUMNS:
        return pa.int64()
    if col in FLOAT_COLUMNS or (df[col].dtype.kind == "f" and col not in CATEGORICAL):
        return pa.float64()
    if df[col].dtype.kind in "iu":
        return pa.int64()
    return pa.string()


def parquet_schema(df: pd.DataFrame, wide: set[str] = frozenset()) -> Any:  # type: ignore[assignment]
    """The fixed Arrow schema of a table: types by column, never Arrow's null type."""
    import pyarrow as pa

    return pa.schema([(c, pa.float64() if c in wide else _arrow_type(c, df)) for c in df.columns])


def _to_parquet(df: pd.DataFrame, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    wide = {c for c in df.columns if c not in BASE_LABELS}
    schema = parquet_schema(df, wide if "participant_id" in df.columns and "site" in df.columns else set())
    out = df.copy()
    for field_ in schema:
        if pa.types.is_date32(field_.type):
            out[field_.name] = pd.to_datetime(out[field_.name]).dt.date
        elif pa.types.is_string(field_.type):
            out[field_.name] = [None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
                                for v in out[field_.name]]
        elif pa.types.is_integer(field_.type):
            out[field_.name] = pd.to_numeric(out[field_.name], errors="coerce").astype("Int64")
        else:
            out[field_.name] = pd.to_numeric(out[field_.name], errors="coerce").astype("float64")
    pq.write_table(pa.Table.from_pandas(out, schema=schema, preserve_index=False), path)


def _to_stata(df: pd.DataFrame, dic: pd.DataFrame, path: Path, trial: str, name: str, version: int = 118) -> None:
    out = df.copy()
    names = dict(zip(dic["variable"], dic["stata_name"], strict=True))
    labels = dict(zip(dic["variable"], dic["label"], strict=True))
    dates: dict[str, str] = {}
    for col in out.columns:
        if col.endswith("_on") or col in DATE_COLUMNS:
            out[col] = pd.to_datetime(out[col])
            dates[names[col]] = "td"
        elif col in CATEGORICAL:
            out[col] = pd.Categorical(out[col])
        elif out[col].dtype == object:
            out[col] = out[col].fillna("").astype(str)
        elif col in ("treat", "entry", "month", "days"):
            out[col] = pd.to_numeric(out[col], errors="coerce")
    if out.empty:  # Stata needs a width for string columns; a table with no rows has none to measure
        for col in out.columns:
            if out[col].dtype == object or isinstance(out[col].dtype, pd.CategoricalDtype):
                out[col] = out[col].astype("float64")
    out = out.rename(columns=names)
    try:
        out.to_stata(path, write_index=False, version=version, convert_dates=dates,
                     variable_labels={names[c]: str(labels[c])[:80] for c in df.columns},
                     data_label=f"securebase {trial} {name}"[:80])
    except (UnicodeEncodeError, ValueError) as exc:
        if version != 114:
            raise
        raise FieldError("--stata-version", "114", "text Stata 114 can hold (Latin-1, strings of at most 244 "
                         f"characters); the {name} table has: {exc}",
                         "use --stata-version 118 (Stata 14 and later)") from None


__all__ = ["ALLOCATION_MODES", "AnalysisExport", "ExportResult", "FORMATS", "STATA_VERSIONS", "parquet_schema",
           "stata_name", "stata_names"]
