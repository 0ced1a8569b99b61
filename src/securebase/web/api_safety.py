"""Safeguarding in the JSON API: the same services and checks as the pages (a concern is 404 to everyone but
the safeguarding lead, the chief investigator and the person who raised it)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from securebase.notify import mailer_from_settings
from securebase.trial.safety import concerns
from securebase.web.deps import api_user, plain, read, settings_of, write

router = APIRouter(prefix="/api", tags=["safeguarding"])
User = Annotated[str, Depends(api_user)]
TrialId = Annotated[str, Path(max_length=64, description="Trial id, e.g. ng26-care")]
Pid = Annotated[str, Path(max_length=32, description="Participant trial ID, e.g. CARE-0014")]
ConcernId = Annotated[int, Path(ge=1, le=2_000_000_000, description="Concern number (SG-0007 is 7)")]
Text = Annotated[str, Field(max_length=10000)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


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
