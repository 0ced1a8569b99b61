"""Import a CDISC ODM 1.3.2 file written by securebase (see :mod:`securebase.interop.odm_common`).

Everything is written in one unit of work on behalf of the importing user, so every inserted row is
audited and nothing is saved if any part fails (a locked trial refuses the import at flush). The
source file's own audit trail cannot join this store's hash chain as it was (its hashes chain to
another store), so each source ``AuditRecord`` is kept as an audited ``odm_audit`` event whose detail
holds the original record (user, time, reason, action, table, old and new values, original hashes).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from securebase.errors import BlindingError, ConflictError, DataError, NotFound, PermissionDenied
from securebase.instruments import load_instrument, score_clean, validate_responses
from securebase.interop.odm_common import (
    MISSING_FLAG,
    REPEATING,
    VISIT_REF,
    from_text,
    q,
    table_columns,
    validate,
)
from securebase.interop.odm_mapped import OdmMapping, import_odm_mapped, refuse_empty, subject_data
from securebase.store import Store, UnitOfWork
from securebase.store.tables import (
    Allocation,
    Event,
    InterventionSession,
    Participant,
    ResourceUse,
    Response,
    Score,
    Visit,
    Withdrawal,
)
from securebase.trial.roles import Actor, Role

MODELS: dict[str, Any] = {"participants": Participant, "allocations": Allocation, "visits": Visit, "events": Event,
                          "withdrawals": Withdrawal, "resource_use": ResourceUse,
                          "intervention_sessions": InterventionSession}
MAY_IMPORT = frozenset({Role.administrator, Role.trial_manager, Role.data_manager})


def _item_value(el: etree._Element) -> tuple[str | None, str | None]:
    """(Value or None, missing-value code or None) of an ItemData element."""
    missing = None
    for flag in el.iter(q("Flag")):
        ftype = flag.find(q("FlagType"))
        fval = flag.find(q("FlagValue"))
        if fval is not None and (ftype is None or (ftype.text or "").strip() == MISSING_FLAG):
            missing = (fval.text or "").strip()
    return (None if el.get("IsNull") == "Yes" else el.get("Value")), missing


def _table_row(form: etree._Element, tname: str, where: str) -> dict[str, Any]:
    cols = {c.name: c for c in table_columns(MODELS[tname].__table__)}
    out: dict[str, Any] = {}
    for item in form.iter(q("ItemData")):
        oid = item.get("ItemOID", "")
        prefix = f"T.{tname}."
        if not oid.startswith(prefix) or oid[len(prefix):] not in cols:
            raise DataError(f"{where}: item {oid!r} is not a column of {tname}; export the file with securebase")
        value, _ = _item_value(item)
        name = oid[len(prefix):]
        out[name] = None if value is None else from_text(cols[name], value, f"{where} item {oid}")
    return out


def _instrument(name: str, where: str) -> Any:
    try:
        return load_instrument(name)
    except NotFound:
        raise DataError(f"{where}: instrument {name!r} is not known to securebase; register it "
                        "(securebase instruments add) before importing") from None


@dataclass(frozen=True)
class OdmImportResult:
    subjects: int
    visits: int
    responses: int
    missing_codes: int
    scores: int
    events: int
    audit_records: int
    sha256: str
    resource_use: int = 0
    intervention_sessions: int = 0

    def summary(self) -> str:
        return (f"imported {self.subjects} subjects, {self.visits} visits, {self.responses} item responses "
                f"({self.missing_codes} with missing-value codes), {self.scores} scores, {self.events} events and "
                f"withdrawals, {self.resource_use} resource-use records, {self.intervention_sessions} intervention "
                f"sessions; {self.audit_records} source audit records kept as odm_audit events")

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class _Importer:
    def __init__(self, uow: UnitOfWork, actor: Actor) -> None:
        self.uow, self.actor = uow, actor
        self.counts: dict[str, int] = defaultdict(int)

    def add(self, obj: Any) -> Any:
        self.uow.session.add(obj)
        return obj

    def subject(self, sd: etree._Element) -> None:
        key = sd.get("SubjectKey", "")
        where = f"subject {key}"
        exists = self.uow.session.execute(select(Participant.id).where(
            Participant.trial_id == self.actor.trial_id, Participant.participant_id == key)).first()
        if exists:
            raise ConflictError(f"participant {key} is already in trial '{self.actor.trial_id}'; import into an "
                                "empty trial or remove the subject from the file")
        events = sd.findall(q("StudyEventData"))
        enrol = next((e for e in events if e.get("StudyEventOID") == "SE.enrolment"), None)
        pform = None if enrol is None else next(
            (f for f in enrol.findall(q("FormData")) if f.get("FormOID") == "FT.participants"), None)
        if pform is None:
            raise DataError(f"{where} has no FT.participants form in SE.enrolment; export the file with securebase")
        p = self.add(Participant(trial_id=self.actor.trial_id, participant_id=key,
                                 **_table_row(pform, "participants", where)))
        self.uow.session.flush()
        self.counts["subjects"] += 1
        for f in enrol.findall(q("FormData")):  # type: ignore[union-attr]
            if f.get("FormOID") == "FT.allocations":
                if not self.actor.can_see_allocation():
                    raise BlindingError(f"the file holds allocations, which user '{self.actor.username}' may not "
                                        "see; ask an unblinded trial manager to import it")
                self.add(Allocation(trial_id=self.actor.trial_id, participant_pk=p.id,
                                    **_table_row(f, "allocations", where)))
        visits: dict[str, int] = {}
        for se in events:
            oid = se.get("StudyEventOID", "")
            if oid == "SE.enrolment":
                continue
            if oid[3:] in REPEATING:
                tname = oid[3:]
                if REPEATING[tname] and not self.actor.can_see_allocation():
                    raise BlindingError(f"the file holds {tname.replace('_', ' ')}, which reveal allocation to user "
                                        f"'{self.actor.username}'; ask an unblinded trial manager to import it")
                self.uow.session.flush()
                for f in se.findall(q("FormData")):
                    row = _table_row(f, tname, f"{where} {oid}")
                    if row.get(VISIT_REF) is not None:
                        if row[VISIT_REF] not in visits:
                            raise DataError(f"{where} {oid}: visit {row[VISIT_REF]!r} is not among the subject's "
                                            f"visits ({', '.join(visits)}); fix the file")
                        row[VISIT_REF] = visits[row[VISIT_REF]]
                    self.add(MODELS[tname](trial_id=self.actor.trial_id, participant_pk=p.id, **row))
                    self.counts["events" if tname in ("events", "withdrawals") else tname] += 1
                continue
            v = self.visit(se, p, f"{where} {oid}")
            visits[v.visit_id] = v.id

    def visit(self, se: etree._Element, p: Participant, where: str) -> Visit:
        forms = se.findall(q("FormData"))
        vform = next((f for f in forms if f.get("FormOID") == "FT.visits"), None)
        if vform is None:
            raise DataError(f"{where} has no FT.visits form; export the file with securebase")
        v = self.add(Visit(trial_id=self.actor.trial_id, participant_pk=p.id, **_table_row(vform, "visits", where)))
        self.uow.session.flush()
        self.counts["visits"] += 1
        for f in forms:
            oid = f.get("FormOID", "")
            if oid.startswith("FI."):
                self.instrument_form(f, oid[3:], p, v, where)
        return v

    def instrument_form(self, f: etree._Element, name: str, p: Participant, v: Visit, where: str) -> None:
        """Responses are checked item by item with the instrument's own rules and the scores recomputed from
        them: a value outside an item's allowed set is refused, and a file whose scores disagree with its items
        is refused (scores are never taken from the file). ``entered_by`` is the importing user; the source's
        user is kept in the ``odm_audit`` events."""
        respondent = f.get("FormRepeatKey") or ""
        inst = _instrument(name, where)
        where = f'{where} instrument "{name}"'
        file_scores: dict[str, dict[str, Any]] = {}
        entries: dict[int, dict[str, tuple[str | None, str | None]]] = defaultdict(dict)
        version = ""
        for g in f.findall(q("ItemGroupData")):
            goid = g.get("ItemGroupOID", "")
            items = g.findall(q("ItemData"))
            if goid == f"GI.{name}":
                entry = int(g.get("ItemGroupRepeatKey") or 1)
                version = next((i.get("Value") or "" for i in items if i.get("ItemOID") == f"M.{name}.version"),
                               version)
                for i in items:
                    oid = i.get("ItemOID", "")
                    if oid.startswith(f"I.{name}."):
                        entries[entry][oid[len(name) + 3:]] = _item_value(i)
            elif goid == f"GS.{name}":
                for i in items:
                    prefix, _, scale = i.get("ItemOID", "").partition(f".{name}.")
                    file_scores.setdefault(scale, {})[prefix] = _item_value(i)[0]
        codes = inst.missing_codes.lookup()
        first_clean: dict[str, Any] | None = None
        for entry, answers in sorted(entries.items()):
            raw = {item: (getattr(inst.missing_codes, missing) if missing and hasattr(inst.missing_codes, missing)
                          else value) for item, (value, missing) in answers.items()}
            for item, (_value, missing) in answers.items():
                if missing and not hasattr(inst.missing_codes, missing):
                    raise DataError(f"{where} item {item}: missing-value code {missing!r} is not one of "
                                    f"{inst.label}'s codes ({', '.join(sorted(map(str, codes.values())))}); "
                                    "fix the file")
            clean = validate_responses(inst, {k: v for k, v in raw.items() if v is not None},
                                       participant=p.participant_id, visit=v.visit_id)
            if entry == 1:
                first_clean = clean
            for item, (value, missing) in answers.items():
                self.add(Response(trial_id=self.actor.trial_id, participant_pk=p.id, visit_pk=v.id, instrument=name,
                                  instrument_version=version, respondent=respondent, item=item, value=value,
                                  missing_code=missing, entry=entry, entered_by=self.actor.username))
                self.counts["responses"] += 1
                self.counts["missing_codes"] += missing is not None
        if not file_scores:
            return
        if first_clean is None:
            raise DataError(f"{where} has scores but no item responses; scores are recomputed from the items, so "
                            "export the file again with its responses")
        for scale, res in score_clean(inst, first_clean).items():
            value = None if res.value is None else float(res.value)
            given = file_scores.get(scale, {}).get("SV")
            if scale in file_scores and (given is None) != (value is None) or (
                    given is not None and value is not None and abs(float(given) - value) > 1e-9):
                raise DataError(f"{where}: the file's {scale} score is {given!r} but its items score "
                                f"{res.value!r}; scores are recomputed from the items, so the file has been "
                                "altered or comes from another scoring version: fix or re-export it")
            self.add(Score(trial_id=self.actor.trial_id, participant_pk=p.id, visit_pk=v.id, instrument=name,
                           respondent=respondent, scale=scale, value=value, category=res.band,
                           missing_reason=res.reason))
            self.counts["scores"] += 1

    def audit(self, ar: etree._Element) -> None:
        user = ar.find(q("UserRef"))
        stamp = ar.find(q("DateTimeStamp"))
        reason = ar.find(q("ReasonForChange"))
        source_el = ar.find(q("SourceID"))
        source: dict[str, Any] = {}
        if source_el is not None and source_el.text:
            try:
                source = json.loads(source_el.text)
            except json.JSONDecodeError:
                source = {"source_id": source_el.text}
        detail = {"source_id": ar.get("ID"), "user": (user.get("UserOID") or "").removeprefix("USR.") if user is not None else None,
                  "at": stamp.text if stamp is not None else None, "reason": reason.text if reason is not None else None,
                  **source}
        self.uow.log_event("odm_audit", table_name=str(source.get("table_name") or "odm"),
                           record_id=str(source.get("record_id") or ar.get("ID") or "?"), trial_id=self.actor.trial_id,
                           participant_id=source.get("participant_id"), detail=detail)
        self.counts["audit_records"] += 1


def read_odm(path: str | Path, *, check: bool = True,
             vendor_extensions: bool = False) -> tuple[etree._Element, bytes]:
    """Parse and (``check``) schema-validate an ODM file; every fault is a DataError naming the file."""
    p = Path(path)
    if not p.exists():
        raise NotFound(f"ODM file {str(p)!r} does not exist; give the path of an ODM 1.3.2 XML file")
    raw = p.read_bytes()
    try:
        doc = etree.fromstring(raw, parser=etree.XMLParser(huge_tree=True, resolve_entities=False, no_network=True,
                                                            load_dtd=False))
    except etree.XMLSyntaxError as exc:
        raise DataError(f"{p} is not well-formed XML ({exc}); give an ODM 1.3.2 file") from None
    if doc.getroottree().docinfo.doctype:
        raise DataError(f"{p.name} starts with a DOCTYPE declaration ({doc.getroottree().docinfo.doctype[:80]}); "
                        "ODM files have none and securebase refuses them (entity expansion); remove it")
    if check:
        validate(doc, str(p), vendor_extensions=vendor_extensions)
    return doc, raw


def _securebase_shaped(doc: etree._Element, name: str) -> None:
    """Refuse, before anything is written, a file whose subjects do not use securebase's own OIDs."""
    for sd in subject_data(doc):
        events = {se.get("StudyEventOID", "") for se in sd.findall(q("StudyEventData"))}
        forms = {f.get("FormOID", "") for f in sd.iter(q("FormData"))}
        if "SE.enrolment" not in events or "FT.participants" not in forms:
            raise DataError(
                f"{name} is valid ODM 1.3.2 but not a securebase export: subject {sd.get('SubjectKey')} uses another "
                f"system's study events ({', '.join(sorted(events)[:6]) or 'none'}) and forms "
                f"({', '.join(sorted(forms)[:6]) or 'none'}); import it with a mapping file that names which of its "
                "study events and items are which visit and instrument item: "
                "securebase import odm FILE --trial TRIAL --mapping MAP.yaml (docs/interop.md)")


