"""Analysis datasets from the store: the participants, visits and resource-use frames of
:mod:`securebase.analysis.schema`, the same frames the trial simulator produces.

This is the one module through which analysis reads the store. Rules:

- one row per randomised participant (an allocation exists); pseudonymous trial IDs only, never an
  identifier (the identifiers table is not read);
- the allocation columns (``arm``, ``treat``, ``therapist``, ``sessions_offered``, ``sessions_attended``,
  ``complier``) are present only when the actor may see allocation; a blinded actor gets the frames
  without them (pooled analyses, blinded data review);
- a data cut ``as_of`` (default: no cut) keeps only what was known on that date: children randomised,
  visits completed, events, sessions and resource-use periods ended on or before it (an interim report);
- a participant who withdrew from further data use contributes only what was collected before the
  withdrawal date (visits completed on or before it; events on or before it);
- scored outcomes come from the ``scores`` table: SDQ parent scales, RPQ total, Kerns security, blinded
  sensitivity coding, CHU9D utility (child) and EQ-5D-5L utility (carer), and the SDQ of the other informants
  (``sdq_teacher_*``, ``sdq_self_*``); a score of an instrument outside its age range for the child's age at
  the visit (Kerns before 8, SDQ self-report before 11) is left out;
- ``<family>_respondent_<month>`` says who reported each SDQ: ``carer`` (the carer at randomisation),
  ``new_carer`` (another carer, after a placement move), ``teacher`` or ``child``;
- outcomes from routine records follow the protocol's declared ``derivations`` (never the trial id), from
  the source the protocol names primary (``linked``: linked SSDA903 / CIN census / school records, with
  hand-entered events and forms filling gaps; ``hand_entered``: research-team entries only); the other source is
  the sensitivity analysis (``source=``);
- placement disruption is time to the first unplanned placement ending (event 1: an unplanned reason for
  placement change or episode ending, as the protocol's mapping says, or a hand-entered unplanned ending) or to a
  competing event (adoption or special guardianship order, return home; event 2), censored (event 0) at the
  extract date (the end of the linked SSDA903 coverage, else the data cut) or on leaving the authority's care,
  never at the last research visit;
- school outcomes at 12 months come from linked school records over the first year (attendance, suspensions,
  permanent exclusion, key stage 2 mean scaled score and Attainment 8 at the key stage reached), else from the
  12-month school record form;
- ongoing maltreatment (``maltreatment_12``): 1 when a counted event (re-referral, section 47 enquiry, child
  protection plan, substantiated maltreatment, entry to care, as declared) happens within the window after
  randomisation, in linked records, hand-entered events or the 12-month administrative form; 0 when none did and
  the window was observed, by linked records covering it (whether or not the research visit happened) or by the
  completed 12-month administrative form; else missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from securebase.analysis import schema
from securebase.store.tables import (
    Allocation,
    Event,
    InterventionSession,
    LinkedRecord,
    Participant,
    PersonLink,
    ResourceUse,
    Response,
    Score,
    Trial,
    Visit,
    Withdrawal,
)
from securebase.trial import access
from securebase.trial.roles import Actor

#: (instrument, scale) -> analysis outcome name.
OUTCOME_MAP: dict[tuple[str, str], str] = {
    ("sdq_parent", "total"): "sdq_total", ("sdq_parent", "emotional"): "sdq_emotional",
    ("sdq_parent", "conduct"): "sdq_conduct", ("sdq_parent", "hyperactivity"): "sdq_hyperactivity",
    ("sdq_parent", "peer"): "sdq_peer", ("sdq_parent", "prosocial"): "sdq_prosocial",
    ("rpq", "total"): "rpq_total", ("kerns", "security"): "kerns_mean", ("kerns", "mean"): "kerns_mean",
    ("sensitivity_coding", "sensitivity"): "sensitivity", ("chu9d", "utility"): "utility",
    ("eq5d_5l", "utility"): "carer_utility",
    **{(inst, scale): f"{inst}_{scale}" for inst in ("sdq_teacher", "sdq_self")
       for scale in ("total", "emotional", "conduct", "hyperactivity", "peer", "prosocial")},
}
ALLOCATION_COLUMNS = ("arm", "treat", "therapist", "sessions_offered", "sessions_attended", "complier")
FOLLOW_UP_DAYS = 365
#: maltreatment_record form scales (12-month administrative form) for each record code.
RECORD_SCALES = {"re_referral": "re_referral", "child_protection_plan": "child_protection_plan",
                 "section_47_enquiry": "section_47_enquiry", "substantiated_maltreatment": "substantiated_maltreatment",
                 "entry_to_care": "entry_to_care"}
#: Linked-record kind -> the source it comes from.
LINKED_SOURCE = {"cin_referral": "cin", "section47": "cin", "child_protection_plan": "cin", "entry_to_care": "ssda903"}
ATTAINMENT_ITEMS = ("ks2_reading", "ks2_maths", "ks4_attainment8")


@dataclass(frozen=True)
class TrialDatasets:
    participants: pd.DataFrame
    visits: pd.DataFrame
    resource_use: pd.DataFrame
    blinded: bool

    def summary(self) -> str:
        return (f"{len(self.participants)} participants, {len(self.visits)} visit rows, "
                f"{len(self.resource_use)} resource-use rows ({'blinded: no allocation columns' if self.blinded else 'with allocation'})")

    def to_dict(self) -> dict[str, Any]:
        return {"participants": len(self.participants), "visits": len(self.visits),
                "resource_use": len(self.resource_use), "blinded": self.blinded}


def _cutoffs(session: Session, trial_id: str) -> dict[int, date]:
    rows = session.execute(select(Withdrawal.participant_pk, Withdrawal.withdrawn_on).where(
        Withdrawal.trial_id == trial_id, Withdrawal.level == "data_use")).all()
    return {pk: d for pk, d in rows}


def extract_datasets(session: Session, actor: Actor, *, as_of: date | None = None,
                     source: str | None = None) -> TrialDatasets:
    """The three analysis frames of the actor's trial (sites the actor can reach), at the data cut ``as_of``.

    ``source`` chooses where routine-record outcomes come from: ``linked`` or ``hand_entered``; by default the
    source the protocol's ``derivations`` name primary (hand-entered when the protocol declares none)."""
    access.require(actor, access.READ_ROLES | {access.Role.health_economist, access.Role.dmc_member},
                   "extracting analysis datasets")
    trial_id = actor.trial_id
    protocol = access.protocol_of(session, trial_id)
    deriv = protocol.derivations
    if source is None:
        source = deriv.primary_source if deriv is not None else "hand_entered"
    if source not in ("linked", "hand_entered"):
        from securebase.errors import FieldError
        raise FieldError("source", source, "'linked' or 'hand_entered'")
    unblinded = actor.can_see_allocation()
    alloc = {a.participant_pk: a for a in session.execute(select(Allocation).where(Allocation.trial_id == trial_id)).scalars()
             if as_of is None or a.allocated_on <= as_of}
    parts = [p for p in session.execute(select(Participant).where(Participant.trial_id == trial_id)
                                        .order_by(Participant.participant_id)).scalars()
             if p.id in alloc and actor.can_reach_site(p.site_code)]
    cut = _cutoffs(session, trial_id)
    months = {v.id: v.month for v in protocol.visits}
    visits = [v for v in session.execute(select(Visit).where(Visit.trial_id == trial_id)).scalars()]
    vmap = {v.id: v for v in visits}
    def usable(pk: int, d: date | None) -> bool:
        return d is not None and (pk not in cut or d <= cut[pk]) and (as_of is None or d <= as_of)
    done = {v.id for v in visits if v.status in ("completed", "partial") and usable(v.participant_pk, v.completed_on)}
    scores: dict[tuple[int, str, int], float] = {}
    extra: dict[tuple[int, str, int], float] = {}
    forms: set[tuple[int, int]] = set()
    by_pk = {p.id: p for p in parts}
    carers = _carer_links(session, trial_id)
    family = {inst: fam for fam, inst in schema.RESPONDENT_FAMILIES.items()}
    respondents: dict[tuple[int, str, int], str] = {}
    for s in session.execute(select(Score).where(Score.trial_id == trial_id)).scalars():
        if s.visit_pk not in done or s.value is None:
            continue
        v = vmap[s.visit_pk]
        m = months.get(v.visit_id)
        p = by_pk.get(s.participant_pk)
        if p is not None and v.completed_on is not None and not _age_ok(s.instrument, p, v.completed_on):
            continue
        name = OUTCOME_MAP.get((s.instrument, s.scale))
        if name is not None and m is not None:
            scores[(s.participant_pk, name, m)] = s.value
            if s.instrument in family and s.scale == "total":
                who = s.respondent
                if who == "carer" and p is not None and v.completed_on is not None:
                    r0 = alloc[p.id].allocated_on
                    first, now = _carer_on(carers, p.id, r0), _carer_on(carers, p.id, v.completed_on)
                    if first is not None and now is not None and first != now:
                        who = "new_carer"
                respondents[(s.participant_pk, family[s.instrument], m)] = who
        elif s.instrument in ("school_record", "maltreatment_record") and m is not None:
            extra[(s.participant_pk, s.scale, m)] = max(s.value, extra.get((s.participant_pk, s.scale, m), s.value))
            if s.instrument == "maltreatment_record":
                forms.add((s.participant_pk, m))
    items: dict[tuple[int, str, int], float] = {}
    for pk, vpk, item, value in session.execute(select(Response.participant_pk, Response.visit_pk, Response.item,
                                                       Response.value).where(
            Response.trial_id == trial_id, Response.instrument == "school_record",
            Response.item.in_(ATTAINMENT_ITEMS), Response.entry == 1)).all():
        m = months.get(vmap[vpk].visit_id) if vpk in vmap else None
        if vpk in done and m is not None and value not in (None, ""):
            try:
                items[(pk, item, m)] = float(value)
            except ValueError:
                continue
    linked = None
    if source == "linked" and deriv is not None:
        from securebase.linkage.derive import linked_view
        linked = linked_view(session, trial_id, as_of=as_of)
    extract_day = as_of or date.today()
    events: dict[int, list[Event]] = {}
    for e in session.execute(select(Event).where(Event.trial_id == trial_id).order_by(Event.occurred_on)).scalars():
        if usable(e.participant_pk, e.occurred_on):
            events.setdefault(e.participant_pk, []).append(e)
    sessions: dict[int, list[InterventionSession]] = {}
    if unblinded:
        for ses in session.execute(select(InterventionSession).where(InterventionSession.trial_id == trial_id)).scalars():
            if as_of is not None and ses.offered_on is not None and ses.offered_on > as_of:
                continue
            sessions.setdefault(ses.participant_pk, []).append(ses)
    threshold = protocol.intervention_arm.compliance_threshold_sessions
    rows, vrows = [], []
    for p in parts:
        a = alloc[p.id]
        r0 = a.allocated_on
        row: dict[str, Any] = {"participant_id": p.participant_id, "site": p.site_code}
        if unblinded:
            ss = sessions.get(p.id, [])
            attended = sum(s.attended for s in ss)
            row.update({"arm": a.arm, "treat": int(a.arm == protocol.intervention_arm.id),
                        "therapist": (sorted({s.therapist for s in ss})[0] if ss else None),
                        "sessions_offered": len(ss), "sessions_attended": attended,
                        "complier": int(threshold is not None and attended >= threshold)})
        row.update({"age_years": p.age_years, "age_band": p.age_band, "sex": p.sex, "care_status": p.care_status,
                    "maltreatment_type": p.maltreatment_type, "randomised_on": pd.Timestamp(r0)})
        for outcome in schema.SCORED_OUTCOMES:
            for m in schema.VISIT_MONTHS:
                row[schema.outcome_column(outcome, m)] = scores.get((p.id, outcome, m), np.nan)
        pv = {months.get(v.visit_id): v for v in visits if v.participant_pk == p.id}
        for m in schema.VISIT_MONTHS:
            v = pv.get(m)
            days = float((v.completed_on - r0).days) if v is not None and v.id in done and v.completed_on else np.nan
            row[f"days_{m}"] = 0.0 if m == 0 else days
        seen_12 = 12 in pv and pv[12].id in done
        end = min(extract_day, cut[p.id]) if p.id in cut else extract_day  # data cut, or data-use withdrawal
        recs = [r for r in linked.records.get(p.id, []) if r.starts_on <= end] if linked is not None else []
        row.update(_placement_columns(protocol, events.get(p.id, []), recs, linked, p, r0, end))
        row["maltreatment_12"] = _maltreatment_12(protocol, events.get(p.id, []), recs, linked, p, r0, end,
                                                  {k[1]: v for k, v in extra.items() if k[0] == p.id and k[2] == 12},
                                                  seen_12 or (p.id, 12) in forms)
        row.update(_school_columns(recs, p, r0, extra, items))
        row["adoption_disruption"] = _adoption_disruption(protocol, recs, linked, p, r0)
        for fam in schema.RESPONDENT_FAMILIES:
            for m in schema.VISIT_MONTHS:
                row[f"{fam}_respondent_{m}"] = respondents.get((p.id, fam, m))
        rows.append(row)
        for m in schema.VISIT_MONTHS:
            vr = {k: row[k] for k in ("participant_id", "site") + (("arm", "treat") if unblinded else ())}
            vr.update({"visit_month": m, "days": row[f"days_{m}"]})
            vr.update({o: row[schema.outcome_column(o, m)] for o in schema.SCORED_OUTCOMES})
            vrows.append(vr)
    part_cols = [c for c in schema.PARTICIPANT_COLUMNS if unblinded or c not in ALLOCATION_COLUMNS]
    wide = [schema.outcome_column(o, m) for o in schema.SCORED_OUTCOMES for m in schema.VISIT_MONTHS]
    cols = (part_cols + wide + [f"days_{m}" for m in schema.VISIT_MONTHS] + list(schema.EVENT_COLUMNS)
            + list(schema.RESPONDENT_COLUMNS))
    participants = pd.DataFrame(rows, columns=cols)
    vcols = [c for c in schema.VISIT_COLUMNS if unblinded or c not in ALLOCATION_COLUMNS] + list(schema.SCORED_OUTCOMES)
    visits_df = pd.DataFrame(vrows, columns=vcols)
    if as_of is not None:  # a resource-use period not yet ended on the cut date is not yet known
        cut = {p.id: min(cut.get(p.id, as_of), as_of) for p in parts}
    return TrialDatasets(participants, visits_df, _resource_frame(session, parts, alloc, cut, unblinded, protocol), not unblinded)


