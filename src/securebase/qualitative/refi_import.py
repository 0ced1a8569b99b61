"""Import a REFI-QDA project (.qdpx) into a trial: a new codebook version, its codes, the text sources
as transcripts, their coded segments and the memos. GUIDs, names, positions, users and timestamps are
kept, so exporting the imported project gives the same ``project.qde`` byte for byte.

Cases are matched to participants by name (the participant ID); a matched participant needs a given
qualitative consent, as for any transcript import. A text source with no case, or whose case is not a
participant, is never given a participant or a role by guesswork: the import is refused with the list of
such sources unless the user assigns each one (``assign``: source name or GUID -> a participant ID, or
``practitioner`` for an interview with no participant). Only text sources are imported (pictures, PDFs,
audio and video are listed in the warnings). The file is validated against the official schema first.

Pseudonymisation is offered on import (``pseudonymise_with``, the user's list, plus the identifier
record of each matched participant when ``use_identifier_record`` and a key are available), with coded
segments moved to the replaced text. The file's own ``pseudonymised`` variable is not trusted: a source
is marked pseudonymised only when securebase ran its pseudonymisation terms over it on this import, and a
source the file calls pseudonymised that was not is listed in the warnings.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from lxml import etree
from sqlalchemy import select

from securebase.errors import ConflictError, DataError, NotFound
from securebase.qualitative.access import EXCHANGE_ROLES, participant_for, require
from securebase.qualitative.codebook import create_codebook
from securebase.qualitative.coding import check_range
from securebase.qualitative.pseudonymise import Flag, parse_user_terms, pseudonymise
from securebase.qualitative.readers import decode_text, normalise
from securebase.qualitative.refi import NS, decode_description, parse_iso, validate_qde
from securebase.qualitative.transcripts import _identifier_terms, qualitative_consent
from securebase.store import UnitOfWork
from securebase.store.tables import Code, CodedSegment, Memo, Transcript, Visit
from securebase.trial.roles import Actor

Q = f"{{{NS}}}"
_GUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")


@dataclass(frozen=True)
class QdpxImport:
    codebook_id: int
    codebook: str
    version: int
    codes: int
    transcripts: int
    segments: int
    memos: int
    warnings: tuple[str, ...]
    pseudonymised: int = 0
    replacements: int = 0

    def summary(self) -> str:
        lines = [f"imported codebook '{self.codebook}' version {self.version} ({self.codes} codes), "
                 f"{self.transcripts} transcripts, {self.segments} coded segments, {self.memos} memos"
                 + (f"; {self.pseudonymised} transcripts pseudonymised ({self.replacements} names and places replaced)"
                    if self.pseudonymised else "")]
        return "\n".join(lines + [f"warning: {w}" for w in self.warnings])


def _read_zip(path: Path) -> tuple[bytes, zipfile.ZipFile]:
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"file '{path.name}' is not a REFI-QDA project (.qdpx zip): {exc}") from None
    names = z.namelist()
    if "project.qde" not in names:
        raise DataError(f"file '{path.name}' has no project.qde; it holds: {', '.join(names[:5])}")
    return z.read("project.qde"), z


def _source_text(z: zipfile.ZipFile, ts: etree._Element, path_name: str) -> str:
    content = ts.find(f"{Q}PlainTextContent")
    if content is not None:
        return normalise(content.text or "")
    ref = ts.get("plainTextPath")
    if not ref or not ref.startswith("internal://"):
        raise DataError(f"{path_name}: text source '{ts.get('name')}' ({ts.get('guid')}) refers to {ref!r}, which "
                        "is not inside the project; export it again with the sources included")
    member = "sources/" + ref[len("internal://"):]
    try:
        data = z.read(member)
    except KeyError:
        raise DataError(f"{path_name}: source file '{member}' of '{ts.get('name')}' is missing from the zip") from None
    text, _ = decode_text(data, member)
    return text


def _variables(root: etree._Element, el: etree._Element) -> dict[str, str]:
    names = {v.get("guid"): v.get("name") for v in root.iter(f"{Q}Variable")}
    out = {}
    for vv in el.findall(f"{Q}VariableValue"):
        ref = vv.find(f"{Q}VariableRef")
        value = next((c.text or "" for c in vv if c.tag != f"{Q}VariableRef"), "")
        out[names.get(ref.get("targetGUID"), "")] = value
    return out


def _guid(g: str | None) -> str:
    return (g or "").strip("{}").lower()


def shift_positions(flags: Iterable[Flag]) -> Callable[[int, bool], int]:
    """Where a position of the original text lands after ``flags`` are replaced by ``[TAG]``; a start inside
    a replaced term moves to the start of its tag, an end inside one to the end of its tag."""
    spans = sorted((f.start, f.end, len(f.tag) + 2) for f in flags)

    def move(pos: int, is_end: bool) -> int:
        delta = 0
        for start, end, width in spans:
            if pos >= end:
                delta += width - (end - start)
            elif pos > start:
                return start + delta + (width if is_end else 0)
            else:
                break
        return pos + delta

    return move


def _unassigned(root: etree._Element, case_of_source: dict[str, str], matched: set[str],
                assign: Mapping[str, str]) -> list[str]:
    out = []
    for ts in root.findall(f"{Q}Sources/{Q}TextSource"):
        guid, name = _guid(ts.get("guid")), ts.get("name") or ""
        case = case_of_source.get(guid)
        if (case is None or case not in matched) and guid not in assign and name not in assign:
            out.append(f"'{name}' ({guid}): " + (f"case '{case}' is not a participant" if case else "no case"))
    return out


def import_qdpx(uow: UnitOfWork, actor: Actor, path: str | Path, *, codebook_name: str | None = None,  # noqa: C901
                assign: Mapping[str, str] | None = None,
                pseudonymise_with: Iterable[str] | Mapping[str, str] | None = None,
                use_identifier_record: bool = False, encryption_key: str | None = None) -> QdpxImport:
    """Import ``path`` into the actor's trial (see module docstring). Refuses GUIDs already in the store."""
    require(actor, EXCHANGE_ROLES)
    assign = {(_guid(k) if _GUID.fullmatch(k.strip("{}")) else k): v.strip() for k, v in (assign or {}).items()}
    user_terms = parse_user_terms(pseudonymise_with) if pseudonymise_with else {}
    uow.ensure_unlocked(actor.trial_id)
    p = Path(path)
    qde, z = _read_zip(p)
    root = validate_qde(qde, f"{p.name}/project.qde")
    session = uow.session
    warnings: list[str] = []
    users = {u.get("guid"): (u.get("name") or u.get("id") or _guid(u.get("guid"))) for u in root.iter(f"{Q}User")}

    def user(g: str | None) -> str:
        return users.get(g, "imported") if g else "imported"

    desc = root.find(f"{Q}Description")
    meta = dict(line.split(": ", 1) for line in (desc.text or "").splitlines() if ": " in line) if desc is not None else {}
    name = codebook_name or meta.get("securebase codebook") or root.get("name")
    version = int(meta["securebase codebook version"]) if "securebase codebook version" in meta and not codebook_name \
        else None
    cb = create_codebook(uow, actor, name, version=version)

    all_guids = [_guid(e.get("guid")) for e in root.iter(f"{Q}Code", f"{Q}TextSource", f"{Q}PlainTextSelection",
                                                            f"{Q}Note")]
    for model in (Code, Transcript, CodedSegment, Memo):
        clash = session.execute(select(model.guid).where(model.guid.in_(all_guids))).scalars().first()
        if clash:
            raise ConflictError(f"{p.name}: GUID {clash} is already in this store ({model.__tablename__}); "
                                "the project was imported before. Import it into another store or trial")
    code_by_guid: dict[str, Code] = {}

    def add_codes(parent_el: etree._Element, parent: Code | None) -> None:
        for ce in parent_el.findall(f"{Q}Code"):
            d = ce.find(f"{Q}Description")
            definition, inclusion, exclusion = decode_description(d.text or "" if d is not None else "")
            colour = ce.get("color")
            if colour and len(colour) == 4:
                colour = "#" + "".join(ch * 2 for ch in colour[1:])
            c = Code(trial_id=actor.trial_id, codebook_id=cb.id, parent_id=parent.id if parent else None,
                     guid=_guid(ce.get("guid")), name=ce.get("name"), definition=definition, inclusion=inclusion,
                     exclusion=exclusion, colour=colour)
            session.add(c)
            session.flush()
            code_by_guid[c.guid] = c
            add_codes(ce, c)

    codes_el = root.find(f"{Q}CodeBook/{Q}Codes")
    if codes_el is not None:
        add_codes(codes_el, None)
    case_of_source: dict[str, str] = {}
    for case in root.iter(f"{Q}Case"):
        for sr in case.findall(f"{Q}SourceRef"):
            case_of_source[_guid(sr.get("targetGUID"))] = case.get("name") or ""
    matched: set[str] = set()
    for case_name in set(case_of_source.values()):
        try:
            participant_for(session, actor, case_name)
            matched.add(case_name)
        except NotFound:
            pass
    missing = _unassigned(root, case_of_source, matched, assign)
    if missing:
        raise DataError(f"{p.name}: {len(missing)} text source(s) have no participant: {'; '.join(missing)}. "
                        "securebase does not guess who an interview is with: assign each one (command line: "
                        "--assign '<source name>=<participant ID>' or --assign '<source name>=practitioner'), or "
                        "add the participant as the source's case in the QDA program and export again")
    transcript_by_guid: dict[str, Transcript] = {}
    n_segments = n_pseudo = n_replaced = 0
    for kind in ("PictureSource", "PDFSource", "AudioSource", "VideoSource"):
        n = len(root.findall(f"{Q}Sources/{Q}{kind}"))
        if n:
            warnings.append(f"{n} {kind} element(s) not imported: only text sources are supported")
    for ts in root.findall(f"{Q}Sources/{Q}TextSource"):
        guid = _guid(ts.get("guid"))
        text = _source_text(z, ts, p.name)
        var = _variables(root, ts)
        case_name = case_of_source.get(guid)
        participant = visit = None
        given = assign.get(guid, assign.get(ts.get("name") or ""))
        if case_name in matched:
            participant = participant_for(session, actor, case_name)
        elif given is not None and given != "practitioner":
            participant = participant_for(session, actor, given)
            case_name = given
        if participant is not None:
            qualitative_consent(session, participant)
            if var.get("visit"):
                visit = session.execute(select(Visit).where(Visit.participant_pk == participant.id,
                                                            Visit.visit_id == var["visit"])).scalar_one_or_none()
                if visit is None:
                    warnings.append(f"visit '{var['visit']}' of {case_name} not found; '{ts.get('name')}' kept "
                                    "without a visit")
        if participant is None:
            role = "practitioner"  # assigned so by the user (a source with no participant is refused above)
        else:
            role = var.get("speaker_role") if var.get("speaker_role") in ("carer", "child") else "carer"
        terms: dict[str, dict[str, str]] = {}
        if participant is not None and use_identifier_record:
            found, warning = _identifier_terms(session, participant, encryption_key)
            if warning:
                warnings.append(warning)
            if found:
                terms["identifier_record"] = found
        if user_terms:
            terms["user_list"] = user_terms
        move: Callable[[int, bool], int] = lambda pos, _end: pos  # noqa: E731
        pseudo = pseudonymise(text, terms) if terms else None
        if pseudo is not None:
            n_pseudo += 1
            n_replaced += pseudo.total
            if pseudo.total:
                text, move = pseudo.text, shift_positions(pseudo.flags)
        claimed = var.get("pseudonymised", "false").lower() in ("true", "1")
        if claimed and pseudo is None:
            warnings.append(f"'{ts.get('name')}' says it is pseudonymised; securebase did not check that, so it is "
                            "marked not pseudonymised: import it again with pseudonymisation terms, or review it")
        t = Transcript(trial_id=actor.trial_id, participant_pk=participant.id if participant else None,
                       visit_pk=visit.id if visit else None, guid=guid, speaker_role=role,
                       title=(ts.get("name") or guid)[:200], text=text, source_format=var.get("source_format") or "qdpx",
                       pseudonymised=pseudo is not None,
                       created_by=user(ts.get("creatingUser")))
        created = parse_iso(ts.get("creationDateTime"))
        if created:
            t.created_at = created
        session.add(t)
        session.flush()
        transcript_by_guid[guid] = t
        if pseudo is not None and pseudo.total:
            uow.log_event("pseudonymise", table_name="transcripts", record_id=str(t.id), trial_id=actor.trial_id,
                          participant_id=participant.participant_id if participant else None,
                          detail={**pseudo.to_dict(), "source": "qdpx import", "user_terms": len(user_terms)})
        for sel in ts.findall(f"{Q}PlainTextSelection"):
            raw_start, raw_end = sel.get("startPosition"), sel.get("endPosition")
            if raw_start is not None and raw_end is not None and raw_start.isdigit() and raw_end.isdigit():
                raw_start, raw_end = str(move(int(raw_start), False)), str(move(int(raw_end), True))
            start, end = check_range(t, raw_start, raw_end)
            codings = sel.findall(f"{Q}Coding")
            for i, coding in enumerate(codings):
                cg = _guid(coding.find(f"{Q}CodeRef").get("targetGUID"))
                if cg not in code_by_guid:
                    raise DataError(f"{p.name}: selection {sel.get('guid')} in '{t.title}' is coded with code {cg}, "
                                    "which is not in the project's codebook")
                seg = CodedSegment(trial_id=actor.trial_id, transcript_id=t.id, code_id=code_by_guid[cg].id,
                                   guid=_guid(sel.get("guid")) if i == 0 else _guid(coding.get("guid")),
                                   coder=user(coding.get("creatingUser") or sel.get("creatingUser")), start=start,
                                   end=end)
                ts_created = parse_iso(coding.get("creationDateTime") or sel.get("creationDateTime"))
                if ts_created:
                    seg.created_at = ts_created
                session.add(seg)
                n_segments += 1
        session.flush()
    note_targets: dict[str, tuple[Transcript | None, Code | None]] = {}
    for g, source in transcript_by_guid.items():
        ts = next(e for e in root.findall(f"{Q}Sources/{Q}TextSource") if _guid(e.get("guid")) == g)
        for nr in ts.findall(f"{Q}NoteRef"):
            note_targets[_guid(nr.get("targetGUID"))] = (source, None)
    for ce in root.iter(f"{Q}Code"):
        for nr in ce.findall(f"{Q}NoteRef"):
            key = _guid(nr.get("targetGUID"))
            note_targets[key] = (note_targets.get(key, (None, None))[0], code_by_guid[_guid(ce.get("guid"))])
    n_memos = 0
    for note in root.findall(f"{Q}Notes/{Q}Note"):
        g = _guid(note.get("guid"))
        target, c = note_targets.get(g, (None, None))
        content = note.find(f"{Q}PlainTextContent")
        body = normalise(content.text or "") if content is not None else _source_text(z, note, p.name)
        m = Memo(trial_id=actor.trial_id, transcript_id=target.id if target else None, code_id=c.id if c else None, guid=g,
                 author=user(note.get("creatingUser")), text=body)
        created = parse_iso(note.get("creationDateTime"))
        if created:
            m.created_at = created
        session.add(m)
        n_memos += 1
    session.flush()
    uow.log_event("import_qdpx", table_name="codebooks", record_id=str(cb.id), trial_id=actor.trial_id,
                  detail={"file": p.name, "codes": len(code_by_guid), "transcripts": len(transcript_by_guid),
                          "segments": n_segments, "memos": n_memos, "warnings": len(warnings),
                          "assigned": len(assign), "pseudonymised": n_pseudo, "replacements": n_replaced})
    return QdpxImport(cb.id, cb.name, cb.version, len(code_by_guid), len(transcript_by_guid), n_segments, n_memos,
                      tuple(warnings), n_pseudo, n_replaced)


__all__ = ["QdpxImport", "import_qdpx", "shift_positions"]
