"""Export a trial as a CDISC ODM 1.3.2 Snapshot file (metadata, clinical data, audit records).

The layout is described in :mod:`securebase.interop.odm_common`. The file is checked against the ODM
1.3.2 schema before it is written (``validate=True``), and the export itself is audited.

Stored text holding characters that XML 1.0 does not allow (control characters other than tab, newline
and carriage return) is written with each such character replaced by U+FFFD, and the export result
carries a warning saying where.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lxml import etree

import securebase
from securebase.instruments import Instrument
from securebase.interop.extract import TrialData, instrument, read_trial
from securebase.interop.odm_common import (
    FLAGTYPE_CL,
    MISSING_CL,
    MISSING_FLAG,
    NS,
    REPEATING,
    VISIT_REF,
    XML_NS,
    data_type,
    q,
    table_columns,
    to_text,
    validate,
    xml_safe,
)
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

TABLES = {"participants": Participant.__table__, "allocations": Allocation.__table__, "visits": Visit.__table__,
          "events": Event.__table__, "withdrawals": Withdrawal.__table__, "resource_use": ResourceUse.__table__,
          "intervention_sessions": InterventionSession.__table__}
REPEATING_NAMES = {"events": "Trial events", "withdrawals": "Withdrawals", "resource_use": "Resource use",
                   "intervention_sessions": "Intervention sessions"}
MISSING_DECODES = {"not_answered": "Not answered", "not_applicable": "Not applicable", "refused": "Refused"}


#: Where XML-unsafe characters were replaced while a document is built (None outside build_odm).
_REPLACED: ContextVar[list[str] | None] = ContextVar("securebase_odm_replaced", default=None)


def _clean(value: Any, where: str) -> str:
    """``str(value)`` made XML 1.0 safe; a replacement is noted with ``where`` for the export's warning."""
    text, n = xml_safe(str(value))
    seen = _REPLACED.get()
    if n and seen is not None:
        seen.append(where)
    return text


def _attrs(tag: str, attrs: dict[str, Any]) -> dict[str, str]:
    name = attrs.get("ItemOID") or attrs.get("OID") or attrs.get("SubjectKey") or ""
    return {k: _clean(v, f"{tag} {name} {k}".replace("  ", " ")) for k, v in attrs.items() if v is not None}


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: Any) -> etree._Element:
    el = etree.SubElement(parent, q(tag), _attrs(tag, attrs))
    if text is not None:
        el.text = _clean(text, tag)
    return el


def _translated(parent: etree._Element, tag: str, text: str) -> None:
    el = _sub(parent, tag)
    tt = _sub(el, "TranslatedText", text)
    tt.set(f"{{{XML_NS}}}lang", "en")


def _item_type(inst: Instrument | None, code: str) -> tuple[str, bool]:
    """(ODM DataType, has a code list) of an instrument item."""
    if inst is None:
        return "text", False
    try:
        it = inst.item(code)
    except KeyError:
        return "text", False
    if it.response_type in ("ordinal", "category"):
        ints = all(isinstance(v, int) for v in it.allowed or ())
        return ("integer" if ints else "text"), True
    return {"integer": "integer", "decimal": "float", "date": "date"}.get(it.response_type, "text"), False


class _Metadata:
    """Collects the ItemDefs and CodeLists while the MetaDataVersion is built."""

    def __init__(self, mdv: etree._Element) -> None:
        self.mdv = mdv
        self.items: list[etree._Element] = []
        self.codelists: list[etree._Element] = []
        self.units: dict[str, str] = {}

    def item(self, oid: str, name: str, dtype: str, label: str = "", unit: str | None = None,
             codelist: str | None = None) -> None:
        el = etree.Element(q("ItemDef"), _attrs("ItemDef", {"OID": oid, "Name": name, "DataType": dtype}))
        if label:
            _translated(el, "Description", label)
        if unit:
            self.units.setdefault(unit, f"MU.{len(self.units) + 1}")
            _sub(el, "MeasurementUnitRef", MeasurementUnitOID=self.units[unit])
        if codelist:
            _sub(el, "CodeListRef", CodeListOID=codelist)
        self.items.append(el)

    def codelist(self, oid: str, name: str, dtype: str, codes: list[tuple[str, str, str | None]]) -> None:
        el = etree.Element(q("CodeList"), _attrs("CodeList", {"OID": oid, "Name": name, "DataType": dtype}))
        for k, (value, decode, alias) in enumerate(codes, start=1):
            cli = _sub(el, "CodeListItem", CodedValue=value, OrderNumber=k)
            _translated(cli, "Decode", decode)
            if alias is not None:
                _sub(cli, "Alias", Context="securebase.numeric_code", Name=alias)
        self.codelists.append(el)


