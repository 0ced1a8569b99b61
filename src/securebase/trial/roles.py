"""Roles and what each may see and do. Checked in the services, not only in the pages."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Role(str, Enum):
    administrator = "administrator"
    trial_manager = "trial_manager"
    site_recruiter = "site_recruiter"
    outcome_assessor = "outcome_assessor"
    coder = "coder"
    data_manager = "data_manager"
    blinded_statistician = "blinded_statistician"
    unblinded_statistician = "unblinded_statistician"
    dmc_member = "dmc_member"
    health_economist = "health_economist"
    qualitative_researcher = "qualitative_researcher"
    #: The trial's designated safeguarding lead: receives, signs off and follows up safeguarding concerns.
    safeguarding_lead = "safeguarding_lead"
    #: The chief investigator: assesses relatedness and expectedness of adverse events, sees concerns.
    chief_investigator = "chief_investigator"


#: Roles that must never see an allocation by any route.
BLINDED_ROLES = frozenset({Role.outcome_assessor, Role.coder, Role.blinded_statistician,
                           Role.qualitative_researcher, Role.data_manager})
#: Roles allowed to see allocations (the recruiter sees the allocation of their own site's participants
#: at randomisation so that the intervention can be arranged).
UNBLINDED_ROLES = frozenset(set(Role) - BLINDED_ROLES)
#: Roles that may approve an emergency unblinding request.
UNBLINDING_APPROVERS = frozenset({Role.trial_manager, Role.administrator})
#: Roles that may sign off and follow up a safeguarding concern.
SAFEGUARDING_SIGN_OFF = frozenset({Role.safeguarding_lead})
#: Roles that see every safeguarding concern of the trial (besides the person who raised it).
SAFEGUARDING_READERS = frozenset({Role.safeguarding_lead, Role.chief_investigator})


@dataclass(frozen=True)
class Actor:
    """Who is acting: a username, their roles on one trial, and the sites they may reach (None: all)."""

    username: str
    trial_id: str
    roles: frozenset[Role]
    sites: frozenset[str] | None = None

    @property
    def blinded(self) -> bool:
        """Blinded if any of the user's roles on this trial is blinded (the strictest role wins)."""
        return bool(self.roles & BLINDED_ROLES) or not self.roles

    def can_see_allocation(self) -> bool:
        return not self.blinded

    def has(self, *roles: Role) -> bool:
        return bool(self.roles & set(roles))

    def can_reach_site(self, site_code: str) -> bool:
        return self.sites is None or site_code in self.sites

    @classmethod
    def system(cls, trial_id: str, username: str = "system") -> Actor:
        return cls(username, trial_id, frozenset({Role.administrator}), None)
