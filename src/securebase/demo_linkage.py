"""Demo step (issue 21): the demo's local authorities send SSDA903 returns, a CIN census file and school
records for the trial's children; securebase validates (DfE rules for SSDA903), links and derives outcomes.

The synthetic extracts follow the demo world: every child is looked after from before randomisation; the
hand-entered placement events become SSDA903 episodes (an unplanned ending is a move for a reason the protocol
declares unplanned; adoption or return home ends the episode with E11 / E4A), plus some planned moves (CARPL);
school periods repeat the 12-month school-record form where it was filled in and are drawn for the others (the
children whose visit was missed are exactly those linkage recovers).
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from securebase.linkage import link
from securebase.linkage.report import match_rates, render
from securebase.linkage.synthetic import (
    Child,
    Episode,
    cin_xml,
    collection_years,
    make_upn,
    school_csv,
    ssda903_return,
)
from securebase.store.crypto import new_key
from securebase.store.tables import Allocation, Event, Participant, Response, Visit
from securebase.trial.audit_view import actor_for

#: Each demo site stands for a real English authority code, so the DfE validator can place postcodes.
LA_CODES = {"LA01": "E06000001", "LA02": "E06000002", "LA03": "E06000003", "LA04": "E06000001", "LA05": "E06000002"}
UNPLANNED_REASONS = ("CREQB", "CREQO", "CHILD", "STAND")


def _children(session: Any, trial_id: str, rng: random.Random, today: date) -> tuple[dict[str, list[Child]], dict[str, str]]:
    parts = session.execute(select(Participant).where(Participant.trial_id == trial_id)
                            .order_by(Participant.participant_id)).scalars().all()
    r0 = dict(session.execute(select(Allocation.participant_pk, Allocation.allocated_on)
                              .where(Allocation.trial_id == trial_id)).all())
    events: dict[int, list[Event]] = {}
    for e in session.execute(select(Event).where(Event.trial_id == trial_id).order_by(Event.occurred_on)).scalars():
        events.setdefault(e.participant_pk, []).append(e)
    school: dict[int, dict[str, str]] = {}
    m12 = {v.id for v in session.execute(select(Visit).where(Visit.trial_id == trial_id, Visit.visit_id == "m12")).scalars()}
    for pk, vpk, item, value in session.execute(select(Response.participant_pk, Response.visit_pk, Response.item,
                                                       Response.value).where(Response.trial_id == trial_id,
                                                                             Response.instrument == "school_record",
                                                                             Response.entry == 1)).all():
        if vpk in m12 and value is not None:
            school.setdefault(pk, {})[item] = value
    by_site: dict[str, list[Child]] = {}
    pids: dict[str, str] = {}
    for n, p in enumerate(parts, start=1):
        if p.id not in r0:
            continue
        start = r0[p.id]
        dob = start - timedelta(days=int(float(p.age_years) * 365.25) + rng.randint(0, 300))
        c = Child(f"{p.site_code}C{n:05d}", "2" if p.sex == "female" else "1", dob,
                  make_upn(int(p.site_code[-2:]) + 200, 2000 + n % 50, dob.year + 5, n % 1000))
        decom = start - timedelta(days=rng.randint(60, 600))
        eps = [Episode(decom, "S", place="U1")]
        cuts: list[tuple[date, str]] = []
        if rng.random() < 0.2:  # a planned move in the care plan
            cuts.append((start + timedelta(days=rng.randint(20, 300)), "planned"))
        for e in events.get(p.id, []):
            if e.event_type in ("unplanned_placement_ending", "adoption_order", "return_home"):
                cuts.append((e.occurred_on, e.event_type))
        for d, kind in sorted(cuts):
            if d >= today or d <= eps[-1].decom:
                continue
            last = eps[-1]
            if kind in ("planned", "unplanned_placement_ending"):
                last.dec, last.rec = d, "X1"
                last.reason = "CARPL" if kind == "planned" else rng.choice(UNPLANNED_REASONS)
                eps.append(Episode(d, "P", place="U4" if last.place == "U1" else "U1"))
            else:
                if kind == "adoption_order" and (d - last.decom).days >= 4:
                    # DfE rule 390: an adoption ends a placement for adoption (A5, under a placement order E1)
                    mid = last.decom + timedelta(days=(d - last.decom).days // 2)
                    last.dec, last.rec, last.reason = mid, "X1", "CARPL"
                    last = Episode(mid, "T", ls="E1", place="A5")
                    eps.append(last)
                last.dec, last.rec = d, "E11" if kind == "adoption_order" else "E4A"
                break
        c.episodes = eps
        c.referrals = [{"referral": decom - timedelta(days=rng.randint(10, 60))}]
        form = school.get(p.id, {})
        s0 = start
        try:
            possible, attended = int(form["sessions_possible"]), int(form["sessions_attended"])
            susp = int(form.get("suspensions") or 0)
        except (KeyError, ValueError):
            possible = 380
            attended = int(possible * min(1.0, max(0.5, rng.gauss(0.91, 0.06))))
            susp = int(rng.random() < 0.15)
        if s0 + timedelta(days=364) < today:
            c.school = [{"start": s0, "end": s0 + timedelta(days=364), "possible": possible, "attended": attended,
                         "suspensions": susp}]
        by_site.setdefault(p.site_code, []).append(c)
        pids[c.child] = p.participant_id
    return by_site, pids


def run_linkage_demo(store: Any, trial_id: str, out: Path, *, seed: int = 1, console: Any = None,
                     user: str = "dm", key: str | None = None, today: date | None = None) -> dict[str, Any]:
    """Write, validate, import and link the demo's extracts; returns counts and the match-rate report."""
    key = key or new_key()
    today = today or date.today()
    rng = random.Random(seed)
    folder = Path(out) / "linkage"
    folder.mkdir(parents=True, exist_ok=True)
    with store.read() as s:
        dm = actor_for(s, user, trial_id)
        by_site, pids = _children(s, trial_id, rng, today)
    with store.unit_of_work(actor=user) as uow:
        for kids in by_site.values():
            for c in kids:
                link.register_identifiers(uow, dm, pids[c.child], key=key, la_child_id=c.child, upn=c.upn)
                given = min(e.decom for e in c.episodes) if c.episodes else today
                link.record_linkage_consent(uow, dm, pids[c.child], basis="consent",
                                            reference="demo linkage consent form 1.0 (carer and local authority)",
                                            sources=["ssda903", "cin", "school"], given_on=given)
        uow.commit()
    results: list[link.ImportResult] = []
    refusals: list[str] = []  # extracts the DfE validator refused (the synthetic generator still breaks a few rules)
    errors = 0
    for site, kids in sorted(by_site.items()):
        la = LA_CODES.get(site, "E06000001")
        first = min(e.decom for c in kids for e in c.episodes)
        for ys, ye in collection_years(first, today - timedelta(days=1)):
            end = min(ye, today - timedelta(days=1))
            files = ssda903_return(kids, ys, ye, la, as_at=end)
            tag = f"{site}_{ys.year}-{(ys.year + 1) % 100:02d}"
            for name, data in files.items():
                (folder / f"ssda903_{tag}_{name}").write_bytes(data)
            try:
                results.append(_import(store, dm, user, "ssda903", files, site, ys, end, key, la))
            except link.ExtractRefused as refused:  # the validator at work: the extract is refused whole
                refusals.append(f"{site} {ys.year}: {refused}")
        cin = cin_xml(kids, la_number=str(200 + int(site[-2:])), year=today.year, reference_date=today - timedelta(days=1))
        (folder / f"cin_{site}.xml").write_bytes(cin)
        results.append(_import(store, dm, user, "cin", {"cin.xml": cin}, site, first - timedelta(days=60),
                               today - timedelta(days=1), key, la))
        sch = school_csv(kids)
        (folder / f"school_{site}.csv").write_bytes(sch)
        results.append(_import(store, dm, user, "school", {"school.csv": sch}, site, first, today - timedelta(days=1),
                               key, la))
    errors = sum(len(r.validation.errors) for r in results)
    with store.read() as s:
        rates = match_rates(s, dm)
    summary = {"extracts": len(results), "ssda903_validator": next((r.validation.validator for r in results
                                                                    if r.source == "ssda903"), None),
               "ssda903_rules_run": max((len(r.validation.rules_run) for r in results if r.source == "ssda903"), default=0),
               "errors": errors, "records_linked": sum(r.records_linked for r in results), "rates": rates,
               "refused": refusals,
               "folder": str(folder)}
    if console is not None:
        console.print(f"Linkage: {len(results)} extracts (SSDA903 by collection year, CIN census, school records) in "
                      f"{folder}; {summary['ssda903_validator']}: {summary['ssda903_rules_run']} rules run, "
                      f"{errors} errors; {summary['records_linked']} records linked")
        for r in refusals:
            console.print(f"[yellow]Refused by the DfE validator, not imported:[/yellow] {r}", soft_wrap=True)
        console.print(render(rates), soft_wrap=True)
    return summary


def _import(store: Any, dm: Any, user: str, source: str, files: dict[str, bytes], site: str, start: date, end: date,
            key: str, la: str) -> link.ImportResult:
    with store.unit_of_work(actor=user) as uow:
        res = link.import_extract(uow, dm, source, files, site_code=site, period_start=start, period_end=end,
                                  extract_date=end, key=key, la_code=la)
        uow.commit()
    return res
