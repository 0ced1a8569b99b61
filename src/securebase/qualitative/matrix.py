"""The framework matrix (Gale et al. 2013, BMC Med Res Methodol 13:117): participants x themes.

Themes are the top-level codes of one codebook version; segments coded with a sub-code count towards
its top-level theme. Each cell holds a summary and links to the coded segments behind it: the
researcher's own summary when a memo is attached to that theme code and one of the participant's
transcripts (the latest memo wins), otherwise an automatic digest of the coded excerpts.
Rows can be filtered by site, age band and, for roles that may see allocation only, by arm; blinded
roles (qualitative researchers among them) never get an arm column or filter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from securebase.cells import SafeWriter, xlsx_row
from securebase.errors import FieldError
from securebase.qualitative.access import READ_ROLES, as_session, require, require_arm_visible
from securebase.qualitative.codebook import code_tree, flatten, get_codebook
from securebase.qualitative.coding import segments
from securebase.store import UnitOfWork
from securebase.store.tables import Allocation, Memo, Participant, Transcript
from securebase.trial.roles import Actor

EXCERPT = 80


@dataclass(frozen=True)
class SegmentLink:
    segment_id: int
    transcript_id: int
    start: int
    end: int
    code: str
    coder: str
    excerpt: str

    def ref(self) -> str:
        return f"seg {self.segment_id} (transcript {self.transcript_id}, {self.start}-{self.end})"


@dataclass(frozen=True)
class Cell:
    summary: str
    links: tuple[SegmentLink, ...]
    from_memo: bool


@dataclass(frozen=True)
class MatrixRow:
    participant_id: str
    site: str
    age_band: str
    arm: str | None
    cells: dict[str, Cell]


@dataclass(frozen=True)
class FrameworkMatrix:
    codebook: str
    version: int
    themes: tuple[str, ...]
    rows: tuple[MatrixRow, ...]
    show_arm: bool
    filters: dict[str, Any] = field(default_factory=dict)

    def header(self) -> list[str]:
        return ["participant_id", "site", "age_band"] + (["arm"] if self.show_arm else []) + list(self.themes)

    def table(self) -> list[list[str]]:
        out = []
        for r in self.rows:
            base = [r.participant_id, r.site, r.age_band] + ([r.arm or ""] if self.show_arm else [])
            out.append(base + [_cell_text(r.cells.get(t)) for t in self.themes])
        return out

    def summary(self) -> str:
        return (f"framework matrix of codebook '{self.codebook}' v{self.version}: {len(self.rows)} participants x "
                f"{len(self.themes)} themes, {sum(len(c.links) for r in self.rows for c in r.cells.values())} "
                f"coded segments" + (f"; filters {self.filters}" if self.filters else ""))

    def to_dict(self) -> dict[str, Any]:
        return {"codebook": self.codebook, "version": self.version, "themes": list(self.themes),
                "show_arm": self.show_arm, "filters": self.filters,
                "rows": [{"participant_id": r.participant_id, "site": r.site, "age_band": r.age_band,
                          **({"arm": r.arm} if self.show_arm else {}),
                          "cells": {t: {"summary": c.summary, "from_memo": c.from_memo,
                                        "segments": [vars(link) for link in c.links]} for t, c in r.cells.items()}}
                         for r in self.rows]}

    def to_csv(self, path: str | Path) -> Path:
        p = Path(path)
        with p.open("w", newline="", encoding="utf-8") as fh:
            w = SafeWriter(fh)
            w.writerow(self.header())
            w.writerows(self.table())
        return p

    def to_xlsx(self, path: str | Path) -> Path:
        from openpyxl import Workbook
        from openpyxl.styles import Alignment, Font

        wb = Workbook()
        ws = wb.active
        ws.title = "Framework matrix"
        xlsx_row(ws, self.header())
        for c in ws[1]:
            c.font = Font(bold=True)
        for row in self.table():
            xlsx_row(ws, row)
        wrap = Alignment(wrap_text=True, vertical="top")
        for col_idx, _ in enumerate(self.header(), start=1):
            letter = ws.cell(row=1, column=col_idx).column_letter
            ws.column_dimensions[letter].width = 14 if col_idx <= 3 + self.show_arm else 48
            for cell in ws[letter][1:]:
                cell.alignment = wrap
        ws.freeze_panes = ws.cell(row=2, column=4 + self.show_arm)
        seg = wb.create_sheet("Coded segments")
        xlsx_row(seg, ["participant_id", "theme", "segment_id", "transcript_id", "start", "end", "code", "coder",
                       "excerpt"])
        for c in seg[1]:
            c.font = Font(bold=True)
        for r in self.rows:
            for t in self.themes:
                cell = r.cells.get(t)
                for link in cell.links if cell else ():
                    xlsx_row(seg, [r.participant_id, t, link.segment_id, link.transcript_id, link.start, link.end,
                                   link.code, link.coder, link.excerpt])
        wb.save(p := Path(path))
        return p


def _cell_text(cell: Cell | None) -> str:
    if cell is None or (not cell.links and not cell.from_memo):
        return ""
    refs = "; ".join(link.ref() for link in cell.links)
    return f"{cell.summary}\n[{refs}]" if refs else cell.summary


def _digest(links: list[SegmentLink]) -> str:
    transcripts = len({lk.transcript_id for lk in links})
    quotes = "; ".join(f"\u201c{lk.excerpt}\u201d ({lk.code})" for lk in links[:3])
    more = f"; and {len(links) - 3} more" if len(links) > 3 else ""
    return f"{len(links)} segment(s) from {transcripts} transcript(s): {quotes}{more}"


def framework_matrix(uow_or_session: Any, actor: Actor, codebook_id: int, *, site: str | None = None,
                     age_band: str | None = None, arm: str | None = None, show_arm: bool | None = None,
                     coders: list[str] | None = None) -> FrameworkMatrix:
    """Build the matrix for the participants the actor may see. ``arm`` (filter) and ``show_arm`` (column)
    need a role that may see allocation; ``show_arm`` defaults to that permission."""
    require(actor, READ_ROLES)
    session = as_session(uow_or_session)
    cb = get_codebook(session, actor, codebook_id)
    if arm is not None or show_arm:
        require_arm_visible(actor)
    show_arm = actor.can_see_allocation() if show_arm is None else show_arm
    if site is not None and not actor.can_reach_site(site):
        raise FieldError("site", site, "a site you can reach: " + ", ".join(sorted(actor.sites or [])))
    tree = code_tree(session, actor, codebook_id)
    theme_of: dict[int, str] = {}
    for top in tree:
        for n in flatten([top]):
            theme_of[n.id] = top.name
    themes = tuple(t.name for t in tree)
    stmt = select(Participant).where(Participant.trial_id == actor.trial_id, Participant.id.in_(
        select(Transcript.participant_pk).where(Transcript.trial_id == actor.trial_id)))
    if site is not None:
        stmt = stmt.where(Participant.site_code == site)
    if age_band is not None:
        stmt = stmt.where(Participant.age_band == age_band)
    participants = [p for p in session.execute(stmt).scalars().all() if actor.can_reach_site(p.site_code)]
    arms: dict[int, str] = {}
    if show_arm or arm is not None:
        arms = dict(session.execute(select(Allocation.participant_pk, Allocation.arm)
                                    .where(Allocation.trial_id == actor.trial_id)).all())
        if arm is not None:
            participants = [p for p in participants if arms.get(p.id) == arm]
    transcripts_of: dict[int, list[int]] = {}
    for tid, ppk in session.execute(select(Transcript.id, Transcript.participant_pk)
                                    .where(Transcript.trial_id == actor.trial_id)).all():
        if ppk is not None:
            transcripts_of.setdefault(ppk, []).append(tid)
    segs = segments(session, actor, codebook_id=cb.id, coders=coders)
    by_transcript: dict[int, list[Any]] = {}
    for s in segs:
        by_transcript.setdefault(s.transcript_id, []).append(s)
    memos = session.execute(select(Memo).where(Memo.trial_id == actor.trial_id, Memo.code_id.is_not(None),
                                               Memo.transcript_id.is_not(None))
                            .order_by(Memo.created_at, Memo.id)).scalars().all()
    rows = []
    for p in sorted(participants, key=lambda p: p.participant_id):
        tids = set(transcripts_of.get(p.id, []))
        cells: dict[str, Cell] = {}
        for theme in themes:
            links = [SegmentLink(s.id, s.transcript_id, s.start, s.end, s.code_name, s.coder,
                                 _short(s.text)) for tid in sorted(tids) for s in by_transcript.get(tid, [])
                     if theme_of.get(s.code_id) == theme]
            theme_ids = {cid for cid, th in theme_of.items() if th == theme and cid in {n.id for n in tree}}
            memo = [m for m in memos if m.transcript_id in tids and m.code_id in theme_ids]
            if memo:
                cells[theme] = Cell(memo[-1].text, tuple(links), True)
            elif links:
                cells[theme] = Cell(_digest(links), tuple(links), False)
        rows.append(MatrixRow(p.participant_id, p.site_code, p.age_band, arms.get(p.id) if show_arm else None, cells))
    filters = {k: v for k, v in (("site", site), ("age_band", age_band), ("arm", arm), ("coders", coders)) if v}
    return FrameworkMatrix(cb.name, cb.version, themes, tuple(rows), bool(show_arm), filters)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT else text[:EXCERPT - 1] + "\u2026"


def export_matrix(uow: UnitOfWork, actor: Actor, codebook_id: int, path: str | Path, **filters: Any) -> Path:
    """Write the matrix to ``path`` (.xlsx or .csv by suffix) and audit the export."""
    p = Path(path)
    if p.suffix.lower() not in (".xlsx", ".csv"):
        raise FieldError("output file", str(p), "a file name ending in .xlsx or .csv")
    m = framework_matrix(uow, actor, codebook_id, **filters)
    out = m.to_xlsx(p) if p.suffix.lower() == ".xlsx" else m.to_csv(p)  # escaped by securebase.cells
    uow.log_event("export_matrix", table_name="coded_segments", record_id=str(codebook_id),
                  trial_id=actor.trial_id, detail={"file": p.name, "participants": len(m.rows),
                                                   "themes": len(m.themes), "arm_shown": m.show_arm,
                                                   "filters": {k: v for k, v in m.filters.items()}})
    return out
