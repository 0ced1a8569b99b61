"""Item-level data entry for a visit's instruments, validated all or nothing, with double data entry.

``save_responses`` validates every answer with :func:`securebase.instruments.validate_responses` (one error
listing every bad item; nothing is saved when any fails), stores one ``responses`` row per item and, when
the form is complete, the instrument's scores (``securebase.instruments.score_clean``) in ``scores``.
A *partial* save keeps what has been entered (blank items are not stored) and computes no scores; a
*complete* save needs every item answered or given a missing-value code (not answered / not applicable /
refused), so that a blank never stands for an unknown reason. Changing an answer already saved is a
change to saved data: the store refuses it without a reason for change (``errors.ReasonRequired``).

Double data entry: a second person keys the same paper form as ``entry=2``; :func:`discrepancies` lists
the items where the two entries differ and :func:`resolve_discrepancy` sets the agreed value (with a reason).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from securebase.errors import ConflictError, FieldError, NotFound, ReasonRequired
from securebase.instruments import (
    Instrument,
    Missing,
    ResponseIssue,
    ResponseValidationError,
    load_instrument,
    score_clean,
    validate_responses,
)
from securebase.instruments.ages import age_allows, age_range_text
from securebase.instruments.validation import is_blank
from securebase.protocol import Protocol
from securebase.store import UnitOfWork
from securebase.store.tables import Participant, ResourceUse, Response, Score, Visit
from securebase.trial import access
from securebase.trial.roles import Actor, Role
from securebase.trial.visits import get_visit


@dataclass(frozen=True)
class SaveResult:
    participant_id: str
    visit_id: str
    instrument: str
    respondent: str
    entry: int
    complete: bool
    changed: int
    scores: dict[str, dict[str, Any]] = field(default_factory=dict)
    visit_status: str = ""

    def summary(self) -> str:
        sc = ", ".join(f"{k} {v['value']}" for k, v in self.scores.items()) or "no scores yet"
        return (f"{self.instrument} ({self.respondent}) for {self.participant_id} at {self.visit_id}: "
                f"{'complete' if self.complete else 'partial'} entry {self.entry}, {self.changed} item(s) saved; {sc}")

    def to_dict(self) -> dict[str, Any]:
        return {"participant_id": self.participant_id, "visit_id": self.visit_id, "instrument": self.instrument,
                "respondent": self.respondent, "entry": self.entry, "complete": self.complete,
                "changed": self.changed, "scores": self.scores, "visit_status": self.visit_status}


def _assessment(protocol: Protocol, visit_id: str, instrument: str) -> Any:
    for a in protocol.assessments_at(visit_id):
        if a.instrument == instrument:
            return a
    names = ", ".join(a.instrument for a in protocol.assessments_at(visit_id))
    raise FieldError("instrument", instrument, f"an instrument scheduled at visit '{visit_id}' ({names})")


def _instrument(name: str) -> Instrument:
    try:
        return load_instrument(name)
    except NotFound:
        raise FieldError("instrument", name, "an instrument with a loaded definition",
                         "this assessment is recorded elsewhere (for example a qualitative interview)") from None


def _age_at(p: Participant, on: _dt.date) -> float:
    return float(p.age_years) + (on - p.enrolled_on).days / 365.25


def check_age(inst: Instrument, p: Participant, on: _dt.date) -> None:
    """Refuse an instrument outside its age range for the child's age on ``on`` (instruments' age_min/age_max)."""
    age = _age_at(p, on)
    if not age_allows(inst, age):
        raise FieldError("instrument", inst.name, f"an instrument for the child's age ({inst.label} is for "
                         f"{age_range_text(inst)}; {p.participant_id} is {int(age)} on {on})",
                         "this questionnaire is not used at this age; leave it out")


def _check_role(actor: Actor, respondent: str) -> None:
    access.require(actor, access.DATA_ENTRY_ROLES, "entering instrument data")
    if actor.roles <= {Role.coder} and respondent != "blinded_coder":
        raise access.PermissionDenied(f"coders enter blinded coding only (this instrument's respondent is {respondent})")


def instruments_for_visit(session: Session, actor: Actor, participant_id: str, visit_id: str) -> list[dict[str, Any]]:
    """The visit's scheduled instruments with their entry state (none, partial, complete, double-entered)."""
    access.require(actor, access.VISIT_ROLES, "reading a visit")
    p, v = get_visit(session, actor, participant_id, visit_id)
    protocol = access.protocol_of(session, actor.trial_id)
    out = []
    for a in protocol.assessments_at(visit_id):
        try:
            inst = load_instrument(a.instrument)
        except NotFound:
            continue
        if not age_allows(inst, _age_at(p, min(access.today(), v.window_closes))):  # the date the form checks
            out.append({"instrument": a.instrument, "label": inst.title, "respondent": a.respondent.value,
                        "optional": a.optional, "state": "not for this age", "second_entry": False,
                        "items": len(inst.items)})
            continue
        n1 = _rows(session, v, a.instrument, 1)
        n2 = _rows(session, v, a.instrument, 2)
        scored = session.execute(select(Score.id).where(Score.visit_pk == v.id, Score.instrument == a.instrument)).first()
        state = "complete" if scored else ("partial" if n1 else "not started")
        out.append({"instrument": a.instrument, "label": inst.title, "respondent": a.respondent.value,
                    "optional": a.optional, "state": state, "second_entry": bool(n2), "items": len(inst.items)})
    return out


