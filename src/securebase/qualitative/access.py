"""Who may do what with qualitative data. Checked here, in the services, not only in the pages.

Qualitative researchers are blinded (``securebase.trial.roles.BLINDED_ROLES``): they code and read the
framework matrix but never see an arm. Site-restricted users see only their sites' participants.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from securebase.errors import BlindingError, NotFound, PermissionDenied
from securebase.store.tables import Participant, Transcript
from securebase.trial.roles import Actor, Role

#: May read transcripts, codes, segments, memos and the framework matrix.
READ_ROLES = frozenset({Role.qualitative_researcher, Role.coder, Role.trial_manager, Role.administrator,
                        Role.data_manager, Role.unblinded_statistician, Role.blinded_statistician})
#: May import transcripts (with consent checked) and pseudonymise them.
IMPORT_ROLES = frozenset({Role.qualitative_researcher, Role.trial_manager, Role.administrator, Role.data_manager})
#: May create and version codebooks.
CODEBOOK_ROLES = frozenset({Role.qualitative_researcher, Role.trial_manager, Role.administrator})
#: May apply codes and write memos.
CODING_ROLES = frozenset({Role.qualitative_researcher, Role.coder, Role.administrator})
#: May export or import a REFI-QDA project.
EXCHANGE_ROLES = frozenset({Role.qualitative_researcher, Role.trial_manager, Role.administrator})

_WHAT = {READ_ROLES: "read qualitative data", IMPORT_ROLES: "import transcripts",
         CODEBOOK_ROLES: "edit codebooks", CODING_ROLES: "code transcripts and write memos",
         EXCHANGE_ROLES: "exchange REFI-QDA projects"}


def as_session(uow_or_session: Any) -> Session:
    """Accept a unit of work or a bare (read) session."""
    return uow_or_session.session if hasattr(uow_or_session, "session") else uow_or_session


def require(actor: Actor, allowed: frozenset[Role], trial_id: str | None = None) -> None:
    if trial_id is not None and actor.trial_id != trial_id:
        raise PermissionDenied(f"user '{actor.username}' is acting on trial '{actor.trial_id}', not '{trial_id}'; "
                               "open the trial you have a role on")
    if not actor.roles & allowed:
        roles = ", ".join(sorted(r.value for r in actor.roles)) or "none"
        need = ", ".join(sorted(r.value for r in allowed))
        raise PermissionDenied(f"user '{actor.username}' (roles: {roles}) may not {_WHAT.get(allowed, 'do this')}; "
                               f"it needs one of: {need}. Ask a trial manager for the role")


def require_arm_visible(actor: Actor) -> None:
    if not actor.can_see_allocation():
        raise BlindingError(f"user '{actor.username}' is blinded to allocation, so the framework matrix cannot be "
                            "filtered or split by arm; remove the arm filter")


def participant_for(session: Session, actor: Actor, participant_id: str) -> Participant:
    from sqlalchemy import select

    p = session.execute(select(Participant).where(Participant.trial_id == actor.trial_id,
                                                  Participant.participant_id == participant_id)).scalar_one_or_none()
    if p is None or not actor.can_reach_site(p.site_code):
        raise NotFound(f"participant '{participant_id}' is not in trial '{actor.trial_id}' at a site you can reach; "
                       "check the trial ID")
    return p


def transcript_for(session: Session, actor: Actor, transcript_id: int) -> Transcript:
    """The transcript, if it belongs to the actor's trial and (when linked) to a site they reach."""
    t = session.get(Transcript, transcript_id)
    if t is None or t.trial_id != actor.trial_id:
        raise NotFound(f"transcript {transcript_id} is not in trial '{actor.trial_id}'; list them with "
                       "`securebase qual list`")
    if t.participant_pk is not None and actor.sites is not None:
        p = session.get(Participant, t.participant_pk)
        if p is None or not actor.can_reach_site(p.site_code):
            raise NotFound(f"transcript {transcript_id} is not in trial '{actor.trial_id}' at a site you can reach")
    return t