def _age_ok(instrument: str, p: Participant, on: date) -> bool:
    from securebase.errors import NotFound
    from securebase.instruments import load_instrument
    from securebase.instruments.ages import age_allows

    try:
        inst = load_instrument(instrument)
    except NotFound:
        return True
    return age_allows(inst, float(p.age_years) + (on - p.enrolled_on).days / 365.25)


def _carer_links(session: Session, trial_id: str) -> dict[int, list[tuple[date, date | None, int]]]:
    out: dict[int, list[tuple[date, date | None, int]]] = {}
    for lk in session.execute(select(PersonLink).where(PersonLink.trial_id == trial_id,
                                                       PersonLink.relation == "carer")).scalars():
        out.setdefault(lk.participant_pk, []).append((lk.starts_on, lk.ends_on, lk.person_pk))
    return out


def _carer_on(carers: dict[int, list[tuple[date, date | None, int]]], pk: int, on: date) -> int | None:
    for start, end, person in carers.get(pk, []):
        if start <= on and (end is None or end > on):
            return person
    return None


def _days(d: date, r0: date) -> float:
    return float((d - r0).days)


def _placement_columns(protocol: Any, evs: list[Event], recs: list[LinkedRecord], linked: Any, p: Participant,
                       r0: date, end: date) -> dict[str, float]:
    """Time to the first unplanned placement ending (1) or competing event (2), censored (0) at the extract date
    (the end of linked SSDA903 coverage when the child is linked, else ``end``, the data cut) or on leaving care."""
    rules = protocol.derivations.placement_disruption if protocol.derivations is not None else None
    ev_types = {e.id: e for e in protocol.events}
    competing = set(ev_types["unplanned_placement_ending"].competing) if "unplanned_placement_ending" in ev_types else set()
    if rules is not None:
        competing |= set(rules.competing_rec.values())
    censor = end
    hits: list[tuple[date, int]] = []
    for e in evs:
        if e.event_type == "unplanned_placement_ending" or (
                e.event_type == "placement_change" and (e.details or {}).get("ending") == "unplanned"):
            hits.append((e.occurred_on, 1))
        elif e.event_type in competing:
            hits.append((e.occurred_on, 2))
    if rules is not None and linked is not None:
        until = linked.observed_until(p.id, p.site_code, "ssda903", r0)
        if until is not None:
            censor = min(until, end)
        for r in recs:
            if r.kind != "episode":
                continue
            d = r.details or {}
            if r.ends_on is not None and r.ends_on > r0:
                rec = d.get("REC")
                # SSDA903: the reason for a placement change is recorded on the episode that ends with it (REC X1)
                if d.get("REASON_PLACE_CHANGE") in rules.unplanned_reason_place_change:
                    hits.append((r.ends_on, 1))
                elif rec in rules.unplanned_rec:
                    hits.append((r.ends_on, 1))
                elif rec in rules.competing_rec:
                    hits.append((r.ends_on, 2))
                elif rec in rules.leaving_rec:
                    censor = min(censor, r.ends_on)
    hits = sorted(h for h in hits if r0 <= h[0] <= censor)
    if hits:
        return {"placement_end_time": _days(hits[0][0], r0), "placement_end_event": hits[0][1]}
    t = _days(censor, r0)
    return {"placement_end_time": t if t > 0 else np.nan, "placement_end_event": 0}