def _lock_visit(uow: UnitOfWork, v: Visit) -> None:
    """Serialise saves of one visit's forms (a row lock on PostgreSQL; SQLite write units are already serial),
    so two people saving the same form at once cannot both insert its answers."""
    if uow.store.dialect == "postgresql":
        uow.session.execute(select(Visit.id).where(Visit.id == v.id).with_for_update())


def _rows(session: Session, v: Visit, instrument: str, entry: int) -> dict[str, Response]:
    rows = session.execute(select(Response).where(Response.visit_pk == v.id, Response.instrument == instrument,
                                                  Response.entry == entry)).scalars().all()
    return {r.item: r for r in rows}


def _raw(inst: Instrument, r: Response) -> Any:
    if r.missing_code:
        return getattr(inst.missing_codes, r.missing_code)
    return r.value


def _stored(value: Any) -> tuple[str | None, str | None]:
    if isinstance(value, Missing):
        return None, value.reason
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat(), None
    if isinstance(value, float) and value.is_integer():
        return str(int(value)), None
    return str(value), None


def form(session: Session, actor: Actor, participant_id: str, visit_id: str, instrument: str,
         entry: int = 1) -> dict[str, Any]:
    """What a data-entry form needs: the items (codes, labels, allowed values, ranges) and saved values."""
    p, v = get_visit(session, actor, participant_id, visit_id)
    a = _assessment(access.protocol_of(session, actor.trial_id), visit_id, instrument)
    _check_role(actor, a.respondent.value)
    inst = _instrument(instrument)
    check_age(inst, p, min(access.today(), v.window_closes))
    saved = _rows(session, v, instrument, entry)
    items = []
    for it in inst.items:
        r = saved.get(it.code)
        items.append({"code": it.code, "label": it.label or it.code, "response_type": it.response_type,
                      "allowed": list(it.allowed) if it.allowed else None, "value_labels": it.value_labels,
                      "minimum": str(it.minimum) if it.minimum is not None else None,
                      "maximum": str(it.maximum) if it.maximum is not None else None, "unit": it.unit,
                      "value": (None if r is None else _raw(inst, r))})
    codes = inst.missing_codes
    return {"participant_id": participant_id, "visit_id": visit_id, "instrument": instrument, "title": inst.title,
            "respondent": a.respondent.value, "entry": entry, "items": items,
            "missing_codes": {"not_answered": codes.not_answered, "not_applicable": codes.not_applicable,
                              "refused": codes.refused}}


