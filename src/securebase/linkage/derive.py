"""The linked view the analysis datasets read: current (not superseded) extracts, their coverage, and the
linked records of participants whose linkage consent stands."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from securebase.store.tables import LinkageConsent, LinkageExtract, LinkageIdentifier, LinkedRecord

#: Which identifier links which source.
SOURCE_IDENTIFIER = {"ssda903": "la_child_id", "cin": "la_child_id", "school": "upn"}


@dataclass
class LinkedView:
    records: dict[int, list[LinkedRecord]] = field(default_factory=dict)
    #: (site, source) -> merged [start, end] intervals observed by current extracts (end = min(period end, extract date)).
    coverage: dict[tuple[str, str], list[tuple[date, date]]] = field(default_factory=dict)
    #: participant pk -> sources the participant can be linked for (consent standing and identifier held).
    linkable: dict[int, set[str]] = field(default_factory=dict)

    def observed_until(self, pk: int, site: str, source: str, start: date) -> date | None:
        """The last day of the observed interval holding ``start`` for this child and source, or None."""
        if source not in self.linkable.get(pk, set()):
            return None
        for a, b in self.coverage.get((site, source), []):
            if a <= start <= b:
                return b
        return None


def _merge(intervals: list[tuple[date, date]]) -> list[tuple[date, date]]:
    out: list[tuple[date, date]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1] + timedelta(days=1):
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def linked_view(session: Session, trial_id: str, *, as_of: date | None = None) -> LinkedView:
    view = LinkedView()
    extracts = {x.id: x for x in session.execute(select(LinkageExtract).where(
        LinkageExtract.trial_id == trial_id, LinkageExtract.status == "current")).scalars()
        if as_of is None or x.extract_date <= as_of}
    raw: dict[tuple[str, str], list[tuple[date, date]]] = {}
    for x in extracts.values():
        raw.setdefault((x.site_code, x.source), []).append((x.period_start, min(x.period_end, x.extract_date)))
    view.coverage = {k: _merge(v) for k, v in raw.items()}
    consents = {c.participant_pk: c for c in session.execute(select(LinkageConsent).where(
        LinkageConsent.trial_id == trial_id)).scalars()
        if c.withdrawn_on is None or (as_of is not None and c.withdrawn_on > as_of)}
    kinds: dict[int, set[str]] = {}
    for pk, kind in session.execute(select(LinkageIdentifier.participant_pk, LinkageIdentifier.kind).where(
            LinkageIdentifier.trial_id == trial_id)).all():
        kinds.setdefault(pk, set()).add(kind)
    for pk, c in consents.items():
        view.linkable[pk] = {s for s in (c.sources or []) if SOURCE_IDENTIFIER.get(s) in kinds.get(pk, set())}
    if extracts:
        for r in session.execute(select(LinkedRecord).where(LinkedRecord.trial_id == trial_id,
                                                            LinkedRecord.extract_pk.in_(list(extracts)))
                                 .order_by(LinkedRecord.starts_on, LinkedRecord.id)).scalars():
            if r.participant_pk in view.linkable:
                view.records.setdefault(r.participant_pk, []).append(r)
    return view
