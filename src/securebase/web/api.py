"""The JSON API under ``/api``: token authentication, the same services and the same role and site checks
as the pages. Errors use one shape, ``{"error", "message", "status"}`` (``SecurebaseError.to_dict``)."""

from __future__ import annotations

import io
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from securebase.cells import frame_to_csv
from securebase.errors import FieldError
from securebase.trial import access as _access
from securebase.trial import (
    consent,
    dashboard,
    data_entry,
    delivery,
    enrol,
    events,
    queries,
    screening,
    visits,
)
from securebase.trial.accounts import user_trials
from securebase.trial.bounds import check_json
from securebase.trial.paging import DEFAULT_LIMIT, MAX_LIMIT, Paging
from securebase.web import history
from securebase.web.deps import api_user, plain, read, read_uow, settings_of, store_of
from securebase.web.deps import write_json as write

router = APIRouter(prefix="/api", tags=["api"])
User = Annotated[str, Depends(api_user)]
TrialId = Annotated[str, Path(max_length=64, description="Trial id, e.g. ng26-care")]
Pid = Annotated[str, Path(max_length=32, description="Participant trial ID, e.g. CARE-0014")]
Scr = Annotated[str, Path(max_length=32, description="Screening number, e.g. SCR-LA01-0001")]
VisitId = Annotated[str, Path(max_length=32, description="Visit id from the protocol, e.g. m6")]
Inst = Annotated[str, Path(max_length=64, description="Instrument name, e.g. sdq_parent")]
QueryId = Annotated[int, Path(ge=1, le=2_000_000_000)]


def _paging(limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page (1-1000)")] = DEFAULT_LIMIT,
            cursor: Annotated[str | None, Query(max_length=64, description="The previous page's next cursor (from "
                                                "the Link header); none for the first page")] = None) -> Paging:
    return Paging(limit, cursor)


Page = Annotated[Paging, Depends(_paging)]


def _page(request: Request, response: Response, page: Paging, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every list is paged: the body is the page, ``X-Total-Count`` the whole list's length and ``Link`` (RFC 8288,
    ``rel="next"``) the address of the next page, as GitHub's and many other APIs give them."""
    response.headers["X-Total-Count"] = str(page.total if page.total is not None else len(items))
    nxt = page.next_cursor
    if nxt:
        response.headers["Link"] = f'<{request.url.include_query_params(cursor=nxt, limit=page.limit)}>; rel="next"'
    return items
Text = Annotated[str, Field(max_length=4000)]