STREAM_ABOVE = 16 * 1024 * 1024  # bytes: a securebase file larger than this is read as a stream


def import_odm(store: Store, actor: Actor, path: str | Path, *, check: bool = True,
               mapping: str | Path | None = None, stream: bool | None = None) -> Any:
    """Import the ODM file ``path`` into ``actor.trial_id`` (all or nothing).

    A file securebase wrote is imported whole, or as a stream in bounded memory
    (:mod:`securebase.interop.odm_stream`) when ``stream`` is true or, by default, when it is larger than
    ``STREAM_ABOVE``; another system's file needs ``mapping`` (see :mod:`securebase.interop.odm_mapped`). A
    file with no subject data is refused with its reason."""
    if not actor.roles & MAY_IMPORT:
        raise PermissionDenied(f"user '{actor.username}' may not import data into trial '{actor.trial_id}' (needs "
                               "data manager, trial manager or administrator); ask a trial manager")
    p = Path(path)
    if mapping is None and (stream or (stream is None and p.exists() and p.stat().st_size > STREAM_ABOVE)):
        from securebase.interop.odm_stream import import_odm_stream

        return import_odm_stream(store, actor, p, check=check)
    doc, raw = read_odm(p, check=check, vendor_extensions=mapping is not None)
    if mapping is not None:
        return import_odm_mapped(store, actor, doc, raw, p.name, OdmMapping.load(mapping))
    refuse_empty(doc, p.name)
    _securebase_shaped(doc, p.name)
    with store.unit_of_work(actor=actor.username) as uow:
        uow.ensure_unlocked(actor.trial_id)
        imp = _Importer(uow, actor)
        try:
            for cd in doc.iter(q("ClinicalData")):
                for sd in cd.findall(q("SubjectData")):
                    imp.subject(sd)
                uow.session.flush()
                for ars in cd.findall(q("AuditRecords")):
                    for ar in ars.findall(q("AuditRecord")):
                        imp.audit(ar)
            digest = hashlib.sha256(raw).hexdigest()
            uow.log_event("import", table_name="odm", record_id=p.name, trial_id=actor.trial_id,
                          detail={"format": "CDISC ODM 1.3.2", "sha256": digest, "file_oid": doc.get("FileOID"),
                                  **dict(imp.counts)})
        except IntegrityError as exc:
            raise DataError(f"the ODM file does not fit trial '{actor.trial_id}': "
                            f"{str(exc.orig).strip().splitlines()[0]}; check site codes and duplicates") from None
        uow.commit()
    c = imp.counts
    return OdmImportResult(c["subjects"], c["visits"], c["responses"], c["missing_codes"], c["scores"], c["events"],
                           c["audit_records"], digest, c["resource_use"], c["intervention_sessions"])


__all__ = ["STREAM_ABOVE", "OdmImportResult", "import_odm", "read_odm"]
