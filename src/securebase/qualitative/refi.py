"""REFI-QDA Project exchange (.qdpx): a zip holding ``project.qde`` (XML, namespace
``urn:QDA-XML:project:1.0``) and the plain-text sources under ``sources/``.

Structure and semantics from the REFI-QDA Project standard 1.5 (https://www.qdasoftware.org/, the
"REFI-QDA-1-5.pdf" specification) and its schema ``schema/Project-mrt2019.xsd`` (official, MIT licence,
provenance in the file header): sources are referenced as ``internal://<guid>.txt`` and positions in a
plain-text source are 0-based character offsets, end exclusive.

Mapping: one codebook version -> CodeBook (definition, inclusion and exclusion in each code's
Description); participants -> Cases (with site and age band, never the arm); transcripts -> TextSources
(speaker role, visit, format and pseudonymisation as Variables); coded segments -> PlainTextSelections
with one Coding each; memos -> Notes (text inline and as a file, so QualCoder keeps them) referenced from
their transcript, code or the project; coders ->
Users with GUIDs derived from the user name (UUID version 5), so exports are deterministic: elements
are ordered by name then GUID, timestamps are whole UTC seconds, and the zip entries have fixed dates.
"""

from __future__ import annotations

import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import select

from securebase.errors import DataError
from securebase.qualitative.access import EXCHANGE_ROLES, as_session, require
from securebase.qualitative.codebook import code_tree, get_codebook
from securebase.qualitative.transcripts import list_transcripts
from securebase.store.tables import Code, CodedSegment, Memo, Transcript
from securebase.trial.roles import Actor

NS = "urn:QDA-XML:project:1.0"
ORIGIN = "securebase"
GUID_NS = uuid.UUID("6f1d2c3e-9a4b-5c6d-8e7f-0a1b2c3d4e5f")
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
VARIABLES = (("pseudonymised", "Boolean"), ("source_format", "Text"), ("speaker_role", "Text"), ("visit", "Text"))
CASE_VARIABLES = (("age_band", "Text"), ("site", "Text"))


def det_guid(kind: str, key: str) -> str:
    return str(uuid.uuid5(GUID_NS, f"{kind}:{key}"))


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (ts if ts.tzinfo else ts.replace(tzinfo=UTC)).astimezone(UTC).replace(microsecond=0)


@lru_cache(maxsize=1)
def schema() -> etree.XMLSchema:
    """The official REFI-QDA Project schema (Project-mrt2019.xsd)."""
    xsd = resources.files("securebase.qualitative").joinpath("schema/Project-mrt2019.xsd").read_bytes()
    return etree.XMLSchema(etree.fromstring(xsd))


def validate_qde(data: bytes, name: str = "project.qde") -> etree._Element:
    """Parse and validate ``project.qde``; refuse with the first schema errors (line and message)."""
    try:
        root = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise DataError(f"{name} is not well-formed XML: {exc}; export the project again") from None
    s = schema()
    if not s.validate(root):
        errs = "; ".join(f"line {e.line}: {e.message}" for e in list(s.error_log)[:3])
        raise DataError(f"{name} does not follow the REFI-QDA project schema (Project-mrt2019.xsd): {errs}")
    return root


def encode_description(definition: str, inclusion: str, exclusion: str) -> str:
    if not inclusion and not exclusion:
        return definition
    return f"Definition:\n{definition}\n\nInclusion:\n{inclusion}\n\nExclusion:\n{exclusion}"


def decode_description(text: str) -> tuple[str, str, str]:
    if not text.startswith("Definition:\n") or "\n\nInclusion:\n" not in text or "\n\nExclusion:\n" not in text:
        return text, "", ""
    body = text[len("Definition:\n"):]
    definition, rest = body.split("\n\nInclusion:\n", 1)
    inclusion, exclusion = rest.rsplit("\n\nExclusion:\n", 1)
    return definition, inclusion, exclusion


def _el(parent: etree._Element, tag: str, **attrs: str | None) -> etree._Element:
    e = etree.SubElement(parent, f"{{{NS}}}{tag}")
    for k, v in attrs.items():
        if v is not None:
            e.set(k, v)
    return e


def _text(parent: etree._Element, tag: str, text: str) -> etree._Element:
    e = _el(parent, tag)
    e.text = text
    return e