def _maltreatment_12(protocol: Any, evs: list[Event], recs: list[LinkedRecord], linked: Any, p: Participant,
                     r0: date, end: date, form: dict[str, float], form_seen: bool) -> float:
    """``maltreatment_12`` by the protocol's declared rule (missing when the protocol declares none)."""
    rules = protocol.derivations.ongoing_maltreatment if protocol.derivations is not None else None
    if rules is None:
        return np.nan
    window = rules.window_days
    counted = set(rules.events) | set(rules.composite_intercurrent)
    for e in evs:
        in_window = 0 <= (e.occurred_on - r0).days <= window
        if in_window and (e.event_type in counted or (
                e.event_type == "maltreatment" and (e.details or {}).get("event_type") in rules.record_codes)):
            return 1.0
    if any(form.get(RECORD_SCALES[c], 0.0) >= 1 for c in rules.record_codes if c in RECORD_SCALES):
        return 1.0
    observed = form_seen
    if linked is not None:
        for r in recs:
            kind = "entry_to_care" if r.kind == "episode" and (r.details or {}).get("RNE") == "S" else r.kind
            if kind in rules.linked and 0 < (r.starts_on - r0).days <= window:
                return 1.0
        need = {LINKED_SOURCE[k] for k in rules.linked}
        horizon = r0 + timedelta(days=window)
        if end >= horizon and all((u := linked.observed_until(p.id, p.site_code, src, r0)) is not None and u >= horizon for src in need):
            observed = True
    return 0.0 if observed else np.nan


