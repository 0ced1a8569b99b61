"""Coded segments (a code applied by a coder to a character range of a transcript) and memos.

Offsets are 0-based Python string (Unicode code point) indices into the stored transcript text, end
exclusive, the same convention as REFI-QDA ``startPosition``/``endPosition`` on plain text.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from securebase.errors import FieldError, NotFound
from securebase.qualitative.access import CODING_ROLES, READ_ROLES, as_session, require, transcript_for
from securebase.qualitative.agreement import AgreementResult, CoderAgreement, Segment
from securebase.qualitative.codebook import get_codebook, resolve_code
from securebase.store import UnitOfWork
from securebase.store.tables import Code, Codebook, CodedSegment, Memo, Transcript
from securebase.trial.roles import Actor, Role


def check_range(t: Transcript, start: Any, end: Any) -> tuple[int, int]:
    """Refuse a range outside the text: the message names the value and the allowed range."""
    n = len(t.text)
    where = f"transcript {t.id} '{t.title}'"
    for label, v in (("segment start", start), ("segment end", end)):
        if isinstance(v, bool) or not isinstance(v, int):
            try:
                v = int(str(v))
            except ValueError:
                raise FieldError(label, v, f"a whole number of characters from 0 to {n}", where) from None
    start, end = int(start), int(end)
    if start < 0 or start >= n:
        raise FieldError("segment start", start, f"from 0 to {n - 1} (the text of {where} has {n} characters)",
                         "select text inside the transcript")
    if end > n:
        raise FieldError("segment end", end, f"at most {n}, the end of the text of {where} (allowed range 0 to {n})",
                         "the segment runs beyond the end of the text; select text inside the transcript")
    if end <= start:
        raise FieldError("segment end", end, f"greater than the start {start} (allowed range {start + 1} to {n})",
                         "select at least one character")
    return start, end


def check_code_in(session: Any, cb: Codebook, code: Code) -> None:
    """Refuse a code from another codebook (or another version of this one)."""
    if code.codebook_id == cb.id:
        return
    other = session.get(Codebook, code.codebook_id)
    allowed = session.execute(select(Code.id).where(Code.codebook_id == cb.id).order_by(Code.id)).scalars().all()
    span = f"ids {allowed[0]} to {allowed[-1]}" if allowed else "it has no codes yet"
    raise FieldError("code", f"{code.name} (id {code.id})",
                     f"a code of codebook '{cb.name}' version {cb.version} ({span})",
                     f"it belongs to codebook '{other.name}' version {other.version}; code with the version you "
                     "are coding against, or switch to that version")


def apply_code(uow: UnitOfWork, actor: Actor, codebook_id: int, transcript_id: int, code: int | str,
               start: Any, end: Any) -> CodedSegment:
    """The actor (as coder) applies ``code`` (id or name) of codebook version ``codebook_id`` to [start, end)."""
    require(actor, CODING_ROLES)
    uow.ensure_unlocked(actor.trial_id)
    session = uow.session
    cb = get_codebook(session, actor, codebook_id)
    t = transcript_for(session, actor, transcript_id)
    if isinstance(code, int) or (isinstance(code, str) and code.isdigit()):
        c = session.get(Code, int(code))
        if c is None or c.trial_id != actor.trial_id:
            raise FieldError("code", code, f"a code of codebook '{cb.name}' version {cb.version}",
                             "list the codes with `securebase qual codebook show`")
        check_code_in(session, cb, c)
    else:
        c = resolve_code(session, cb, code)
    s, e = check_range(t, start, end)
    seg = CodedSegment(trial_id=actor.trial_id, transcript_id=t.id, code_id=c.id, guid=str(uuid.uuid4()),
                       coder=actor.username, start=s, end=e)
    session.add(seg)
    session.flush()
    return seg


def remove_segment(uow: UnitOfWork, actor: Actor, segment_id: int) -> None:
    """Delete a coded segment (the unit of work needs a reason; only its coder or an administrator)."""
    require(actor, CODING_ROLES)
    seg = uow.session.get(CodedSegment, segment_id)
    if seg is None or seg.trial_id != actor.trial_id:
        raise NotFound(f"coded segment {segment_id} is not in trial '{actor.trial_id}'")
    transcript_for(uow.session, actor, seg.transcript_id)
    if seg.coder != actor.username and not actor.has(Role.administrator):
        raise FieldError("coded segment", segment_id, f"a segment coded by {actor.username}",
                         f"it was coded by {seg.coder}; only they or an administrator can remove it")
    uow.session.delete(seg)
    uow.session.flush()


@dataclass(frozen=True)
class SegmentView:
    id: int
    guid: str
    transcript_id: int
    code_id: int
    code_name: str
    coder: str
    start: int
    end: int
    text: str


def segments(uow_or_session: Any, actor: Actor, *, codebook_id: int | None = None,
             transcript_id: int | None = None, coders: list[str] | None = None) -> list[SegmentView]:
    """Coded segments the actor may read, ordered by transcript, start, end, code, coder."""
    require(actor, READ_ROLES)
    session = as_session(uow_or_session)
    stmt = (select(CodedSegment, Code, Transcript).join(Code, Code.id == CodedSegment.code_id)
            .join(Transcript, Transcript.id == CodedSegment.transcript_id)
            .where(CodedSegment.trial_id == actor.trial_id))
    if codebook_id is not None:
        stmt = stmt.where(Code.codebook_id == codebook_id)
    if transcript_id is not None:
        transcript_for(session, actor, transcript_id)
        stmt = stmt.where(CodedSegment.transcript_id == transcript_id)
    if coders:
        stmt = stmt.where(CodedSegment.coder.in_(coders))
    reachable: dict[int, bool] = {}
    out = []
    for seg, code, t in session.execute(stmt).all():
        if t.id not in reachable:
            try:
                transcript_for(session, actor, t.id)
                reachable[t.id] = True
            except NotFound:
                reachable[t.id] = False
        if reachable[t.id]:
            out.append(SegmentView(seg.id, seg.guid, t.id, code.id, code.name, seg.coder, seg.start, seg.end,
                                   t.text[seg.start:seg.end]))
    return sorted(out, key=lambda s: (s.transcript_id, s.start, s.end, s.code_name, s.coder, s.guid))


def add_memo(uow: UnitOfWork, actor: Actor, text: str, *, transcript_id: int | None = None,
             code_id: int | None = None) -> Memo:
    """A memo on a transcript, a code, both (a framework-matrix cell summary when the code is a theme), or
    the project."""
    require(actor, CODING_ROLES)
    uow.ensure_unlocked(actor.trial_id)
    if not text.strip():
        raise FieldError("memo", text, "some text")
    if transcript_id is not None:
        transcript_for(uow.session, actor, transcript_id)
    if code_id is not None:
        c = uow.session.get(Code, code_id)
        if c is None or c.trial_id != actor.trial_id:
            raise NotFound(f"code {code_id} is not in trial '{actor.trial_id}'")
    m = Memo(trial_id=actor.trial_id, transcript_id=transcript_id, code_id=code_id, guid=str(uuid.uuid4()),
             author=actor.username, text=text)
    uow.session.add(m)
    uow.session.flush()
    return m


def coder_agreement(uow_or_session: Any, actor: Actor, codebook_id: int, *, unit: str = "character",
                    coders: list[str] | None = None, alpha: float = 0.05) -> AgreementResult:
    """Percentage agreement and Cohen's kappa per code (by code path) of one codebook version, pairwise
    between ``coders`` (default: everyone who coded), on the transcripts each pair both coded."""
    from securebase.qualitative.codebook import code_tree, flatten

    session = as_session(uow_or_session)
    get_codebook(session, actor, codebook_id)
    paths = {n.id: n.path for n in flatten(code_tree(session, actor, codebook_id))}
    segs = segments(session, actor, codebook_id=codebook_id, coders=coders)
    texts = {str(tid): transcript_for(session, actor, tid).text for tid in sorted({s.transcript_id for s in segs})}
    data = [Segment(str(s.transcript_id), paths[s.code_id], s.coder, s.start, s.end) for s in segs]
    return CoderAgreement(unit, alpha).fit(texts, data, coders=coders, codes=sorted({d.code for d in data}))
