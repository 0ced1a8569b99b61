"""Import clinical data from another system's CDISC ODM 1.3.2 file through a mapping file.

A file written by another EDC (OpenClinica, Medidata Rave, odmlib, REDCap's ODM export, ...) names its
study events, forms and items with its own OIDs. A mapping file (YAML) says which of them are which
securebase visit and instrument item::

    subjects:            # optional: the file's SubjectKey -> participant id (default: the same text)
      "1000": CARE-0001
    study_events:        # the file's StudyEventOID -> visit id of the trial's protocol
      VISIT_1: m6
    items:               # the file's ItemOID -> instrument and item code
      SDQ_P_01: {instrument: sdq_parent, item: "1"}

Participants and their visits must already be in the trial (they are created at enrolment and
randomisation). Every mapped answer goes through the same service as the data-entry form
(:func:`securebase.trial.data_entry.save_responses`): checked item by item against the instrument, scored
when the form is complete, audited, and all or nothing. What the file holds that the mapping does not
name is listed in the result, never silently dropped.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from lxml import etree

from securebase.errors import DataError, FieldError, NotFound, PermissionDenied
from securebase.interop.odm_common import q
from securebase.store import Store
from securebase.trial.roles import Actor, Role

MAY_IMPORT = frozenset({Role.administrator, Role.trial_manager, Role.data_manager})


@dataclass(frozen=True)
class OdmMapping:
    subjects: dict[str, str]
    study_events: dict[str, str]
    items: dict[str, tuple[str, str]]

    @classmethod
    def load(cls, path: str | Path) -> OdmMapping:
        p = Path(path)
        if not p.exists():
            raise NotFound(f"mapping file {str(p)!r} does not exist; write one as docs/interop.md shows "
                           "(study_events and items)")
        try:
            raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise DataError(f"mapping file {p.name} is not valid YAML ({exc}); fix it") from None
        if not isinstance(raw, dict):
            raise FieldError("mapping", type(raw).__name__, "a YAML mapping with study_events and items")
        unknown = set(raw) - {"subjects", "study_events", "items"}
        if unknown:
            raise FieldError(f"mapping.{sorted(unknown)[0]}", sorted(unknown)[0],
                             "one of subjects, study_events, items")
        for key in ("study_events", "items"):
            if key not in raw:
                what = "StudyEventOID: visit id" if key == "study_events" else "ItemOID: {instrument: NAME, item: CODE}"
                raise DataError(f"mapping file {p.name} has no `{key}:` block (mapping.{key}); add one with lines "
                                f"`{what}` for the file's OIDs")
            if not isinstance(raw.get(key), dict) or not raw[key]:
                raise FieldError(f"mapping.{key}", raw.get(key),
                                 f"a non-empty mapping of the file's OIDs ({key}) in {p.name}")
        items: dict[str, tuple[str, str]] = {}
        for oid, target in raw["items"].items():
            if not isinstance(target, dict) or not {"instrument", "item"} <= set(target):
                raise FieldError(f"mapping.items.{oid}", target, "{instrument: NAME, item: CODE}")
            items[str(oid)] = (str(target["instrument"]), str(target["item"]))
        subjects = raw.get("subjects") or {}
        if not isinstance(subjects, dict):
            raise FieldError("mapping.subjects", subjects, "a mapping of SubjectKey to participant id")
        return cls({str(k): str(v) for k, v in subjects.items()},
                   {str(k): str(v) for k, v in raw["study_events"].items()}, items)


@dataclass
class MappedImportResult:
    subjects: int = 0
    forms: int = 0
    responses: int = 0
    scored_forms: int = 0
    sha256: str = ""
    unmapped_events: dict[str, int] = field(default_factory=dict)
    unmapped_items: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        head = (f"imported {self.responses} answers in {self.forms} forms ({self.scored_forms} complete and scored) "
                f"for {self.subjects} participants")
        lines = [head]
        if self.unmapped_events:
            lines.append("not imported, study events the mapping does not name: "
                         + ", ".join(f"{k} ({n} items)" for k, n in sorted(self.unmapped_events.items())))
        if self.unmapped_items:
            lines.append("not imported, items the mapping does not name: "
                         + ", ".join(f"{k} ({n})" for k, n in sorted(self.unmapped_items.items())))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def subject_data(doc: etree._Element) -> list[etree._Element]:
    return [sd for cd in doc.iter(q("ClinicalData")) for sd in cd.findall(q("SubjectData"))]


def refuse_empty(doc: etree._Element, name: str) -> None:
    """A file without subject data imports nothing: say so, and say what the file holds instead."""
    if subject_data(doc):
        return
    held = [tag for tag in ("Study", "AdminData", "ReferenceData", "ClinicalData") if doc.find(q(tag)) is not None]
    what = ", ".join(held) if held else "no Study, AdminData, ReferenceData or ClinicalData"
    raise DataError(f"{name} holds no subject data (no ClinicalData/SubjectData element; it holds {what}), so there "
                    "is nothing to import; give an ODM file with clinical data (securebase export odm writes one)")


def import_odm_mapped(store: Store, actor: Actor, doc: etree._Element, raw: bytes, name: str,
                      mapping: OdmMapping) -> MappedImportResult:
    """Import the mapped answers of the parsed, schema-valid ODM document ``doc`` (all or nothing)."""
    from securebase.instruments import load_instrument
    from securebase.trial.data_entry import save_responses

    if not actor.roles & MAY_IMPORT:
        raise PermissionDenied(f"user '{actor.username}' may not import data into trial '{actor.trial_id}' (needs "
                               "data manager, trial manager or administrator); ask a trial manager")
    refuse_empty(doc, name)
    result = MappedImportResult(sha256=hashlib.sha256(raw).hexdigest())
    forms: dict[tuple[str, str, str], dict[str, Any]] = defaultdict(dict)
    unmapped_events: dict[str, int] = defaultdict(int)
    unmapped_items: dict[str, int] = defaultdict(int)
    for sd in subject_data(doc):
        key = sd.get("SubjectKey", "")
        pid = mapping.subjects.get(key, key)
        for se in sd.findall(q("StudyEventData")):
            oid = se.get("StudyEventOID", "")
            items = list(se.iter(q("ItemData")))
            visit = mapping.study_events.get(oid)
            if visit is None:
                unmapped_events[oid] += len(items)
                continue
            for it in items:
                target = mapping.items.get(it.get("ItemOID", ""))
                if target is None:
                    unmapped_items[it.get("ItemOID", "")] += 1
                    continue
                instrument, code = target
                slot = forms[(pid, visit, instrument)]
                if code in slot:
                    raise DataError(f"{name}: subject {key} has item {code} of {instrument} twice in study event "
                                    f"{oid}; map only one of the file's items to it")
                slot[code] = None if it.get("IsNull") == "Yes" else it.get("Value")
    result.unmapped_events, result.unmapped_items = dict(unmapped_events), dict(unmapped_items)
    if not forms:
        raise DataError(f"{name}: the mapping names none of the file's study events and items, so nothing would be "
                        f"imported (study events in the file: {', '.join(sorted(unmapped_events)) or 'none'}; "
                        f"items: {', '.join(sorted(unmapped_items)[:10]) or 'none'}); fix the mapping file")
    with store.unit_of_work(actor=actor.username) as uow:
        uow.ensure_unlocked(actor.trial_id)
        subjects = set()
        for (pid, visit, instrument), answers in forms.items():
            inst = load_instrument(instrument)
            complete = all(answers.get(i.code) not in (None, "") for i in inst.items)
            saved = save_responses(uow, actor, pid, visit, instrument, answers, complete=complete)
            subjects.add(pid)
            result.forms += 1
            result.responses += saved.changed
            result.scored_forms += bool(saved.scores)
        result.subjects = len(subjects)
        uow.log_event("import", table_name="odm", record_id=name, trial_id=actor.trial_id,
                      detail={"format": "CDISC ODM 1.3.2 (mapped)", "sha256": result.sha256,
                              "file_oid": doc.get("FileOID"), "forms": result.forms, "responses": result.responses,
                              "unmapped_events": result.unmapped_events, "unmapped_items": result.unmapped_items})
        uow.commit()
    return result


__all__ = ["MappedImportResult", "OdmMapping", "import_odm_mapped", "refuse_empty", "subject_data"]
