"""A trial as a REDCap project (data dictionary + records CSV), and a REDCap project into a trial.

Export (``write_redcap``) writes, for a longitudinal REDCap project with one REDCap arm:

- ``<trial>_DataDictionary.csv``: forms ``participant`` (first field ``record_id``), ``allocation``
  (unblinded users only), ``visit``, one form per instrument (item fields from
  :mod:`securebase.interop.redcap_dictionary`, unchanged) and the repeating forms ``event`` and
  ``withdrawal``. Fields that are not instrument items (participant and visit columns, the instrument
  version, respondent and who entered it, scores) carry ``@SECUREBASE-FIELD=<table>.<column>`` in
  the Field Annotation, so an import maps them back and the instrument definitions still read back
  through :func:`~securebase.interop.redcap_dictionary.import_dictionary`.
- ``<trial>_Records.csv``: REDCap's raw "flat" export layout: ``record_id, redcap_event_name,
  redcap_repeat_instrument, redcap_repeat_instance, redcap_data_access_group`` then the fields. Events
  are "Enrolment", each protocol visit under its label and "Trial events" (repeating forms ``event``,
  ``withdrawal``, ``resource_record`` and, for unblinded users, ``session``; a visit reference is the
  visit id), and their unique names are the ones REDCap derives from those labels
  (:mod:`securebase.interop.redcap_names`: "6 months" is ``6_months_arm_1``), so the records, events,
  form-event mapping and repeating-instruments files agree once REDCap has made the events. The data
  access group is the participant's site, named by its code (``LA01`` is ``la01``). A missing
  answer is written as the instrument's missing-value code (e.g. -99 not answered, -98 not applicable,
  -97 refused), which REDCap holds as project missing-data codes (``<trial>_MissingDataCodes.txt``).
  A double data entry (entry 2) is the record ``<record_id>--2``, REDCap's double-data-entry naming.
- ``<trial>_Events.csv`` (REDCap's event import columns ``event_name, arm_num, day_offset, offset_min,
  offset_max, unique_event_name, custom_event_label``; the custom label names the securebase visit),
  ``<trial>_InstrumentDesignations.csv``, ``<trial>_RepeatingInstruments.csv`` and
  ``<trial>_DataAccessGroups.csv``.

Import (``import_redcap``) reads a dictionary and a raw records CSV, flat (give ``flat_visit``) or
longitudinal (``redcap_event_name`` the unique name REDCap derives from a visit label, or
``<visit id>_arm_<n>``), in one audited unit of work.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from securebase.cells import SafeDictWriter, unescape_row
from securebase.errors import DataError, NotFound
from securebase.instruments import Instrument
from securebase.interop.extract import TrialData, instrument, read_trial
from securebase.interop.odm_common import REPEATING, VISIT_REF, data_type, table_columns, to_text
from securebase.interop.redcap_dictionary import COLUMNS, export_dictionary, variable_name
from securebase.interop.redcap_names import unique_event_names, unique_group_names
from securebase.protocol import Protocol
from securebase.store import Store
from securebase.store.tables import (
    Allocation,
    Event,
    InterventionSession,
    Participant,
    ResourceUse,
    Visit,
    Withdrawal,
)
from securebase.trial.roles import Actor

FIELD_TAG = "@SECUREBASE-FIELD="
TABLE_FORMS = {"participants": "participant", "allocations": "allocation", "visits": "visit", "events": "event",
               "withdrawals": "withdrawal", "resource_use": "resource_record", "intervention_sessions": "session"}
MODELS: dict[str, Any] = {"participants": Participant, "allocations": Allocation, "visits": Visit, "events": Event,
                          "withdrawals": Withdrawal, "resource_use": ResourceUse,
                          "intervention_sessions": InterventionSession}
META = ("version", "respondent", "entered_by")
SCORE_PARTS = {"": "value", "_band": "category", "_why": "missing_reason"}
REPEAT = {t: TABLE_FORMS[t] for t in REPEATING}
ENROLMENT_LABEL, EVENTS_LABEL = "Enrolment", "Trial events"
RECORD_META = ("record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance",
               "redcap_data_access_group")


@dataclass(frozen=True)
class ProjectEvent:
    """One REDCap event of the exported project (arm 1)."""

    label: str
    unique: str
    visit: str | None  # the protocol visit id, None for the enrolment and trial-events events
    day_offset: int
    offset_min: int
    offset_max: int


def project_events(protocol: Protocol) -> list[ProjectEvent]:
    """The project's events in order: enrolment, each visit (by label), trial events; REDCap's unique names."""
    plan = [(ENROLMENT_LABEL, None, 0, 0, 0)] + [
        (v.label, v.id, round(v.month * 365.25 / 12), v.window_before_days, v.window_after_days)
        for v in protocol.visits] + [(EVENTS_LABEL, None, 0, 0, 0)]
    names = unique_event_names((label, 1) for label, *_ in plan)
    return [ProjectEvent(label, name, visit, day, lo, hi) for (label, visit, day, lo, hi), name in zip(plan, names, strict=True)]


def site_groups(protocol: Protocol) -> dict[str, str]:
    """Site code -> the unique data access group name REDCap derives from a group named by the code."""
    codes = [s.code for s in protocol.sites]
    return dict(zip(codes, unique_group_names(codes), strict=True))


def repeat_tables(data: TrialData) -> list[str]:
    """The participant-level repeating tables this export carries (sessions only when allocation is visible)."""
    return [t for t, unblinded_only in REPEATING.items() if data.allocation_visible or not unblinded_only]


def _field(var: str, form: str, label: str, tag: str, *, validation: str = "", ftype: str = "text") -> dict[str, str]:
    row = dict.fromkeys(COLUMNS, "")
    row.update({"Variable / Field Name": var, "Form Name": form, "Field Type": ftype, "Field Label": label,
                "Text Validation Type OR Show Slider Number": validation, "Field Annotation": FIELD_TAG + tag})
    return row


def _validation(col: Any) -> str:
    return {"date": "date_ymd", "integer": "integer", "float": "number"}.get(data_type(col), "")


def _table_fields(tname: str) -> list[dict[str, str]]:
    form = TABLE_FORMS[tname]
    rows = []
    if tname == "participants":
        rows.append(_field("record_id", form, "Participant trial ID", "participants.participant_id"))
    for col in table_columns(MODELS[tname].__table__):
        rows.append(_field(variable_name(form, col.name), form, f"{tname}: {col.name}", f"{tname}.{col.name}",
                           validation=_validation(col)))
    return rows


def dictionary_rows(data: TrialData) -> list[dict[str, str]]:
    """Every data-dictionary row of the trial's REDCap project, in form order."""
    rows = _table_fields("participants")
    if data.allocation_visible:
        rows += _table_fields("allocations")
    rows += _table_fields("visits")
    scales: dict[str, list[str]] = defaultdict(list)
    for s in data.scores:
        if s["scale"] not in scales[s["instrument"]]:
            scales[s["instrument"]].append(s["scale"])
    for name, _version in data.instruments_used():
        inst = instrument(name)
        if inst is None:
            raise DataError(f"instrument {name!r} has data but no definition; load its YAML before a REDCap export")
        text = export_dictionary([inst], record_id=None)
        rows += [unescape_row(r) for r in csv.DictReader(io.StringIO(text))]
        known = {it.code for it in inst.items}
        for code in dict.fromkeys(r["item"] for r in data.responses if r["instrument"] == name):
            if code not in known:  # answers to items the definition does not hold (kept, as free text)
                rows.append(_field(variable_name(name, code), name, f"{inst.title}: item {code}", f"items.{code}"))
        for meta in META:
            rows.append(_field(variable_name(name, f"sb_{meta}"), name, f"{inst.title}: {meta}", f"responses.{meta}"))
        for sc in [s.name for s in inst.scales] + [s for s in scales[name] if s not in {x.name for x in inst.scales}]:
            for suffix, part in SCORE_PARTS.items():
                rows.append(_field(variable_name(name, f"sc_{sc}{suffix}"), name, f"{inst.title}: score {sc} {part}",
                                   f"scores.{sc}.{part}", validation="number" if part == "value" else ""))
    for tname in repeat_tables(data):
        rows += _table_fields(tname)
    return rows