def _adoption_disruption(protocol: Any, recs: list[LinkedRecord], linked: Any, p: Participant, r0: date) -> float:
    """Re-entry to care after an adoption (declared ``adoption_rec`` endings after randomisation)."""
    rules = protocol.derivations.adoption_disruption if protocol.derivations is not None else None
    if rules is None or linked is None or linked.observed_until(p.id, p.site_code, "ssda903", r0) is None:
        return np.nan
    eps = sorted((r for r in recs if r.kind == "episode"), key=lambda r: r.starts_on)
    adopted = [r.ends_on for r in eps if r.ends_on is not None and r.ends_on > r0
               and (r.details or {}).get("REC") in rules.adoption_rec]
    if not adopted:
        return 0.0
    return float(any(r.starts_on > adopted[0] and (r.details or {}).get("RNE") == "S" for r in eps))


def _school_columns(recs: list[LinkedRecord], p: Participant, r0: date,
                    extra: dict[tuple[int, str, int], float], items: dict[tuple[int, str, int], float]) -> dict[str, float]:
    """School outcomes over the first year: linked school periods when the child is linked, else the 12-month form."""
    periods = [r for r in recs if r.kind == "school_period" and r.starts_on >= r0 - timedelta(days=31)
               and r.starts_on <= r0 + timedelta(days=FOLLOW_UP_DAYS)]
    if periods:
        possible = sum(float(r.details.get("sessions_possible") or 0) for r in periods)
        attended = sum(float(r.details.get("sessions_attended") or 0) for r in periods)
        att = attended / possible if possible else np.nan
        excl = float(sum(int(r.details.get("suspensions") or 0) for r in periods))
        perm = float(any(r.details.get("permanent_exclusion") in ("1", 1, True, "yes") for r in periods))
        ks2 = [float(r.details[k]) for r in periods for k in ("ks2_reading", "ks2_maths") if r.details.get(k) not in (None, "")]
        ks4 = [float(r.details["ks4_attainment8"]) for r in periods if r.details.get("ks4_attainment8") not in (None, "")]
    else:
        att = extra.get((p.id, "attendance_rate", 12), np.nan)
        excl = extra.get((p.id, "suspension_count", 12), np.nan)
        perm = extra.get((p.id, "permanently_excluded", 12), np.nan)
        ks2 = [items[(p.id, k, 12)] for k in ("ks2_reading", "ks2_maths") if (p.id, k, 12) in items]
        ks4 = [items[(p.id, "ks4_attainment8", 12)]] if (p.id, "ks4_attainment8", 12) in items else []
    return {"exclusions_12": excl, "attendance_12": att,
            "persistent_absence_12": np.nan if np.isnan(att) else float(att < 0.9),
            "permanent_exclusion_12": perm,
            "ks2_mean_12": float(np.mean(ks2)) if len(ks2) == 2 else np.nan,
            "attainment8_12": ks4[-1] if ks4 else np.nan}


