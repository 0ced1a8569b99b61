"""The per-participant allocation route needs a role that may read the participant *and* see allocation
(issue 15, item 9): not being blinded is not enough. The health economist and the DMC member, refused the
participant, are refused the allocation the same way; the trial manager and unblinded statistician get it."""

from __future__ import annotations

from typing import Any

import pytest

from securebase.trial.accounts import create_api_token
from securebase.trial.roles import BLINDED_ROLES, Role
from securebase.trial.setup import create_user, grant_role


@pytest.fixture(scope="module")
def extra(web: dict[str, Any]) -> dict[str, str]:
    tokens = {}
    with web["store"].unit_of_work(actor="test-setup") as uow:
        for role in (Role.health_economist, Role.dmc_member):
            u = create_user(uow, f"alloc_{role.value}", "correct-horse-battery")
            grant_role(uow, u, "ng26-care", role)
            uow.session.flush()
            tokens[role.value] = create_api_token(uow, u.username, label="tests")
        uow.commit()
    return tokens


@pytest.mark.parametrize("role", ["health_economist", "dmc_member"])
def test_roles_refused_the_participant_are_refused_its_allocation(web, extra, role) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    assert Role(role) not in BLINDED_ROLES  # "not blinded" alone would let them through
    api = TestClient(web["app"], raise_server_exceptions=False, headers={"Authorization": f"Bearer {extra[role]}"})
    base = f"/api/trials/ng26-care/participants/{web['intervention']}"
    participant = api.get(base)
    assert participant.status_code == 403
    allocation = api.get(f"{base}/allocation")
    assert allocation.status_code == participant.status_code, allocation.text
    assert "intervention" not in allocation.text.replace("reading", "")


@pytest.mark.parametrize("user", ["tm", "ustat"])
def test_roles_that_may_see_allocation_get_it(web, api_for, user) -> None:  # type: ignore[no-untyped-def]
    r = api_for(user).get(f"/api/trials/ng26-care/participants/{web['intervention']}/allocation")
    assert r.status_code == 200 and r.json()["arm"] == "intervention"
