"""Safeguarding in the JSON API: the same services and checks as the pages (a concern is 404 to everyone but
the safeguarding lead, the chief investigator and the person who raised it)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from securebase.notify import mailer_from_settings
from securebase.trial.safety import adverse, blinding, concerns, deviations
from securebase.web.deps import api_user, plain, read, settings_of, write

router = APIRouter(prefix="/api", tags=["safeguarding"])
User = Annotated[str, Depends(api_user)]
TrialId = Annotated[str, Path(max_length=64, description="Trial id, e.g. ng26-care")]
Pid = Annotated[str, Path(max_length=32, description="Participant trial ID, e.g. CARE-0014")]
ConcernId = Annotated[int, Path(ge=1, le=2_000_000_000, description="Concern number (SG-0007 is 7)")]
Text = Annotated[str, Field(max_length=10000)]


class Body(BaseModel):
    """As the main API's bodies: unknown fields refused; nesting, size and characters bounded first."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _bounded(cls, data: Any) -> Any:
        from securebase.trial.bounds import check_json

        check_json(data, "body", max_depth=8, max_items=5000, max_string=20_000, max_bytes=500_000)
        return data


class ConcernIn(Body):
    source: str = Field(max_length=32, description="visit, video, questionnaire_item, intervention_session, phone_call")
    what_seen_or_said: Text
    immediate_action: Text = ""
    source_detail: str = Field("", max_length=500)


class ReferralIn(Body):
    made: bool
    to: str = Field("", max_length=500)
    at: datetime | None = Field(None, description="When the referral was made (UTC unless an offset is given)")
    reference: str = Field("", max_length=120)


class SignOffIn(Body):
    assessment: Text


class FollowUpIn(Body):
    note: Text
    close: bool = False


@router.post("/trials/{trial_id}/participants/{pid}/safeguarding", status_code=201,
             summary="Raise a safeguarding concern (any role); alerts the safeguarding lead")
def raise_concern(request: Request, user: User, trial_id: TrialId, pid: Pid, body: ConcernIn) -> dict[str, Any]:
    mailer = mailer_from_settings(settings_of(request))
    cid = write(request, user, trial_id, lambda u, a: concerns.raise_concern(
        u, a, pid, source=body.source, what_seen_or_said=body.what_seen_or_said,
        immediate_action=body.immediate_action, source_detail=body.source_detail, mailer=mailer,
        base_url=str(request.base_url)).id)
    return plain(read(request, user, trial_id, lambda s, a: concerns.get_concern(s, a, cid)))


@router.get("/trials/{trial_id}/safeguarding/tasks", summary="The safeguarding lead's task list")
def tasks(request: Request, user: User, trial_id: TrialId) -> list[dict[str, Any]]:
    return plain(read(request, user, trial_id, concerns.task_list))


@router.get("/trials/{trial_id}/safeguarding/mine", summary="Concerns you raised")
def mine(request: Request, user: User, trial_id: TrialId) -> list[dict[str, Any]]:
    return plain(read(request, user, trial_id, concerns.raised_by_me))


@router.get("/trials/{trial_id}/safeguarding/{concern_id}", summary="One safeguarding concern")
def concern(request: Request, user: User, trial_id: TrialId, concern_id: ConcernId) -> dict[str, Any]:
    return plain(read(request, user, trial_id, lambda s, a: concerns.get_concern(s, a, concern_id)))


@router.post("/trials/{trial_id}/safeguarding/{concern_id}/referral", summary="Record the referral to the front door")
def referral(request: Request, user: User, trial_id: TrialId, concern_id: ConcernId, body: ReferralIn) -> dict[str, Any]:
    write(request, user, trial_id, lambda u, a: concerns.record_referral(
        u, a, concern_id, made=body.made, to=body.to, at=body.at, reference_number=body.reference))
    return plain(read(request, user, trial_id, lambda s, a: concerns.get_concern(s, a, concern_id)))


@router.post("/trials/{trial_id}/safeguarding/{concern_id}/sign-off", summary="Sign off (safeguarding lead)")
def sign_off(request: Request, user: User, trial_id: TrialId, concern_id: ConcernId, body: SignOffIn) -> dict[str, Any]:
    write(request, user, trial_id, lambda u, a: concerns.sign_off(u, a, concern_id, assessment=body.assessment))
    return plain(read(request, user, trial_id, lambda s, a: concerns.get_concern(s, a, concern_id)))


@router.post("/trials/{trial_id}/safeguarding/{concern_id}/follow-up", status_code=201,
             summary="Add a follow-up note (safeguarding lead); optionally close")
def follow_up(request: Request, user: User, trial_id: TrialId, concern_id: ConcernId, body: FollowUpIn) -> dict[str, Any]:
    write(request, user, trial_id, lambda u, a: concerns.add_follow_up(u, a, concern_id, body.note, close=body.close))
    return plain(read(request, user, trial_id, lambda s, a: concerns.get_concern(s, a, concern_id)))


# -- adverse events, deviations, guesses of allocation ----------------------------------------------------
class AdverseEventIn(Body):
    category: str = Field(max_length=48, description="An expected-event id of the protocol's safety block, or 'other'")
    description: Text
    onset_on: date
    aware_on: date | None = Field(None, description="The day the team became aware (default today)")
    serious: bool = False
    seriousness: list[Annotated[str, Field(max_length=48)]] = Field(default_factory=list, max_length=10)
    outcome: str = Field("ongoing", max_length=24)


class AssessmentIn(Body):
    relatedness: str = Field(max_length=16)
    expectedness: str = Field(max_length=16)
    note: Text = ""