def _write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = SafeDictWriter(fh, fieldnames=header, lineterminator="\n", extrasaction="raise")
        w.writeheader()
        w.writerows(rows)


def _missing_text(inst: Instrument | None, reason: str | None, where: str) -> str:
    if inst is None or reason not in ("not_answered", "not_applicable", "refused"):
        raise DataError(f"{where}: missing-value code {reason!r} has no REDCap code (expected not_answered, "
                        "not_applicable or refused)")
    return str(getattr(inst.missing_codes, reason))


def records_rows(data: TrialData, fields: list[str], warnings: list[str] | None = None) -> list[dict[str, str]]:  # noqa: C901
    """The raw records export (one row per record, event and repeat instance).

    REDCap holds one value per field, so a stored answer that has both a value and a missing-value code
    is written as the code, and a response row with neither is a blank field; each is listed in
    ``warnings`` (the ODM export keeps both exactly).
    """
    out: list[dict[str, str]] = []
    warns = warnings if warnings is not None else []
    by_p: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for kind in ("visits", "responses", "scores", *REPEATING):
        for r in getattr(data, kind):
            by_p[r["participant_id"]][kind].append(r)
    alloc = {a["participant_id"]: a for a in data.allocations or []}
    events = project_events(data.protocol)
    enrolment, trial_events = events[0].unique, events[-1].unique
    at_visit = {e.visit: e.unique for e in events if e.visit}
    groups = site_groups(data.protocol)
    dag = ""

    def blank(record: str, event: str, repeat: str = "", instance: str = "") -> dict[str, str]:
        row = dict.fromkeys(fields, "")
        row.update(record_id=record, redcap_event_name=event, redcap_repeat_instrument=repeat,
                   redcap_repeat_instance=instance, redcap_data_access_group=dag)
        return row

    def put(row: dict[str, str], tname: str, rec: dict[str, Any]) -> None:
        for col in table_columns(MODELS[tname].__table__):
            value = rec.get("visit_id") if col.name == VISIT_REF else rec.get(col.name)
            if value is not None:
                row[variable_name(TABLE_FORMS[tname], col.name)] = to_text(col, value)

    for p in data.participants:
        pid = p["participant_id"]
        dag = groups.get(p["site_code"], "")
        row = blank(pid, enrolment)
        put(row, "participants", p)
        if pid in alloc:
            put(row, "allocations", alloc[pid])
        out.append(row)
        mine = by_p[pid]
        for v in sorted(mine["visits"], key=lambda v: (v["month"], v["visit_id"])):
            event = at_visit.get(v["visit_id"], f"{v['visit_id']}_arm_1")
            rows = {1: blank(pid, event)}
            put(rows[1], "visits", v)
            for r in (x for x in mine["responses"] if x["visit_id"] == v["visit_id"]):
                entry = int(r["entry"])
                if entry not in rows:
                    rows[entry] = blank(f"{pid}--{entry}", event)
                inst, name = instrument(r["instrument"]), r["instrument"]
                where = f"{pid} {v['visit_id']} {name} item {r['item']}"
                if r["missing_code"] and r["value"] is not None:
                    warns.append(f"{where}: value {r['value']!r} and missing code {r['missing_code']} (REDCap keeps the code)")
                elif not r["missing_code"] and r["value"] is None:
                    warns.append(f"{where}: no value and no missing code (a blank REDCap field)")
                rows[entry][variable_name(name, r["item"])] = (
                    _missing_text(inst, r["missing_code"], where) if r["missing_code"] else (r["value"] or ""))
                for meta, key in zip(META, ("instrument_version", "respondent", "entered_by"), strict=True):
                    rows[entry][variable_name(name, f"sb_{meta}")] = r[key]
            for s in (x for x in mine["scores"] if x["visit_id"] == v["visit_id"]):
                for suffix, part in SCORE_PARTS.items():
                    val = s[part]
                    rows[1][variable_name(s["instrument"], f"sc_{s['scale']}{suffix}")] = (
                        "" if val is None else (repr(float(val)) if part == "value" else str(val)))
                rows[1][variable_name(s["instrument"], "sb_respondent")] = s["respondent"]
            out += [rows[k] for k in sorted(rows)]
        for tname in repeat_tables(data):
            form = REPEAT[tname]
            for k, rec in enumerate(mine[tname], start=1):
                row = blank(pid, trial_events, form, str(k))
                put(row, tname, rec)
                out.append(row)
    return out