class Body(BaseModel):
    """Every JSON body: unknown fields refused; nesting, size and characters bounded before any model runs
    (a NUL or a lone surrogate anywhere, or nesting deeper than 8 levels, is a 422 naming the field)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _bounded(cls, data: Any) -> Any:
        check_json(data, "body", max_depth=8, max_items=5000, max_string=20_000, max_bytes=500_000)
        return data


class ScreenIn(Body):
    site_code: str = Field(max_length=32)
    answers: dict[str, Any] = Field(default_factory=dict, description="Answers to the protocol's eligibility questions")
    screened_on: date | None = None


class ApproachIn(Body):
    approached: bool
    not_approached_reason: Text | None = None


class DeclineIn(Body):
    reason: Text


class ConsentIn(Body):
    kind: str = Field(max_length=32)
    form_version: str = Field(max_length=16)
    signatory_role: str = Field(max_length=40)
    signed_on: date | None = None
    given: bool = True


class EnrolIn(Body):
    sex: str | None = Field(None, max_length=16)
    enrolled_on: date | None = None
    identifiers: dict[str, Annotated[str, Field(max_length=400)]] | None = None


class VisitOutcomeIn(Body):
    status: str = Field(max_length=16)
    completed_on: date | None = None
    missed_reason: str | None = Field(None, max_length=40)
    assessor: str | None = Field(None, max_length=120)
    reason: Text | None = Field(None, description="Reason for change, needed when an outcome was already recorded")


class ResponsesIn(Body):
    responses: dict[str, Any]
    entry: int = Field(1, ge=1, le=2)
    complete: bool = True
    collected_on: date | None = Field(None, description="Date the answers were collected (default today)")
    reason: Text | None = Field(None, description="Reason for change, needed when saved answers change")


class ResolveIn(Body):
    item: str = Field(max_length=64)
    value: Any = None
    reason: Text


class EventIn(Body):
    event_type: str = Field(max_length=48)
    occurred_on: date
    details: dict[str, Any] = Field(default_factory=dict)
    seriousness: str | None = Field(None, max_length=32)
    relatedness: str | None = Field(None, max_length=32)
    expectedness: str | None = Field(None, max_length=32)


class SessionIn(Body):
    session_number: int = Field(ge=1, le=100)
    offered_on: date
    attended: bool
    therapist: str = Field(max_length=64)
    duration_minutes: float = Field(90.0, gt=0, le=600)
    fidelity_rating: float | None = Field(None, ge=1, le=5)


class WithdrawIn(Body):
    level: str = Field(max_length=24)
    reason: Text
    withdrawn_on: date | None = None


class QueryIn(Body):
    participant_id: str = Field(max_length=32)
    table_name: str = Field(max_length=64)
    record_id: int = Field(ge=1, le=2_000_000_000)
    field: str = Field(max_length=64)
    question: Text


class AnswerIn(Body):
    answer: Text


# -- who am I ---------------------------------------------------------------------------------------
@router.get("/me", summary="The token's user and their roles")
def me(request: Request, user: User) -> dict[str, Any]:
    with store_of(request).read() as s:
        roles = user_trials(s, user)
    return {"username": user, "roles": [{"trial_id": t, "role": r, "site": site} for t, r, site in roles]}


# -- screening, consent, enrolment ----------------------------------------------------------------------
@router.get("/trials/{trial_id}/screening", summary="The screening log")
def screening_log(request: Request, response: Response, user: User, trial_id: TrialId, page: Page,
                  site: Annotated[str | None, Query(max_length=32)] = None) -> list[dict[str, Any]]:
    return _page(request, response, page, read(request, user, trial_id, lambda s, a: screening.list_screening(
        s, a, site_code=site, page=page)))


@router.post("/trials/{trial_id}/screening", status_code=201, summary="Screen a child")
def screen(request: Request, user: User, trial_id: TrialId, body: ScreenIn) -> dict[str, Any]:
    return write(request, user, trial_id, lambda u, a: screening.to_dict(screening.screen(
        u, a, site_code=body.site_code, answers=body.answers, screened_on=body.screened_on)))


@router.get("/trials/{trial_id}/consort", summary="CONSORT enrolment counts")
def consort(request: Request, user: User, trial_id: TrialId) -> dict[str, Any]:
    return read(request, user, trial_id, screening.consort_counts)


@router.get("/trials/{trial_id}/screening/{number}", summary="One screening record")
def screening_one(request: Request, user: User, trial_id: TrialId, number: Scr) -> dict[str, Any]:
    return read(request, user, trial_id, lambda s, a: screening.get_screening(s, a, number))


@router.post("/trials/{trial_id}/screening/{number}/approach", summary="Record the approach")
def approach(request: Request, user: User, trial_id: TrialId, number: Scr, body: ApproachIn) -> dict[str, Any]:
    return write(request, user, trial_id, lambda u, a: screening.to_dict(screening.record_approach(
        u, a, number, approached=body.approached, not_approached_reason=body.not_approached_reason)))


@router.post("/trials/{trial_id}/screening/{number}/decline", summary="Record a decline")
def decline(request: Request, user: User, trial_id: TrialId, number: Scr, body: DeclineIn) -> dict[str, Any]:
    return write(request, user, trial_id, lambda u, a: screening.to_dict(
        screening.record_decline(u, a, number, reason=body.reason)))


@router.get("/trials/{trial_id}/screening/{number}/consent", summary="Consent status")
def consent_get(request: Request, user: User, trial_id: TrialId, number: Scr) -> dict[str, Any]:
    def run(s: Any, a: Any) -> dict[str, Any]:
        _access.require(a, _access.RECRUITMENT_ROLES, "reading consent")
        return consent.consent_status(s, a, number)
    return read(request, user, trial_id, run)


@router.post("/trials/{trial_id}/screening/{number}/consent", status_code=201, summary="Record a consent signature")
def consent_post(request: Request, user: User, trial_id: TrialId, number: Scr, body: ConsentIn) -> dict[str, Any]:
    def run(u: Any, a: Any) -> dict[str, Any]:
        consent.record_consent(u, a, number, kind=body.kind, form_version=body.form_version,
                               signatory_role=body.signatory_role, signed_on=body.signed_on, given=body.given)
        return consent.consent_status(u.session, a, number)
    return write(request, user, trial_id, run)


@router.post("/trials/{trial_id}/screening/{number}/enrol", status_code=201, summary="Enrol a consented child")
def enrol_post(request: Request, user: User, trial_id: TrialId, number: Scr, body: EnrolIn) -> dict[str, Any]:
    key = settings_of(request).encryption_key
    return write(request, user, trial_id, lambda u, a: enrol.participant_dict(enrol.enrol(
        u, a, number, sex=body.sex, enrolled_on=body.enrolled_on, identifiers=body.identifiers, encryption_key=key)))


# -- participants ------------------------------------------------------------------------------------
@router.get("/trials/{trial_id}/participants", summary="Participants of your sites")
def participants(request: Request, response: Response, user: User, trial_id: TrialId, page: Page,
                 site: Annotated[str | None, Query(max_length=32)] = None) -> list[dict[str, Any]]:
    return _page(request, response, page, read(request, user, trial_id, lambda s, a: enrol.list_participants(
        s, a, site_code=site, page=page)))


@router.get("/trials/{trial_id}/participants/{pid}", summary="One participant")
def participant(request: Request, user: User, trial_id: TrialId, pid: Pid) -> dict[str, Any]:
    return read(request, user, trial_id, lambda s, a: enrol.get_participant(s, a, pid))


@router.post("/trials/{trial_id}/participants/{pid}/randomise", summary="Randomise (roles that may see allocation)")
def randomise(request: Request, user: User, trial_id: TrialId, pid: Pid) -> dict[str, Any]:
    from securebase.trial.randomise import randomise as run

    return write(request, user, trial_id, lambda u, a: plain(run(u, a, pid)))


@router.get("/trials/{trial_id}/participants/{pid}/allocation", summary="Allocation (roles that may see it)")
def allocation(request: Request, user: User, trial_id: TrialId, pid: Pid) -> dict[str, Any]:
    from securebase.trial.randomise import allocation_for

    return read_uow(request, user, trial_id, lambda u, a: plain(allocation_for(u, a, pid)))


@router.get("/trials/{trial_id}/participants/{pid}/visits", summary="A participant's visits")
def participant_visits(request: Request, user: User, trial_id: TrialId, pid: Pid) -> list[dict[str, Any]]:
    return read(request, user, trial_id, lambda s, a: visits.participant_visits(s, a, pid))


@router.post("/trials/{trial_id}/participants/{pid}/visits/{visit_id}/outcome", summary="Record a visit outcome")
def visit_outcome(request: Request, user: User, trial_id: TrialId, pid: Pid, visit_id: VisitId,
                  body: VisitOutcomeIn) -> dict[str, Any]:
    def run(u: Any, a: Any) -> dict[str, Any]:
        visits.record_visit_outcome(u, a, pid, visit_id, status=body.status, completed_on=body.completed_on,
                                    missed_reason=body.missed_reason, assessor=body.assessor)
        p, v = visits.get_visit(u.session, a, pid, visit_id)
        return visits.visit_dict(v, p, _access.protocol_of(u.session, trial_id).visit(visit_id).label)
    return write(request, user, trial_id, run, reason=body.reason)


class AssessorIn(Body):
    assessor: str = Field(max_length=120, description="User name of the (blinded) assessor")


@router.post("/trials/{trial_id}/participants/{pid}/visits/{visit_id}/assessor", summary="Assign a visit's assessor")
def visit_assessor(request: Request, user: User, trial_id: TrialId, pid: Pid, visit_id: VisitId,
                   body: AssessorIn) -> dict[str, Any]:
    def run(u: Any, a: Any) -> dict[str, Any]:
        visits.assign_assessor(u, a, pid, visit_id, body.assessor)
        p, v = visits.get_visit(u.session, a, pid, visit_id)
        return visits.visit_dict(v, p, _access.protocol_of(u.session, trial_id).visit(visit_id).label)
    return write(request, user, trial_id, run)


@router.get("/trials/{trial_id}/participants/{pid}/visits/{visit_id}/instruments", summary="A visit's instruments")
def visit_instruments(request: Request, user: User, trial_id: TrialId, pid: Pid, visit_id: VisitId) -> list[dict[str, Any]]:
    return read(request, user, trial_id, lambda s, a: data_entry.instruments_for_visit(s, a, pid, visit_id))


@router.get("/trials/{trial_id}/participants/{pid}/visits/{visit_id}/forms/{instrument}", summary="A data-entry form")
def form_get(request: Request, user: User, trial_id: TrialId, pid: Pid, visit_id: VisitId, instrument: Inst,
             entry: Annotated[int, Query(ge=1, le=2)] = 1) -> dict[str, Any]:
    return plain(read(request, user, trial_id, lambda s, a: data_entry.form(s, a, pid, visit_id, instrument, entry)))


@router.post("/trials/{trial_id}/participants/{pid}/visits/{visit_id}/forms/{instrument}", summary="Save answers")
def form_post(request: Request, user: User, trial_id: TrialId, pid: Pid, visit_id: VisitId, instrument: Inst,
              body: ResponsesIn) -> dict[str, Any]:
    return write(request, user, trial_id, lambda u, a: data_entry.save_responses(
        u, a, pid, visit_id, instrument, body.responses, entry=body.entry, complete=body.complete,
        collected_on=body.collected_on).to_dict(),
        reason=body.reason)


@router.get("/trials/{trial_id}/participants/{pid}/visits/{visit_id}/forms/{instrument}/discrepancies",
            summary="Double data entry discrepancies")
def discrepancies(request: Request, user: User, trial_id: TrialId, pid: Pid, visit_id: VisitId,
                  instrument: Inst) -> list[dict[str, Any]]:
    return read(request, user, trial_id, lambda s, a: data_entry.discrepancies(s, a, pid, visit_id, instrument))


@router.post("/trials/{trial_id}/participants/{pid}/visits/{visit_id}/forms/{instrument}/resolve",
             summary="Resolve a discrepancy")
def resolve(request: Request, user: User, trial_id: TrialId, pid: Pid, visit_id: VisitId, instrument: Inst,
            body: ResolveIn) -> dict[str, Any]:
    return write(request, user, trial_id, lambda u, a: data_entry.resolve_discrepancy(
        u, a, pid, visit_id, instrument, body.item, body.value).to_dict(), reason=body.reason)


@router.get("/trials/{trial_id}/participants/{pid}/scores", summary="A participant's scores")
def scores(request: Request, user: User, trial_id: TrialId, pid: Pid) -> list[dict[str, Any]]:
    return read(request, user, trial_id, lambda s, a: data_entry.saved_scores(s, a, pid))


@router.get("/trials/{trial_id}/participants/{pid}/events", summary="A participant's events")
def participant_events(request: Request, user: User, trial_id: TrialId, pid: Pid) -> list[dict[str, Any]]:
    return read(request, user, trial_id, lambda s, a: events.list_events(s, a, participant_id=pid))


@router.post("/trials/{trial_id}/participants/{pid}/events", status_code=201, summary="Record an event")
def event_post(request: Request, user: User, trial_id: TrialId, pid: Pid, body: EventIn) -> dict[str, Any]:
    def run(u: Any, a: Any) -> dict[str, Any]:
        ev = events.record_event(u, a, pid, event_type=body.event_type, occurred_on=body.occurred_on,
                                 details=body.details, seriousness=body.seriousness, relatedness=body.relatedness,
                                 expectedness=body.expectedness)
        return events.event_dict(ev, _access.participant(u.session, a, pid))
    return write(request, user, trial_id, run)


@router.get("/trials/{trial_id}/participants/{pid}/delivery", summary="Intervention delivery log (unblinded roles)")
def delivery_get(request: Request, user: User, trial_id: TrialId, pid: Pid) -> dict[str, Any]:
    return read(request, user, trial_id, lambda s, a: delivery.delivery_summary(s, a, pid))


@router.post("/trials/{trial_id}/participants/{pid}/delivery", status_code=201, summary="Log a session (unblinded roles)")
def delivery_post(request: Request, user: User, trial_id: TrialId, pid: Pid, body: SessionIn) -> dict[str, Any]:
    def run(u: Any, a: Any) -> dict[str, Any]:
        delivery.record_session(u, a, pid, **body.model_dump())
        return delivery.delivery_summary(u.session, a, pid)
    return write(request, user, trial_id, run)


@router.get("/trials/{trial_id}/participants/{pid}/withdrawals", summary="Withdrawals")
def withdrawals_get(request: Request, user: User, trial_id: TrialId, pid: Pid) -> list[dict[str, Any]]:
    return read(request, user, trial_id, lambda s, a: consent.withdrawals(s, a, pid))


@router.post("/trials/{trial_id}/participants/{pid}/withdrawals", status_code=201, summary="Record a withdrawal")
def withdrawals_post(request: Request, user: User, trial_id: TrialId, pid: Pid, body: WithdrawIn) -> list[dict[str, Any]]:
    def run(u: Any, a: Any) -> list[dict[str, Any]]:
        consent.withdraw(u, a, pid, level=body.level, reason=body.reason, withdrawn_on=body.withdrawn_on)
        return consent.withdrawals(u.session, a, pid)
    return write(request, user, trial_id, run)


@router.get("/trials/{trial_id}/participants/{pid}/audit", summary="A participant's audit trail (blinded as needed)")
def audit(request: Request, user: User, trial_id: TrialId, pid: Pid) -> list[dict[str, Any]]:
    return read(request, user, trial_id, lambda s, a: history.participant_audit(s, a, pid))


# -- lists across participants ----------------------------------------------------------------------------
@router.get("/trials/{trial_id}/visits/upcoming", summary="Upcoming assessments")
def upcoming(request: Request, response: Response, user: User, trial_id: TrialId, page: Page,
             site: Annotated[str | None, Query(max_length=32)] = None,
             assessor: Annotated[str | None, Query(max_length=120)] = None,
             horizon_days: Annotated[int, Query(ge=0, le=3660)] = 60) -> list[dict[str, Any]]:
    return _page(request, response, page, read(request, user, trial_id, lambda s, a: visits.upcoming_visits(
        s, a, site_code=site, assessor=assessor, horizon_days=horizon_days, page=page)))


@router.get("/trials/{trial_id}/visits/overdue", summary="Overdue assessments")
def overdue(request: Request, response: Response, user: User, trial_id: TrialId, page: Page,
            site: Annotated[str | None, Query(max_length=32)] = None,
            assessor: Annotated[str | None, Query(max_length=120)] = None) -> list[dict[str, Any]]:
    return _page(request, response, page, read(request, user, trial_id, lambda s, a: visits.overdue_visits(
        s, a, site_code=site, assessor=assessor, page=page)))


@router.get("/trials/{trial_id}/events", summary="Events of your sites")
def all_events(request: Request, response: Response, user: User, trial_id: TrialId, page: Page,
               event_type: Annotated[str | None, Query(max_length=48)] = None) -> list[dict[str, Any]]:
    return _page(request, response, page, read(request, user, trial_id, lambda s, a: events.list_events(
        s, a, event_type=event_type, page=page)))


@router.get("/trials/{trial_id}/queries", summary="Data queries")
def queries_get(request: Request, response: Response, user: User, trial_id: TrialId, page: Page,
                status: Annotated[str | None, Query(max_length=16)] = None) -> list[dict[str, Any]]:
    return _page(request, response, page, read(request, user, trial_id, lambda s, a: queries.list_queries(
        s, a, status=status, page=page)))


@router.post("/trials/{trial_id}/queries", status_code=201, summary="Raise a data query")
def queries_post(request: Request, user: User, trial_id: TrialId, body: QueryIn) -> dict[str, Any]:
    def run(u: Any, a: Any) -> dict[str, Any]:
        q = queries.raise_query(u, a, body.participant_id, table_name=body.table_name, record_id=body.record_id,
                                field=body.field, question=body.question)
        return queries.get_query(u.session, a, q.id)
    return write(request, user, trial_id, run)


@router.get("/trials/{trial_id}/queries/{query_id}", summary="One data query")
def query_get(request: Request, user: User, trial_id: TrialId, query_id: QueryId) -> dict[str, Any]:
    return read(request, user, trial_id, lambda s, a: queries.get_query(s, a, query_id))


@router.post("/trials/{trial_id}/queries/{query_id}/answer", summary="Answer a data query (site)")
def query_answer(request: Request, user: User, trial_id: TrialId, query_id: QueryId, body: AnswerIn) -> dict[str, Any]:
    def run(u: Any, a: Any) -> dict[str, Any]:
        queries.answer_query(u, a, query_id, answer=body.answer)
        return queries.get_query(u.session, a, query_id)
    return write(request, user, trial_id, run)


@router.post("/trials/{trial_id}/queries/{query_id}/close", summary="Close an answered data query")
def query_close(request: Request, user: User, trial_id: TrialId, query_id: QueryId) -> dict[str, Any]:
    def run(u: Any, a: Any) -> dict[str, Any]:
        queries.close_query(u, a, query_id)
        return queries.get_query(u.session, a, query_id)
    return write(request, user, trial_id, run)


@router.get("/trials/{trial_id}/dashboard", summary="Recruitment, retention, overdue visits, completeness")
def dash(request: Request, user: User, trial_id: TrialId) -> dict[str, Any]:
    return read(request, user, trial_id, dashboard.dashboard)


@router.get("/trials/{trial_id}/datasets/{frame}", summary="Analysis dataset as CSV (allocation only for unblinded)",
            response_class=PlainTextResponse)
def dataset(request: Request, user: User, trial_id: TrialId,
            frame: Annotated[str, Path(max_length=16, description="participants, visits or resource_use")],
            reason: Annotated[str | None, Query(max_length=500, description="Why (needed for arm-level data before "
                                                                           "database lock)")] = None) -> PlainTextResponse:
    return PlainTextResponse(export_csv(request, user, trial_id, frame, reason), media_type="text/csv")


def export_csv(request: Request, user: str, trial_id: str, frame: str, reason: str | None = None) -> str:
    """One analysis frame as CSV, audited. Before database lock an arm-level frame (an unblinded role's
    export carries the allocation) needs a reason, kept in the audit trail and the export list."""
    from securebase.analysis.datasets import extract_datasets
    from securebase.errors import ReasonRequired

    if frame not in ("participants", "visits", "resource_use"):
        raise FieldError("frame", frame, "participants, visits or resource_use")

    def run(u: Any, a: Any) -> str:
        data = extract_datasets(u.session, a)
        why = (reason or "").strip()
        if not data.blinded and not u.trial(trial_id).locked and len(why) < 5:
            raise ReasonRequired(f"exporting '{frame}' with the allocation (arm) before the database is locked needs a "
                                 "reason, kept in the audit trail (for example 'DMC closed session, March 2027'); "
                                 "give it on the Exports page, or with ?reason=... in the API")
        df = getattr(data, frame)
        u.log_event("dataset_exported", table_name="analysis", record_id=f"{trial_id}:{frame}", trial_id=trial_id,
                    detail={"frame": frame, "rows": len(df), "blinded": data.blinded, "arm_level": not data.blinded,
                            "reason": why or None})
        buf = io.StringIO()
        frame_to_csv(df, buf, index=False)
        return buf.getvalue()
    return write(request, user, trial_id, run, reason=(reason or None))