def save_responses(uow: UnitOfWork, actor: Actor, participant_id: str, visit_id: str, instrument: str,
                   responses: dict[str, Any], *, entry: int = 1, complete: bool = True,
                   collected_on: _dt.date | str | None = None) -> SaveResult:
    """Validate and save one instrument's answers for a visit (see the module docstring).

    ``collected_on`` (default today) is the date the answers were collected; it becomes the visit's date
    when this save completes or partly completes a visit that had no outcome yet.
    """
    if entry not in (1, 2):
        raise FieldError("entry", entry, "1 (first entry) or 2 (second entry of a double data entry)")
    uow.ensure_unlocked(actor.trial_id)
    protocol = access.protocol_of(uow.session, actor.trial_id)
    p, v = get_visit(uow.session, actor, participant_id, visit_id)
    a = _assessment(protocol, visit_id, instrument)
    respondent = a.respondent.value
    _check_role(actor, respondent)
    if v.status in ("missed", "withdrawn"):
        raise ConflictError(f"visit '{visit_id}' of {participant_id} is recorded as {v.status}; "
                            "change the visit outcome (with a reason) before entering data")
    inst = _instrument(instrument)
    check_age(inst, p, access.parse_date(collected_on, "collected_on", min(access.today(), v.window_closes)))
    _lock_visit(uow, v)
    existing = _rows(uow.session, v, instrument, entry)
    if entry == 2:
        first = _rows(uow.session, v, instrument, 1)
        if any(r.entered_by == actor.username for r in first.values()):
            raise ConflictError(f"the second entry of {instrument} must be keyed by someone other than the first "
                                f"({actor.username} keyed the first)")
    merged = {code: _raw(inst, r) for code, r in existing.items()}
    given = {str(k): val for k, val in responses.items()}
    merged.update({k: val for k, val in given.items() if not is_blank(val) or k in existing})
    label = protocol.visit(visit_id).label
    clean = validate_responses(inst, merged, participant=participant_id, visit=label)
    if complete:
        blank = [it for it in inst.items if is_blank(merged.get(it.code))]
        if blank:
            mc = inst.missing_codes
            codes = f"{mc.not_answered} not answered, {mc.not_applicable} not applicable, {mc.refused} refused"
            raise ResponseValidationError([ResponseIssue(
                instrument, it.code, None, "an answer or a missing-value code", participant_id, label,
                f"{inst.label} item {it.code} has no answer in visit \"{label}\" for participant {participant_id}; "
                f"enter the answer or a missing-value code ({codes}), or save as partial")
                for it in blank])
    changed = 0
    for it in inst.items:
        if is_blank(merged.get(it.code)):
            continue
        value, missing = _stored(clean[it.code])
        r = existing.get(it.code)
        if r is None:
            uow.session.add(Response(trial_id=actor.trial_id, participant_pk=p.id, visit_pk=v.id, instrument=instrument,
                                     instrument_version=inst.version, respondent=respondent, item=it.code, value=value,
                                     missing_code=missing, entry=entry, entered_by=actor.username))
            changed += 1
        elif (r.value, r.missing_code) != (value, missing):
            r.value, r.missing_code, r.entered_by = value, missing, actor.username
            changed += 1
    uow.session.flush()  # the store checks the reason for any change to saved answers here
    scores: dict[str, dict[str, Any]] = {}
    if entry == 1 and complete:
        scores = _write_scores(uow, p, v, inst, respondent, clean)
        if instrument == "resource_use" and changed:
            _write_resource_use(uow, p, v, inst, clean)
        when = access.not_future(access.parse_date(collected_on, "collected_on", access.today()), "collected_on")
        _derive_visit_status(uow, actor, protocol, v, when)
    return SaveResult(participant_id, visit_id, instrument, respondent, entry, complete, changed, scores, v.status)


def _write_scores(uow: UnitOfWork, p: Participant, v: Visit, inst: Instrument, respondent: str,
                  clean: dict[str, Any]) -> dict[str, dict[str, Any]]:
    results = score_clean(inst, clean)
    saved = {s.scale: s for s in uow.session.execute(select(Score).where(
        Score.visit_pk == v.id, Score.instrument == inst.name, Score.respondent == respondent)).scalars()}
    out = {}
    for name, res in results.items():
        value = None if res.value is None else float(res.value)
        s = saved.get(name)
        if s is None:
            uow.session.add(Score(trial_id=p.trial_id, participant_pk=p.id, visit_pk=v.id, instrument=inst.name,
                                  respondent=respondent, scale=name, value=value, category=res.band,
                                  missing_reason=res.reason))
        elif (s.value, s.category, s.missing_reason) != (value, res.band, res.reason):
            s.value, s.category, s.missing_reason = value, res.band, res.reason
        out[name] = {"value": res.value, "band": res.band, "missing_reason": res.reason}
    uow.session.flush()
    return out


def _write_resource_use(uow: UnitOfWork, p: Participant, v: Visit, inst: Instrument, clean: dict[str, Any]) -> None:
    start, end = clean.get("period_start"), clean.get("period_end")
    if not isinstance(start, _dt.date) or not isinstance(end, _dt.date):
        return
    for old in uow.session.execute(select(ResourceUse).where(ResourceUse.visit_pk == v.id)).scalars():
        uow.session.delete(old)
    for it in inst.items:
        val = clean.get(it.code)
        if it.cost_key and isinstance(val, (int, float)) and not isinstance(val, bool):
            uow.session.add(ResourceUse(trial_id=p.trial_id, participant_pk=p.id, visit_pk=v.id, item=it.cost_key,
                                        quantity=float(val), period_start=start, period_end=end))
    uow.session.flush()