def _metadata(study: etree._Element, data: TrialData) -> dict[str, Any]:
    proto = data.protocol
    mdv = _sub(study, "MetaDataVersion", OID=f"MDV.{proto.version}", Name=f"{proto.id} protocol {proto.version}",
               Description="securebase export")
    md = _Metadata(mdv)
    protocol = _sub(mdv, "Protocol")
    forms_at: dict[str, list[str]] = defaultdict(list)
    for a in proto.assessments:
        if instrument(a.instrument) is not None and a.instrument not in forms_at[a.visit]:
            forms_at[a.visit].append(a.instrument)
    visit_ids = [v.id for v in proto.visits]
    for r in data.responses + data.scores:
        if r["visit_id"] not in visit_ids:
            visit_ids.append(r["visit_id"])
        if r["instrument"] not in forms_at[r["visit_id"]]:
            forms_at[r["visit_id"]].append(r["instrument"])
    events = [("SE.enrolment", "Enrolment", "No", "Common", ["FT.participants"] + (
        ["FT.allocations"] if data.allocation_visible else []))]
    labels = {v.id: v.label for v in proto.visits}
    for vid in visit_ids:
        events.append((f"SE.{vid}", labels.get(vid, vid), "No", "Scheduled",
                       ["FT.visits"] + [f"FI.{i}" for i in forms_at[vid]]))
    for tname, unblinded_only in REPEATING.items():
        if data.allocation_visible or not unblinded_only:
            events.append((f"SE.{tname}", REPEATING_NAMES[tname], "Yes", "Unscheduled", [f"FT.{tname}"]))
    for k, (oid, *_rest) in enumerate(events, start=1):
        _sub(protocol, "StudyEventRef", StudyEventOID=oid, OrderNumber=k, Mandatory="Yes" if k == 1 else "No")
    for oid, name, repeating, kind, forms in events:
        sed = _sub(mdv, "StudyEventDef", OID=oid, Name=name, Repeating=repeating, Type=kind)
        for k, f in enumerate(forms, start=1):
            _sub(sed, "FormRef", FormOID=f, OrderNumber=k, Mandatory="Yes" if f == "FT.visits" else "No")
    groups: list[etree._Element] = []
    for tname, table in TABLES.items():
        if tname in ("allocations", "intervention_sessions") and not data.allocation_visible:
            continue
        form = _sub(mdv, "FormDef", OID=f"FT.{tname}", Name=tname, Repeating="No")
        _sub(form, "ItemGroupRef", ItemGroupOID=f"GT.{tname}", Mandatory="Yes")
        grp = etree.Element(q("ItemGroupDef"), OID=f"GT.{tname}", Name=tname, Repeating="No")
        for k, col in enumerate(table_columns(table), start=1):
            _sub(grp, "ItemRef", ItemOID=f"T.{tname}.{col.name}", OrderNumber=k,
                 Mandatory="No" if col.nullable else "Yes")
            md.item(f"T.{tname}.{col.name}", col.name, data_type(col), f"{tname}: {col.name}",
                    codelist="CL.event_type" if (tname, col.name) == ("events", "event_type") else None)
        groups.append(grp)
    items_of: dict[str, list[str]] = defaultdict(list)
    scales_of: dict[str, list[str]] = defaultdict(list)
    for name, _v in data.instruments_used():
        inst = instrument(name)
        items_of[name] = [it.code for it in inst.items] if inst else []
        scales_of[name] = [s.name for s in inst.scales] if inst else []
    for r in data.responses:
        if r["item"] not in items_of[r["instrument"]]:
            items_of[r["instrument"]].append(r["item"])
    for s in data.scores:
        if s["scale"] not in scales_of[s["instrument"]]:
            scales_of[s["instrument"]].append(s["scale"])
    for name in items_of:
        inst = instrument(name)
        title = inst.title if inst else name
        form = _sub(mdv, "FormDef", OID=f"FI.{name}", Name=title, Repeating="Yes")
        _sub(form, "ItemGroupRef", ItemGroupOID=f"GI.{name}", OrderNumber=1, Mandatory="No")
        _sub(form, "ItemGroupRef", ItemGroupOID=f"GS.{name}", OrderNumber=2, Mandatory="No")
        _sub(form, "Alias", Context="securebase.instrument", Name=name)
        grp = etree.Element(q("ItemGroupDef"), _attrs("ItemGroupDef", {"OID": f"GI.{name}", "Name": f"{name} items",
                                                                       "Repeating": "Yes"}))
        for k, code in enumerate(["version", "entered_by"], start=1):
            _sub(grp, "ItemRef", ItemOID=f"M.{name}.{code}", OrderNumber=k, Mandatory="No")
            md.item(f"M.{name}.{code}", f"{name} {code}", "text", f"{title}: instrument {code.replace('_', ' ')}")
        for k, code in enumerate(items_of[name], start=3):
            _sub(grp, "ItemRef", ItemOID=f"I.{name}.{code}", OrderNumber=k, Mandatory="No")
            dtype, coded = _item_type(inst, code)
            it = inst.item(code) if inst and code in {i.code for i in inst.items} else None
            md.item(f"I.{name}.{code}", f"{name} {code}", dtype, it.label if it else "", it.unit if it else None,
                    f"CL.{name}.{code}" if coded else None)
            if coded and it is not None:
                labels_ = it.value_labels or {}
                md.codelist(f"CL.{name}.{code}", f"{name} item {code}", dtype,
                            [(str(v), labels_.get(str(v), str(v)), None) for v in it.allowed or ()])
        groups.append(grp)
        sg = etree.Element(q("ItemGroupDef"), _attrs("ItemGroupDef", {"OID": f"GS.{name}", "Name": f"{name} scores",
                                                                      "Repeating": "No"}))
        for k, scale in enumerate(scales_of[name]):
            for j, (prefix, dtype, what) in enumerate((("SV", "float", "score"), ("SC", "text", "band"),
                                                       ("SR", "text", "missing reason"))):
                _sub(sg, "ItemRef", ItemOID=f"{prefix}.{name}.{scale}", OrderNumber=3 * k + j + 1, Mandatory="No")
                md.item(f"{prefix}.{name}.{scale}", f"{name} {scale} {what}", dtype, f"{title}: {scale} {what}")
        groups.append(sg)
    mdv.extend(groups)
    mdv.extend(md.items)
    codes = sorted({r["missing_code"] for r in data.responses if r["missing_code"]} | set(MISSING_DECODES))
    numeric: dict[str, str] = {}
    for name in items_of:
        inst = instrument(name)
        if inst is not None:
            for reason in MISSING_DECODES:
                numeric.setdefault(reason, str(getattr(inst.missing_codes, reason)))
    md.codelist(MISSING_CL, "securebase missing-value codes", "text",
                [(c, MISSING_DECODES.get(c, c), numeric.get(c)) for c in codes])
    md.codelist(FLAGTYPE_CL, "securebase flag types", "text", [(MISSING_FLAG, "Missing-value code", None)])
    md.codelist("CL.event_type", "event types", "text", [(e.id, e.label, None) for e in proto.events])
    mdv.extend(md.codelists)
    return {"mdv_oid": mdv.get("OID"), "units": md.units}