def _resource_frame(session: Session, parts: list[Participant], alloc: dict[int, Allocation], cut: dict[int, date],
                    unblinded: bool, protocol: Any) -> pd.DataFrame:
    by_pk = {p.id: p for p in parts}
    rows = []
    for r in session.execute(select(ResourceUse).where(ResourceUse.participant_pk.in_(list(by_pk) or [-1]))
                             .order_by(ResourceUse.participant_pk, ResourceUse.period_start, ResourceUse.item)).scalars():
        if r.participant_pk in cut and r.period_end > cut[r.participant_pk]:
            continue
        r0 = alloc[r.participant_pk].allocated_on
        row: dict[str, Any] = {"participant_id": by_pk[r.participant_pk].participant_id}
        if unblinded:
            arm = alloc[r.participant_pk].arm
            row.update({"arm": arm, "treat": int(arm == protocol.intervention_arm.id)})
        row.update({"period_start_days": (r.period_start - r0).days, "period_end_days": (r.period_end - r0).days,
                    "item": r.item, "quantity": float(r.quantity)})
        rows.append(row)
    cols = [c for c in schema.RESOURCE_USE_COLUMNS if unblinded or c not in ALLOCATION_COLUMNS]
    return pd.DataFrame(rows, columns=cols)


def extract(store: Any, trial_id: str, username: str, *, as_of: date | None = None) -> TrialDatasets:
    """Open a read session on ``store`` and extract for ``username`` (data cut ``as_of``); audited."""
    from securebase.trial.audit_view import actor_for

    with store.read() as session:
        if session.get(Trial, trial_id) is None:
            raise access.NotFound(f"trial '{trial_id}' is not in this store")
        actor = actor_for(session, username, trial_id)
        data = extract_datasets(session, actor, as_of=as_of)
    with store.unit_of_work(actor=username) as uow:
        uow.log_event("dataset_extracted", table_name="analysis", record_id=trial_id, trial_id=trial_id,
                      detail={"participants": len(data.participants), "blinded": data.blinded,
                              **({"as_of": as_of.isoformat()} if as_of else {})})
        uow.commit()
    return data