class AeFollowUpIn(Body):
    note: Text
    description: Text | None = None
    outcome: str | None = Field(None, max_length=24)
    serious: bool | None = None
    seriousness: list[Annotated[str, Field(max_length=48)]] | None = Field(None, max_length=10)
    onset_on: date | None = None
    category: str | None = Field(None, max_length=48)


class ReportedIn(Body):
    reported_on: date


class DeviationIn(Body):
    site_code: str = Field(max_length=32)
    category: str = Field(max_length=48)
    description: Text
    occurred_on: date
    aware_on: date | None = None
    serious_breach: bool = False
    corrective_action: Text = ""
    participant_id: str | None = Field(None, max_length=32)
    unblinded_assessor: str | None = Field(None, max_length=120)


class GuessIn(Body):
    guess: str = Field(max_length=40, description="An arm id of the protocol, or dont_know")


AeId = Annotated[int, Path(ge=1, le=2_000_000_000, description="Adverse event number (AE-0007 is 7)")]


def _ae(request: Request, user: str, trial_id: str, ae_id: int) -> dict[str, Any]:
    return plain(read(request, user, trial_id, lambda s, a: adverse.versions(s, a, ae_id)[-1]))


@router.post("/trials/{trial_id}/participants/{pid}/adverse-events", status_code=201, summary="Record an adverse event")
def ae_post(request: Request, user: User, trial_id: TrialId, pid: Pid, body: AdverseEventIn) -> dict[str, Any]:
    ae_id = write(request, user, trial_id, lambda u, a: adverse.record_adverse_event(
        u, a, pid, category=body.category, description=body.description, onset_on=body.onset_on,
        aware_on=body.aware_on, serious=body.serious, seriousness=body.seriousness, outcome=body.outcome).id)
    return {"id": ae_id, "reference": adverse.reference(ae_id), **_ae(request, user, trial_id, ae_id)}


@router.get("/trials/{trial_id}/adverse-events", summary="Adverse events (relatedness withheld from blinded roles)")
def ae_list(request: Request, user: User, trial_id: TrialId) -> list[dict[str, Any]]:
    return plain(read(request, user, trial_id, adverse.list_adverse_events))


@router.get("/trials/{trial_id}/adverse-events/overdue", summary="Reportable SAEs past their 15-day due date")
def ae_overdue(request: Request, user: User, trial_id: TrialId) -> list[dict[str, Any]]:
    return plain(read(request, user, trial_id, adverse.overdue))


@router.get("/trials/{trial_id}/adverse-events/{ae_id}/versions", summary="Every version of an adverse event")
def ae_versions(request: Request, user: User, trial_id: TrialId, ae_id: AeId) -> list[dict[str, Any]]:
    return plain(read(request, user, trial_id, lambda s, a: adverse.versions(s, a, ae_id)))


@router.post("/trials/{trial_id}/adverse-events/{ae_id}/assessment", summary="Relatedness and expectedness (CI)")
def ae_assess(request: Request, user: User, trial_id: TrialId, ae_id: AeId, body: AssessmentIn) -> dict[str, Any]:
    write(request, user, trial_id, lambda u, a: adverse.assess(u, a, ae_id, relatedness=body.relatedness,
                                                               expectedness=body.expectedness, note=body.note))
    return _ae(request, user, trial_id, ae_id)


@router.post("/trials/{trial_id}/adverse-events/{ae_id}/follow-up", status_code=201, summary="A follow-up report")
def ae_follow_up(request: Request, user: User, trial_id: TrialId, ae_id: AeId, body: AeFollowUpIn) -> dict[str, Any]:
    changes = {k: v for k, v in body.model_dump(exclude={"note"}).items() if v is not None}
    write(request, user, trial_id, lambda u, a: adverse.follow_up(u, a, ae_id, note=body.note, **changes))
    return _ae(request, user, trial_id, ae_id)


@router.post("/trials/{trial_id}/adverse-events/{ae_id}/reported", summary="Reported to the ethics committee")
def ae_reported(request: Request, user: User, trial_id: TrialId, ae_id: AeId, body: ReportedIn) -> dict[str, Any]:
    write(request, user, trial_id, lambda u, a: adverse.mark_reported(u, a, ae_id, body.reported_on))
    return _ae(request, user, trial_id, ae_id)


@router.get("/trials/{trial_id}/deviations", summary="Protocol deviations and serious breaches")
def deviations_get(request: Request, user: User, trial_id: TrialId, overdue_only: bool = False) -> list[dict[str, Any]]:
    return plain(read(request, user, trial_id, lambda s, a: deviations.list_deviations(s, a, overdue_only=overdue_only)))


@router.post("/trials/{trial_id}/deviations", status_code=201, summary="Record a deviation or serious breach")
def deviations_post(request: Request, user: User, trial_id: TrialId, body: DeviationIn) -> dict[str, Any]:
    dev_id = write(request, user, trial_id, lambda u, a: deviations.record_deviation(
        u, a, site_code=body.site_code, category=body.category, description=body.description,
        occurred_on=body.occurred_on, aware_on=body.aware_on, serious_breach=body.serious_breach,
        corrective_action=body.corrective_action, participant_id=body.participant_id,
        unblinded_assessor=body.unblinded_assessor).id)
    return next(d for d in plain(read(request, user, trial_id, deviations.list_deviations)) if d["id"] == dev_id)


@router.post("/trials/{trial_id}/participants/{pid}/blinding-guess", status_code=201,
             summary="The assessor's guess of allocation at the 12-month visit")
def guess_post(request: Request, user: User, trial_id: TrialId, pid: Pid, body: GuessIn) -> dict[str, str]:
    write(request, user, trial_id, lambda u, a: blinding.record_guess(u, a, pid, body.guess))
    return {"participant_id": pid, "recorded": "yes"}