def _item(parent: etree._Element, oid: str, value: str | None, missing: str | None = None) -> None:
    el = _sub(parent, "ItemData", ItemOID=oid, Value=value, IsNull="Yes" if value is None else None)
    if missing:
        ann = _sub(el, "Annotation", SeqNum=1)
        flag = _sub(ann, "Flag")
        _sub(flag, "FlagValue", missing, CodeListOID=MISSING_CL)
        _sub(flag, "FlagType", MISSING_FLAG, CodeListOID=FLAGTYPE_CL)


def _table_form(parent: etree._Element, tname: str, row: dict[str, Any]) -> None:
    form = _sub(parent, "FormData", FormOID=f"FT.{tname}")
    grp = _sub(form, "ItemGroupData", ItemGroupOID=f"GT.{tname}")
    for col in table_columns(TABLES[tname]):
        value = row.get("visit_id") if col.name == VISIT_REF else row.get(col.name)
        if value is not None:
            _item(grp, f"T.{tname}.{col.name}", to_text(col, value))


def _clinical(root: etree._Element, data: TrialData, study_oid: str, mdv_oid: str) -> int:
    cd = _sub(root, "ClinicalData", StudyOID=study_oid, MetaDataVersionOID=mdv_oid)
    by_p: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for kind in ("visits", "responses", "scores", *REPEATING):
        for r in getattr(data, kind):
            by_p[r["participant_id"]][kind].append(r)
    alloc = {a["participant_id"]: a for a in data.allocations or []}
    n_items = 0
    for p in data.participants:
        sd = _sub(cd, "SubjectData", SubjectKey=p["participant_id"])
        _sub(sd, "SiteRef", LocationOID=f"LOC.{p['site_code']}")
        enrol = _sub(sd, "StudyEventData", StudyEventOID="SE.enrolment")
        _table_form(enrol, "participants", p)
        if p["participant_id"] in alloc:
            _table_form(enrol, "allocations", alloc[p["participant_id"]])
        mine = by_p[p["participant_id"]]
        forms: dict[str, dict[tuple[str, str], dict[str, Any]]] = defaultdict(dict)
        for r in mine["responses"]:
            f = forms[r["visit_id"]].setdefault((r["instrument"], r["respondent"]), {"entries": defaultdict(list), "scores": []})
            f["entries"][r["entry"]].append(r)
        for s in mine["scores"]:
            f = forms[s["visit_id"]].setdefault((s["instrument"], s["respondent"]), {"entries": defaultdict(list), "scores": []})
            f["scores"].append(s)
        for v in sorted(mine["visits"], key=lambda v: (v["month"], v["visit_id"])):
            se = _sub(sd, "StudyEventData", StudyEventOID=f"SE.{v['visit_id']}")
            _table_form(se, "visits", v)
            for (name, respondent), f in forms.pop(v["visit_id"], {}).items():
                fd = _sub(se, "FormData", FormOID=f"FI.{name}", FormRepeatKey=respondent)
                for entry, rows in sorted(f["entries"].items()):
                    g = _sub(fd, "ItemGroupData", ItemGroupOID=f"GI.{name}", ItemGroupRepeatKey=entry)
                    _item(g, f"M.{name}.version", rows[0]["instrument_version"])
                    _item(g, f"M.{name}.entered_by", rows[0]["entered_by"])
                    for r in rows:
                        _item(g, f"I.{name}.{r['item']}", r["value"], r["missing_code"])
                        n_items += 1
                if f["scores"]:
                    g = _sub(fd, "ItemGroupData", ItemGroupOID=f"GS.{name}")
                    for s in f["scores"]:
                        _item(g, f"SV.{name}.{s['scale']}", None if s["value"] is None else repr(float(s["value"])))
                        for prefix, key in (("SC", "category"), ("SR", "missing_reason")):
                            if s[key] is not None:
                                _item(g, f"{prefix}.{name}.{s['scale']}", s[key])
        for kind in REPEATING:
            for k, r in enumerate(mine[kind], start=1):
                se = _sub(sd, "StudyEventData", StudyEventOID=f"SE.{kind}", StudyEventRepeatKey=k)
                _table_form(se, kind, r)
    if data.audit:
        ars = _sub(cd, "AuditRecords")
        # Roles that may see the allocation get the global chain (seq, prev_hash, hash); blinded roles get the
        # records numbered 1..n over what they may see, since gaps in seq or a broken hash link would count
        # the hidden allocation and intervention records and so give away each participant's arm.
        chain = data.allocations is not None
        for entry, a in enumerate(data.audit, start=1):
            number = a["seq"] if chain else entry
            ar = _sub(ars, "AuditRecord", EditPoint="DBAudit", UsedImputationMethod="No", ID=f"AR.{number}")
            _sub(ar, "UserRef", UserOID=f"USR.{a['actor']}")
            _sub(ar, "LocationRef", LocationOID="LOC.securebase")
            _sub(ar, "DateTimeStamp", a["at"].astimezone(UTC).isoformat())
            if a["reason"]:
                _sub(ar, "ReasonForChange", a["reason"])
            keys = ("seq", "action", "table_name", "record_id", "participant_id", "old", "new", "prev_hash", "hash")
            source = {k: a[k] for k in keys if chain or k not in ("seq", "prev_hash", "hash")}
            source["entry"] = entry
            _sub(ar, "SourceID", json.dumps(source, sort_keys=True, ensure_ascii=False))
    return n_items


