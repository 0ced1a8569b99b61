"""Match-rate report: how many participants each routine-record source reached.

Pooled figures are open to every reading role; by site and arm only for roles that may see allocation
(closed report). A participant counts as *linked* for a source when a current extract holds at least one of
their records; *consented* when a standing linkage consent names the source.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from securebase.linkage.link import SOURCES
from securebase.store.tables import Allocation, LinkageConsent, LinkageExtract, LinkedRecord, Participant
from securebase.trial import access
from securebase.trial.roles import Actor

KIND_SOURCE = {"episode": "ssda903", "adoption": "ssda903", "missing": "ssda903", "prev_perm": "ssda903",
               "cin_referral": "cin", "section47": "cin", "child_protection_plan": "cin", "school_period": "school"}


def match_rates(session: Session, actor: Actor) -> dict[str, Any]:
    access.require(actor, access.READ_ROLES, "reading the linkage match rates")
    tid = actor.trial_id
    parts = {p.id: p for p in session.execute(select(Participant).where(Participant.trial_id == tid)).scalars()
             if actor.can_reach_site(p.site_code)}
    alloc = {a.participant_pk: a.arm for a in session.execute(select(Allocation).where(Allocation.trial_id == tid)).scalars()}
    consent = {c.participant_pk: set(c.sources or []) for c in session.execute(select(LinkageConsent).where(
        LinkageConsent.trial_id == tid)).scalars() if c.withdrawn_on is None}
    current = {x.id: x for x in session.execute(select(LinkageExtract).where(
        LinkageExtract.trial_id == tid, LinkageExtract.status == "current")).scalars()}
    linked: dict[str, set[int]] = {s: set() for s in SOURCES}
    if current:
        for pk, kind in session.execute(select(LinkedRecord.participant_pk, LinkedRecord.kind).where(
                LinkedRecord.extract_pk.in_(list(current)))).all():
            linked[KIND_SOURCE.get(kind, "ssda903")].add(pk)

    def cell(pks: list[int], source: str) -> dict[str, Any]:
        n = len(pks)
        c = sum(1 for pk in pks if source in consent.get(pk, set()))
        k = sum(1 for pk in pks if pk in linked[source])
        return {"participants": n, "consented": c, "linked": k, "rate": round(k / c, 3) if c else None}

    randomised = [pk for pk in parts if pk in alloc]
    out: dict[str, Any] = {"pooled": {s: cell(randomised, s) for s in SOURCES},
                           "extracts": [{"id": x.id, "source": x.source, "site": x.site_code,
                                         "period": [x.period_start.isoformat(), x.period_end.isoformat()],
                                         "children": x.children_total, "matched": x.children_matched}
                                        for x in sorted(current.values(), key=lambda x: x.id)
                                        if actor.can_reach_site(x.site_code)]}
    if actor.can_see_allocation():
        groups: dict[tuple[str, str], list[int]] = {}
        for pk in randomised:
            groups.setdefault((parts[pk].site_code, alloc[pk]), []).append(pk)
        out["by_site_arm"] = [{"site": s, "arm": a, **{src: cell(pks, src) for src in SOURCES}}
                              for (s, a), pks in sorted(groups.items())]
    return out


def render(rates: dict[str, Any]) -> str:
    lines = ["Linkage match rates (linked / consented participants, current extracts)"]
    for src, c in rates["pooled"].items():
        rate = "n/a" if c["rate"] is None else f"{c['rate']:.1%}"
        lines.append(f"  {src:8} pooled: {c['linked']}/{c['consented']} consented linked ({rate}); "
                     f"{c['participants']} randomised")
    for row in rates.get("by_site_arm", []):
        parts = ", ".join(f"{s} {row[s]['linked']}/{row[s]['consented']}" for s in SOURCES)
        lines.append(f"  {row['site']} {row['arm']}: {parts}")
    for x in rates["extracts"]:
        lines.append(f"  extract {x['id']} {x['source']} {x['site']} {x['period'][0]}..{x['period'][1]}: "
                     f"{x['matched']} of {x['children']} children matched")
    return "\n".join(lines)