def _derive_visit_status(uow: UnitOfWork, actor: Actor, protocol: Protocol, v: Visit, when: _dt.date) -> None:
    if v.status not in ("scheduled", "partial"):
        return
    needed = set()
    for a in protocol.assessments_at(v.visit_id):
        if a.optional:
            continue
        try:
            inst = load_instrument(a.instrument)
        except NotFound:
            continue
        p = uow.session.get(Participant, v.participant_pk)
        if p is not None and not age_allows(inst, _age_at(p, when)):
            continue  # not used at this child's age: the visit is complete without it
        needed.add(a.instrument)
    done = set(uow.session.execute(select(Score.instrument).where(Score.visit_pk == v.id)).scalars())
    status = "completed" if needed <= done else "partial"
    if status != v.status or v.completed_on is None:
        with access.workflow_reason(uow, f"visit status derived from data entry: {status}"):
            v.status = status
            if v.completed_on is None:
                v.completed_on = when
            if v.assessor is None and actor.has(Role.outcome_assessor):
                v.assessor = actor.username


def discrepancies(session: Session, actor: Actor, participant_id: str, visit_id: str,
                  instrument: str) -> list[dict[str, Any]]:
    """Items where the first and second entries differ (an item keyed once only counts as a discrepancy)."""
    access.require(actor, access.DATA_ENTRY_ROLES, "checking double data entry")
    _, v = get_visit(session, actor, participant_id, visit_id)
    one, two = _rows(session, v, instrument, 1), _rows(session, v, instrument, 2)
    if not two:
        return []
    out = []
    for code in sorted(set(one) | set(two), key=lambda c: (len(c), c)):
        a, b = one.get(code), two.get(code)
        va = None if a is None else (a.value, a.missing_code)
        vb = None if b is None else (b.value, b.missing_code)
        if va != vb:
            out.append({"item": code, "first": None if a is None else (a.value if a.value is not None else a.missing_code),
                        "second": None if b is None else (b.value if b.value is not None else b.missing_code),
                        "first_by": a.entered_by if a else None, "second_by": b.entered_by if b else None})
    return out


def resolve_discrepancy(uow: UnitOfWork, actor: Actor, participant_id: str, visit_id: str, instrument: str,
                        item: str, value: Any) -> SaveResult:
    """Set the agreed value of ``item`` in both entries and rescore; needs a reason (``uow.reason``)."""
    access.require(actor, {Role.data_manager, Role.trial_manager, Role.administrator}, "resolving a discrepancy")
    if not uow.reason:
        raise ReasonRequired(f"resolving the discrepancy in {instrument} item {item} for {participant_id} needs a "
                             "reason for change, e.g. 'checked against the paper form'")
    p, v = get_visit(uow.session, actor, participant_id, visit_id)
    inst = _instrument(instrument)
    current = {code: _raw(inst, r) for code, r in _rows(uow.session, v, instrument, 1).items()}
    current[item] = value
    complete = bool(uow.session.execute(select(Score.id).where(Score.visit_pk == v.id,
                                                               Score.instrument == instrument)).first())
    result = save_responses(uow, actor, participant_id, visit_id, instrument, current, entry=1,
                            complete=complete or all(not is_blank(current.get(i.code)) for i in inst.items))
    r2 = _rows(uow.session, v, instrument, 2).get(item)
    r1 = _rows(uow.session, v, instrument, 1).get(item)
    if r2 is not None and r1 is not None:
        r2.value, r2.missing_code = r1.value, r1.missing_code
        uow.session.flush()
    return result


def saved_scores(session: Session, actor: Actor, participant_id: str, visit_id: str | None = None) -> list[dict[str, Any]]:
    access.require(actor, access.VISIT_ROLES, "reading scores")
    p = access.participant(session, actor, participant_id)
    stmt = select(Score, Visit.visit_id).join(Visit, Visit.id == Score.visit_pk).where(Score.participant_pk == p.id)
    if visit_id:
        stmt = stmt.where(Visit.visit_id == visit_id)
    return [{"visit_id": vid, "instrument": s.instrument, "respondent": s.respondent, "scale": s.scale, "value": s.value,
             "band": s.category, "missing_reason": s.missing_reason, "record_id": s.id}
            for s, vid in session.execute(stmt.order_by(Score.id)).all()]