def _admin(root: etree._Element, data: TrialData, study_oid: str, mdv_oid: str) -> None:
    admin = _sub(root, "AdminData", StudyOID=study_oid)
    for user in sorted({a["actor"] for a in data.audit}):
        u = _sub(admin, "User", OID=f"USR.{user}")
        _sub(u, "LoginName", user)
    effective = data.trial["created_at"].date().isoformat()
    for code, name, kind in [(s.code, s.name, "Site") for s in data.protocol.sites] + [
            ("securebase", "securebase store", "Other")]:
        loc = _sub(admin, "Location", OID=f"LOC.{code}", Name=name, LocationType=kind)
        _sub(loc, "MetaDataVersionRef", StudyOID=study_oid, MetaDataVersionOID=mdv_oid, EffectiveDate=effective)


def build_odm(data: TrialData, warnings: list[str] | None = None) -> etree._ElementTree:
    """The ODM document of ``data`` (not yet validated).

    Characters XML 1.0 does not allow are written as U+FFFD; if ``warnings`` is given, a warning saying
    how many values and where is appended to it.
    """
    replaced: list[str] = []
    token = _REPLACED.set(replaced)
    try:
        doc = _build(data)
    finally:
        _REPLACED.reset(token)
    if replaced and warnings is not None:
        places = sorted(set(replaced))
        more = f" and {len(places) - 5} more" if len(places) > 5 else ""
        warnings.append(f"{len(replaced)} stored value(s) held characters that XML 1.0 does not allow (control "
                        f"characters); each was written as U+FFFD (in {'; '.join(places[:5])}{more}); correct the "
                        "stored text if the exact characters matter")
    return doc


