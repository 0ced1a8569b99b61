"""Navigation shaped by role: each role sees only the links it may use (the services still check every
request; this only keeps people away from pages that would refuse them)."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from securebase.errors import SecurebaseError
from securebase.trial import access
from securebase.trial.exports import EXPORT_ROLES
from securebase.trial.monitoring import REPORT_ROLES
from securebase.trial.roles import SAFEGUARDING_READERS, Role

QUAL_READ = frozenset({Role.qualitative_researcher, Role.coder, Role.trial_manager, Role.administrator,
                       Role.data_manager, Role.unblinded_statistician, Role.blinded_statistician})
QUERY_ROLES = access.READ_ROLES
#: (path under /trials/<id>, text, roles that may open it)
LINKS: tuple[tuple[str, str, frozenset[Role]], ...] = (
    ("dashboard", "Dashboard", frozenset(Role)),
    ("screening", "Screening", access.READ_ROLES),
    ("participants", "Participants", access.READ_ROLES),
    ("visits", "Visits", access.VISIT_ROLES),
    ("events", "Events", access.READ_ROLES),
    ("queries", "Queries", QUERY_ROLES),
    ("reports", "Reports", REPORT_ROLES),
    ("exports", "Exports", EXPORT_ROLES),
    ("qualitative", "Qualitative", QUAL_READ),
    ("safeguarding", "Safeguarding", SAFEGUARDING_READERS),
)


def roles_of(request: Request, user: str | None, trial_id: str | None) -> frozenset[Role]:
    if not user or not trial_id:
        return frozenset()
    from securebase.trial.audit_view import actor_for
    from securebase.web.deps import store_of

    try:
        with store_of(request).read() as s:
            return actor_for(s, user, trial_id).roles
    except SecurebaseError:
        return frozenset()


def nav_for(request: Request, user: str | None, trial_id: str | None) -> list[dict[str, Any]]:
    """The links of the main navigation for ``user`` on ``trial_id`` (only "Your trials" without a trial)."""
    out: list[dict[str, Any]] = [{"href": "/", "text": "Your trials"}] if user else []
    roles = roles_of(request, user, trial_id)
    for path, text, allowed in LINKS:
        if roles & allowed:
            out.append({"href": f"/trials/{trial_id}/{path}", "text": text})
    return out
