"""The screening log: every child considered, the eligibility result with its reasons, and whether the
family was approached, declined or consented. It is the source of the CONSORT diagram's top boxes
(Schulz, Altman, Moher, CONSORT 2010 statement, BMJ 2010;340:c332: "assessed for eligibility",
"excluded" with reasons).

A date of birth given at screening is turned into age in completed years on the screening date and is not
kept in the log (direct identifiers live only, encrypted, in the identifiers table after enrolment).
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from securebase.errors import ConflictError, FieldError, InputError
from securebase.protocol import Criterion, age_in_years, check_eligibility, summarise, unanswered
from securebase.store import UnitOfWork
from securebase.store.tables import ScreeningRecord
from securebase.trial import access
from securebase.trial.bounds import check_json
from securebase.trial.paging import Paging, paged
from securebase.trial.roles import Actor

#: Screening outcomes, in the order a record moves through them.
OUTCOMES = ("ineligible", "eligible", "not_approached", "approached", "declined", "consented", "enrolled")


def screening_number(site_code: str, n: int) -> str:
    return f"SCR-{site_code}-{n:04d}"


#: Answers kept besides the protocol's eligibility questions (age, the LA's parental responsibility, and the
#: fields minimisation and consent read).
EXTRA_ANSWERS = frozenset({"age_years", "date_of_birth", "la_parental_responsibility", "care_status",
                           "maltreatment_status", "maltreatment_types", "maltreatment_type"})


def _check_keys(protocol: Any, answers: dict[str, Any]) -> None:
    """Refuse answers the protocol does not ask, and values that are not short scalars or short lists."""
    known = {c.field for c in protocol.eligibility} | EXTRA_ANSWERS
    unknown = sorted(str(k)[:40] for k in answers if k not in known)
    if unknown:
        raise FieldError("answers", ", ".join(unknown[:5]), "only the protocol's screening questions: "
                         + ", ".join(sorted(known)), "remove the other keys")
    check_json(answers, "answers", max_depth=2, max_items=100, max_string=200, max_bytes=8000)


def _clean_answers(answers: dict[str, Any], screened_on: date) -> dict[str, Any]:
    out = {k: v for k, v in answers.items() if v is not None and v != ""}
    dob = out.pop("date_of_birth", None)
    if dob is not None and "age_years" not in out:
        d = access.parse_date(dob, "date_of_birth")
        if d > screened_on:
            raise FieldError("date_of_birth", d.isoformat(), "a date before the screening date", "check the year")
        out["age_years"] = age_in_years(d, screened_on)
    if "age_years" in out:
        try:
            out["age_years"] = float(out["age_years"])
        except (TypeError, ValueError):
            raise FieldError("age_years", out["age_years"], "a number of years", "enter the age in years") from None
        if not 0 <= out["age_years"] < 30:
            raise FieldError("age_years", out["age_years"], "between 0 and 30", "check the age")
    for k, v in list(out.items()):
        if isinstance(v, date):
            out[k] = v.isoformat()
    return out


class MissingAnswers(InputError):
    """A screening form with questions left unanswered: nothing is saved."""

    def __init__(self, criteria: list[Criterion]) -> None:
        self.criteria = criteria
        super().__init__("the screening form is incomplete and nothing was saved; answer every question: "
                         + "; ".join(c.asked for c in criteria), missing=[c.id for c in criteria])


def preview(session: Session, actor: Actor, *, site_code: str, answers: dict[str, Any],
            screened_on: date | str | None = None) -> dict[str, Any]:
    """Check a screening form without saving it: the cleaned answers, eligibility, each criterion as its
    positive question with the answer given, and the criteria left unanswered (shown before saving)."""
    access.require(actor, access.RECRUITMENT_ROLES, "screening a child")
    access.require_site(actor, site_code)
    access.check_site_exists(session, actor.trial_id, site_code)
    on = access.not_future(access.parse_date(screened_on, "screened_on", access.today()), "screened_on")
    protocol = access.protocol_of(session, actor.trial_id)
    clean = _clean_answers(dict(answers), on)
    result = check_eligibility(protocol, clean)
    return {"answers": clean, "eligible": result.eligible, "reasons": list(result.reasons),
            "questions": summarise(protocol, clean), "missing": unanswered(protocol, clean)}


def screen(uow: UnitOfWork, actor: Actor, *, site_code: str, answers: dict[str, Any],
           screened_on: date | str | None = None, require_complete: bool = False) -> ScreeningRecord:
    """Log one child considered at ``site_code``; eligibility is evaluated from ``answers`` by the protocol.

    Returns the new record, numbered ``SCR-<site>-NNNN`` in order within the site. With
    ``require_complete`` (the web form) a criterion left unanswered raises :class:`MissingAnswers` and
    nothing is saved; otherwise it is logged as "answer missing" (not eligible).
    """
    access.require(actor, access.RECRUITMENT_ROLES, "screening a child")
    access.require_site(actor, site_code)
    access.check_site_exists(uow.session, actor.trial_id, site_code)
    uow.ensure_unlocked(actor.trial_id)
    on = access.not_future(access.parse_date(screened_on, "screened_on", access.today()), "screened_on")
    protocol = access.protocol_of(uow.session, actor.trial_id)
    _check_keys(protocol, answers)
    clean = _clean_answers(dict(answers), on)
    result = check_eligibility(protocol, clean)
    if require_complete and result.missing:
        raise MissingAnswers(unanswered(protocol, clean))
    uow.trial(actor.trial_id, for_update=True)
    n = uow.session.execute(select(func.count()).select_from(ScreeningRecord).where(
        ScreeningRecord.trial_id == actor.trial_id, ScreeningRecord.site_code == site_code)).scalar_one()
    reasons = list(result.reasons) + [f"answer missing: {m}" for m in result.missing]
    rec = ScreeningRecord(trial_id=actor.trial_id, site_code=site_code, screening_number=screening_number(site_code, n + 1),
                          screened_on=on, answers=clean, eligible=result.eligible, ineligible_reasons="; ".join(reasons),
                          approached=None, outcome="eligible" if result.eligible else "ineligible",
                          screened_by=actor.username)
    uow.session.add(rec)
    uow.session.flush()
    return rec


def record_approach(uow: UnitOfWork, actor: Actor, screening_number: str, *, approached: bool,
                    not_approached_reason: str | None = None) -> ScreeningRecord:
    """Record whether an eligible family was approached (and why not, if not)."""
    access.require(actor, access.RECRUITMENT_ROLES, "recording an approach")
    rec = access.screening(uow.session, actor, screening_number)
    if not rec.eligible:
        raise ConflictError(f"{screening_number} was not eligible ({rec.ineligible_reasons}); only eligible children "
                            "are approached")
    if rec.outcome not in ("eligible", "not_approached", "approached"):
        raise ConflictError(f"{screening_number} is already '{rec.outcome}'; its approach cannot change now")
    if not approached and not (not_approached_reason or "").strip():
        raise FieldError("not_approached_reason", not_approached_reason, "a reason when the family was not approached",
                         "for example 'placement breaking down' or 'carer unwell'")
    with access.workflow_reason(uow, "screening: approach recorded"):
        rec.approached = approached
        rec.not_approached_reason = None if approached else not_approached_reason.strip()  # type: ignore[union-attr]
        rec.outcome = "approached" if approached else "not_approached"
    return rec


def record_decline(uow: UnitOfWork, actor: Actor, screening_number: str, *, reason: str) -> ScreeningRecord:
    """The family (or child, or local authority) declined to take part; the reason is kept for CONSORT."""
    access.require(actor, access.RECRUITMENT_ROLES, "recording a decline")
    rec = access.screening(uow.session, actor, screening_number)
    if rec.outcome in ("consented", "enrolled"):
        raise ConflictError(f"{screening_number} is already '{rec.outcome}'; record a withdrawal instead")
    if not rec.eligible:
        raise ConflictError(f"{screening_number} was not eligible; a decline applies to eligible children only")
    if not (reason or "").strip():
        raise FieldError("reason", reason, "a reason for declining (as the family gave it)", "write 'not given' if none")
    with access.workflow_reason(uow, "screening: decline recorded"):
        if rec.approached is None:
            rec.approached = True
        rec.declined_reason = reason.strip()
        rec.outcome = "declined"
    return rec


def to_dict(rec: ScreeningRecord) -> dict[str, Any]:
    return {"screening_number": rec.screening_number, "site": rec.site_code, "screened_on": rec.screened_on.isoformat(),
            "eligible": rec.eligible, "ineligible_reasons": rec.ineligible_reasons, "approached": rec.approached,
            "not_approached_reason": rec.not_approached_reason, "declined_reason": rec.declined_reason,
            "outcome": rec.outcome, "answers": dict(rec.answers or {}), "screened_by": rec.screened_by}


def questions_of(session: Session, actor: Actor, screening_number: str) -> list[Any]:
    """The record's answers as the protocol's positive questions (Yes / No / Not answered)."""
    rec = access.screening(session, actor, screening_number)
    return summarise(access.protocol_of(session, actor.trial_id), dict(rec.answers or {}))


def list_screening(session: Session, actor: Actor, *, site_code: str | None = None,
                   outcome: str | None = None, page: Paging | None = None) -> list[dict[str, Any]]:
    """The screening log of the sites the actor can reach, newest first."""
    access.require(actor, access.READ_ROLES, "reading the screening log")
    stmt = select(ScreeningRecord).where(ScreeningRecord.trial_id == actor.trial_id)
    if actor.sites is not None:
        stmt = stmt.where(ScreeningRecord.site_code.in_(sorted(actor.sites)))
    if site_code:
        stmt = stmt.where(ScreeningRecord.site_code == site_code)
    if outcome:
        stmt = stmt.where(ScreeningRecord.outcome == outcome)
    rows = session.execute(paged(session, stmt.order_by(ScreeningRecord.id.desc()), page)).scalars().all()
    return [to_dict(r) for r in rows]


def get_screening(session: Session, actor: Actor, screening_number: str) -> dict[str, Any]:
    access.require(actor, access.READ_ROLES, "reading a screening record")
    return to_dict(access.screening(session, actor, screening_number))


def consort_counts(session: Session, actor: Actor) -> dict[str, Any]:
    """Counts for the CONSORT diagram's enrolment boxes, with exclusion reasons tallied: grouped counts in SQL
    (the reasons of ineligible and declining children are grouped by their text, then split), so the cost is
    the number of distinct outcomes and reasons, not the number of children."""
    access.require(actor, access.READ_ROLES, "reading the screening log")
    s = ScreeningRecord
    where = [s.trial_id == actor.trial_id]
    if actor.sites is not None:
        where.append(s.site_code.in_(sorted(actor.sites)))
    outcomes: Counter[str] = Counter(dict(session.execute(
        select(s.outcome, func.count()).where(*where).group_by(s.outcome)).all()))
    counted = [*where, s.outcome != "entered_in_error"]  # corrections leave the counts
    reasons: Counter[str] = Counter()
    for text, n in session.execute(select(s.ineligible_reasons, func.count()).where(
            *counted, or_(s.eligible.is_(False), s.eligible.is_(None))).group_by(s.ineligible_reasons)).all():
        for part in filter(None, (text or "").split("; ")):
            reasons[part.split(":")[0]] += n
    declined = dict(session.execute(select(s.declined_reason, func.count()).where(
        *counted, s.declined_reason.is_not(None), s.declined_reason != "").group_by(s.declined_reason)).all())
    errors = outcomes.pop("entered_in_error", 0)
    return {"assessed": sum(outcomes.values()), "ineligible": outcomes["ineligible"], "ineligible_reasons": dict(reasons),
            "not_approached": outcomes["not_approached"], "declined": outcomes["declined"],
            "consented": outcomes["consented"], "enrolled": outcomes["enrolled"],
            "declined_reasons": declined, "entered_in_error": errors}