def _build(data: TrialData) -> etree._ElementTree:
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    root = etree.Element(q("ODM"), _attrs("ODM", dict(
        FileType="Snapshot", Granularity="All",
        FileOID=f"securebase.{data.trial['id']}.{uuid.uuid4().hex[:12]}", CreationDateTime=now,
        AsOfDateTime=now, ODMVersion="1.3.2", Originator="securebase", SourceSystem="securebase",
        SourceSystemVersion=getattr(securebase, "__version__", "0"),
        Description=f"{data.trial['id']}: {data.trial['title']}"[:2000])), nsmap={None: NS})
    study_oid = f"ST.{data.trial['id']}"
    study = _sub(root, "Study", OID=study_oid)
    gv = _sub(study, "GlobalVariables")
    _sub(gv, "StudyName", data.trial["id"])
    _sub(gv, "StudyDescription", data.trial["title"])
    _sub(gv, "ProtocolName", f"{data.protocol.id} version {data.protocol.version}")
    bd = _sub(study, "BasicDefinitions")
    meta = _metadata(study, data)
    for unit, oid in meta["units"].items():
        mu = _sub(bd, "MeasurementUnit", OID=oid, Name=unit)
        _translated(mu, "Symbol", unit)
    _admin(root, data, study_oid, meta["mdv_oid"])
    _clinical(root, data, study_oid, meta["mdv_oid"])
    return etree.ElementTree(root)


@dataclass(frozen=True)
class OdmExportResult:
    path: Path
    subjects: int
    responses: int
    audit_records: int
    sha256: str
    validated: bool
    warnings: tuple[str, ...] = ()

    def summary(self) -> str:
        check = "valid against the ODM 1.3.2 schema" if self.validated else "not validated"
        text = (f"ODM 1.3.2 written to {self.path}: {self.subjects} subjects, {self.responses} item responses, "
                f"{self.audit_records} audit records ({check}; sha256 {self.sha256[:16]}...)")
        return "\n".join([text, *(f"warning: {w}" for w in self.warnings)])

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "subjects": self.subjects, "responses": self.responses,
                "audit_records": self.audit_records, "sha256": self.sha256, "validated": self.validated,
                "warnings": list(self.warnings)}


def write_odm(store: Store, actor: Actor, path: str | Path, *, include_audit: bool = True,
              check: bool = True) -> OdmExportResult:
    """Export ``actor.trial_id`` to ``path``; allocation only if the actor may see it. The export is audited."""
    with store.read() as session:
        data = read_trial(session, actor, with_audit=include_audit)
    warnings: list[str] = []
    doc = build_odm(data, warnings)
    if check:
        validate(doc, "the exported ODM document")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = etree.tostring(doc, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    out.write_bytes(payload)
    digest = hashlib.sha256(payload).hexdigest()
    with store.unit_of_work(actor=actor.username) as uow:
        uow.log_event("export", table_name="odm", record_id=out.name, trial_id=actor.trial_id,
                      detail={"format": "CDISC ODM 1.3.2", "sha256": digest, "allocation": data.allocation_visible,
                              "subjects": len(data.participants)})
        uow.commit()
    return OdmExportResult(out, len(data.participants), len(data.responses), len(data.audit), digest, check,
                           tuple(warnings))


__all__ = ["OdmExportResult", "build_odm", "validate", "write_odm"]