@dataclass(frozen=True)
class QdpxExport:
    path: Path
    qde: bytes
    sources: int
    codes: int
    selections: int
    notes: int

    def summary(self) -> str:
        return (f"wrote {self.path}: {self.sources} sources, {self.codes} codes, {self.selections} coded "
                f"segments, {self.notes} memos (REFI-QDA project, validated against Project-mrt2019.xsd)")


def build_qde(uow_or_session: Any, actor: Actor, codebook_id: int) -> tuple[bytes, dict[str, str], dict[str, int]]:
    """The ``project.qde`` bytes, the source files {zip path: text} and counts."""
    require(actor, EXCHANGE_ROLES)
    session = as_session(uow_or_session)
    cb = get_codebook(session, actor, codebook_id)
    infos = list_transcripts(session, actor)
    transcripts: dict[int, Transcript] = {i.id: session.get_one(Transcript, i.id) for i in infos}
    code_ids = set(session.execute(select(Code.id).where(Code.codebook_id == cb.id)).scalars().all())
    segs = [s for s in session.execute(select(CodedSegment).where(CodedSegment.transcript_id.in_(list(transcripts))))
            .scalars().all() if s.code_id in code_ids]
    codes = {c.id: c for c in session.execute(select(Code).where(Code.codebook_id == cb.id)).scalars().all()}
    memos = [m for m in session.execute(select(Memo).where(Memo.trial_id == actor.trial_id)).scalars().all()
             if (m.transcript_id is None or m.transcript_id in transcripts)
             and (m.code_id is None or m.code_id in code_ids)]
    users = sorted({t.created_by or "unknown" for t in transcripts.values()} | {s.coder for s in segs}
                   | {m.author for m in memos})
    ug = {u: det_guid("user", u) for u in users}

    root = etree.Element(f"{{{NS}}}Project", nsmap={None: NS})
    root.set("name", f"{cb.name} (version {cb.version})")
    root.set("origin", ORIGIN)
    if users:
        users_el = _el(root, "Users")
        for u in users:
            _el(users_el, "User", guid=ug[u], name=u)
    memo_by_code: dict[int, list[Memo]] = {}
    for m in memos:
        if m.code_id is not None:
            memo_by_code.setdefault(m.code_id, []).append(m)

    def add_code(parent: etree._Element, node: Any) -> None:
        c = codes[node.id]
        e = _el(parent, "Code", guid=c.guid, name=c.name, isCodable="true", color=c.colour)
        desc = encode_description(c.definition or "", c.inclusion or "", c.exclusion or "")
        if desc:
            _text(e, "Description", desc)
        for m in sorted(memo_by_code.get(c.id, []), key=lambda m: m.guid):
            _el(e, "NoteRef", targetGUID=m.guid)
        for child in node.children:
            add_code(e, child)

    tree = code_tree(session, actor, cb.id)
    if tree:
        codes_el = _el(_el(root, "CodeBook"), "Codes")
        for node in tree:
            add_code(codes_el, node)
    var_el = _el(root, "Variables")
    vg = {name: det_guid("variable", name) for name, _ in VARIABLES + CASE_VARIABLES}
    for name, kind in sorted(VARIABLES + CASE_VARIABLES):
        _el(var_el, "Variable", guid=vg[name], name=name, typeOfVariable=kind)
    cases: dict[str, list[Any]] = {}
    for i in infos:
        if i.participant_id is not None:
            cases.setdefault(i.participant_id, []).append(i)
    if cases:
        cases_el = _el(root, "Cases")
        for pid in sorted(cases):
            case = _el(cases_el, "Case", guid=det_guid("case", pid), name=pid)
            first = cases[pid][0]
            for name, value in (("age_band", _age_band(session, transcripts[first.id])), ("site", first.site_code)):
                vv = _el(case, "VariableValue")
                _el(vv, "VariableRef", targetGUID=vg[name])
                _text(vv, "TextValue", value or "")
            for i in sorted(cases[pid], key=lambda i: i.guid):
                _el(case, "SourceRef", targetGUID=i.guid)
    files: dict[str, str] = {}
    segs_by_t: dict[int, list[CodedSegment]] = {}
    for s in segs:
        segs_by_t.setdefault(s.transcript_id, []).append(s)
    if infos:
        src_el = _el(root, "Sources")
        for i in sorted(infos, key=lambda i: (i.title, i.guid)):
            t = transcripts[i.id]
            files[f"sources/{t.guid}.txt"] = t.text
            ts = _el(src_el, "TextSource", guid=t.guid, name=t.title, plainTextPath=f"internal://{t.guid}.txt",
                     creatingUser=ug[t.created_by or "unknown"], creationDateTime=iso(t.created_at))
            for s in sorted(segs_by_t.get(t.id, []), key=lambda s: (s.start, s.end, s.guid)):
                sel = _el(ts, "PlainTextSelection", guid=s.guid, startPosition=str(s.start), endPosition=str(s.end),
                          creatingUser=ug[s.coder], creationDateTime=iso(s.created_at))
                coding = _el(sel, "Coding", guid=det_guid("coding", s.guid), creatingUser=ug[s.coder],
                             creationDateTime=iso(s.created_at))
                _el(coding, "CodeRef", targetGUID=codes[s.code_id].guid)
            for m in sorted((m for m in memos if m.transcript_id == t.id), key=lambda m: m.guid):
                _el(ts, "NoteRef", targetGUID=m.guid)
            for name, kind in sorted(VARIABLES):
                value = {"pseudonymised": "true" if t.pseudonymised else "false", "source_format": t.source_format,
                         "speaker_role": t.speaker_role, "visit": i.visit_id}[name]
                if value is None:
                    continue
                vv = _el(ts, "VariableValue")
                _el(vv, "VariableRef", targetGUID=vg[name])
                _text(vv, "BooleanValue" if kind == "Boolean" else "TextValue", value)
    if memos:
        # QualCoder (src/qualcoder/refi.py, parse_notes / insert_annotation) keeps a Note only as a journal (a
        # name and a plainTextPath file) or, when a TextSource refers to it, as an annotation (PlainTextContent
        # and a PlainTextSelection); an inline-only Note is dropped. So each memo has both: its text inline and
        # as sources/<guid>.txt, a unique name, and a selection of its own text (QualCoder anchors it at the
        # start of the transcript).
        notes_el = _el(root, "Notes")
        for m in sorted(memos, key=lambda m: m.guid):
            files[f"sources/{m.guid}.txt"] = m.text
            about = (f"on {transcripts[m.transcript_id].title}" if m.transcript_id is not None else
                     f"on code {codes[m.code_id].name}" if m.code_id is not None else "on the project")
            n = _el(notes_el, "Note", guid=m.guid, name=f"memo {m.guid[:8]} {about} by {m.author}"[:200],
                    plainTextPath=f"internal://{m.guid}.txt", creatingUser=ug[m.author],
                    creationDateTime=iso(m.created_at))
            _text(n, "PlainTextContent", m.text)
            if m.transcript_id is not None:
                end = min(len(m.text), len(transcripts[m.transcript_id].text))
                _el(n, "PlainTextSelection", guid=det_guid("memo-anchor", m.guid), startPosition="0",
                    endPosition=str(end), creatingUser=ug[m.author], creationDateTime=iso(m.created_at))
    _text(root, "Description", f"securebase codebook: {cb.name}\nsecurebase codebook version: {cb.version}")
    for m in sorted((m for m in memos if m.transcript_id is None and m.code_id is None), key=lambda m: m.guid):
        _el(root, "NoteRef", targetGUID=m.guid)
    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    validate_qde(data)
    return data, files, {"sources": len(infos), "codes": len(codes), "selections": len(segs), "notes": len(memos)}


def _age_band(session: Any, t: Transcript) -> str | None:
    from securebase.store.tables import Participant

    p = session.get(Participant, t.participant_pk) if t.participant_pk else None
    return p.age_band if p else None


def write_qdpx(path: str | Path, qde: bytes, files: dict[str, str]) -> Path:
    """A deterministic zip: fixed entry dates and order (project.qde, then sources by name)."""
    p = Path(path)
    with zipfile.ZipFile(p, "w") as z:
        for name, data in [("project.qde", qde)] + [(k, files[k].encode("utf-8")) for k in sorted(files)]:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, data)
    return p


def export_qdpx(uow: Any, actor: Actor, codebook_id: int, path: str | Path) -> QdpxExport:
    """Export one codebook version with the transcripts, segments and memos the actor may see; audited."""
    qde, files, counts = build_qde(uow, actor, codebook_id)
    p = write_qdpx(path, qde, files)
    if hasattr(uow, "log_event"):
        uow.log_event("export_qdpx", table_name="codebooks", record_id=str(codebook_id), trial_id=actor.trial_id,
                      detail={"file": p.name, **counts})
    return QdpxExport(p, qde, counts["sources"], counts["codes"], counts["selections"], counts["notes"])