@dataclass(frozen=True)
class RedcapExportResult:
    files: tuple[Path, ...]
    records: int
    rows: int
    fields: int
    warnings: tuple[str, ...] = ()

    def summary(self) -> str:
        text = (f"REDCap project written to {self.files[0].parent}: {self.fields} fields, {self.records} records, "
                f"{self.rows} record-event rows ({', '.join(f.name for f in self.files)})")
        return text + "".join(f"\nwarning: {w}" for w in self.warnings)

    def to_dict(self) -> dict[str, Any]:
        return {"files": [str(f) for f in self.files], "records": self.records, "rows": self.rows, "fields": self.fields,
                "warnings": list(self.warnings)}


def write_redcap(store: Store, actor: Actor, out_dir: str | Path) -> RedcapExportResult:
    """Write the trial's REDCap dictionary, records and event files into ``out_dir`` (audited)."""
    with store.read() as session:
        data = read_trial(session, actor)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = data.trial["id"]
    dic = dictionary_rows(data)
    fields = list(RECORD_META) + [r["Variable / Field Name"] for r in dic if r["Variable / Field Name"] != "record_id"]
    warnings: list[str] = []
    recs = records_rows(data, fields, warnings)
    files = [out / f"{stem}_DataDictionary.csv", out / f"{stem}_Records.csv", out / f"{stem}_Events.csv",
             out / f"{stem}_InstrumentDesignations.csv", out / f"{stem}_RepeatingInstruments.csv",
             out / f"{stem}_MissingDataCodes.txt", out / f"{stem}_DataAccessGroups.csv"]
    _write_csv(files[0], list(COLUMNS), dic)
    _write_csv(files[1], fields, recs)
    events = project_events(data.protocol)
    _write_csv(files[2], ["event_name", "arm_num", "day_offset", "offset_min", "offset_max", "unique_event_name",
                          "custom_event_label"],
               [{"event_name": e.label, "arm_num": "1", "day_offset": str(e.day_offset), "offset_min": str(e.offset_min),
                 "offset_max": str(e.offset_max), "unique_event_name": e.unique,
                 "custom_event_label": f"securebase visit {e.visit}" if e.visit else ""} for e in events])
    forms_at: dict[str, list[str]] = {events[0].unique: ["participant"] + (["allocation"] if data.allocation_visible else []),
                                      events[-1].unique: [REPEAT[t] for t in repeat_tables(data)]}
    for e in events[1:-1]:
        forms_at[e.unique] = ["visit"] + [name for name, _ in data.instruments_used()]
    _write_csv(files[3], ["arm_num", "unique_event_name", "form"],
               [{"arm_num": "1", "unique_event_name": e, "form": f} for e, fs in forms_at.items() for f in fs])
    _write_csv(files[4], ["event_name", "form_name", "custom_form_label"],
               [{"event_name": events[-1].unique, "form_name": REPEAT[t], "custom_form_label": ""}
                for t in repeat_tables(data)])
    _write_csv(files[6], ["data_access_group_name", "unique_group_name"],
               [{"data_access_group_name": code, "unique_group_name": name}
                for code, name in site_groups(data.protocol).items()])
    files[5].write_text("-99, Not answered\n-98, Not applicable\n-97, Refused\n", encoding="utf-8")
    with store.unit_of_work(actor=actor.username) as uow:
        uow.log_event("export", table_name="redcap", record_id=files[1].name, trial_id=actor.trial_id,
                      detail={"format": "REDCap", "records": len(data.participants),
                              "allocation": data.allocation_visible})
        uow.commit()
    return RedcapExportResult(tuple(files), len(data.participants), len(recs), len(fields), tuple(warnings))


def read_utf8(path: Path, what: str) -> str:
    """The text of ``path`` (UTF-8, a byte-order mark dropped); DataError naming the file if it is not UTF-8."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{what} {str(path)!r} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
                        f"{exc.start} cannot be decoded); save it as UTF-8 CSV (in Excel: 'CSV UTF-8') and try "
                        "again", file=str(path)) from None


def read_csv(path: Path, what: str) -> list[dict[str, str]]:
    if not path.exists():
        raise NotFound(f"REDCap {what} {str(path)!r} does not exist; give the path of the CSV file")
    return [unescape_row(r) for r in csv.DictReader(io.StringIO(read_utf8(path, f"REDCap {what}")))]


__all__ = ["FIELD_TAG", "ProjectEvent", "RedcapExportResult", "project_events", "site_groups", "dictionary_rows", "read_csv", "read_utf8", "records_rows", "write_redcap"]
