"""A trial world for the safety tests, built once per backend per module (store, users, participants)."""

from __future__ import annotations

from typing import Any

import pytest
from trial_world import actor, add_users, build_world

from securebase.protocol import load_protocol
from securebase.store import open_store
from securebase.trial.roles import Role
from securebase.trial.safety import concerns
from securebase.trial.setup import create_trial, create_user, grant_role

SAFETY_USERS = {"dsl": ("safeguarding_lead", None), "ci": ("chief_investigator", None),
                "assessor": ("outcome_assessor", None)}


def safety_world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    import importlib.util
    from pathlib import Path

    # the top-level tests/conftest.py by path: a bare ``import conftest`` may find another folder's conftest
    spec = importlib.util.spec_from_file_location("sb_root_conftest", Path(__file__).parents[1] / "conftest.py")
    root = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(root)  # type: ignore[union-attr]
    _drop_pg_db, _new_pg_db = root._drop_pg_db, root._new_pg_db

    cleanup = []
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('safety') / 'store.db'}"
    else:
        template = request.getfixturevalue("pg_template")
        if template is None:
            pytest.skip("PostgreSQL not reachable on 127.0.0.1:5432 (set CI=true to make this a failure)")
        name, url = _new_pg_db(template)
        cleanup.append(lambda: _drop_pg_db(name))
    store = open_store(url)
    proto = load_protocol("ng26-care")
    with store.unit_of_work(actor="test-setup") as uow:
        create_trial(uow, proto, seed=20261126)
        admin = create_user(uow, "admin", "correct-horse-battery")
        grant_role(uow, admin, proto.id, Role.administrator)
        uow.commit()
    w = build_world(store)
    add_users(store, SAFETY_USERS)
    with store.unit_of_work(actor="dsl") as uow:
        concerns.set_contact(uow, actor(store, "dsl"), "dsl", "dsl@example.org")
        uow.commit()
    everyone = w["participants"]["LA01"] + w["participants"]["LA02"]
    w["inter"] = next(p for p, arm in everyone if arm == "intervention")
    w["usual"] = next(p for p, arm in everyone if arm == "usual_care")
    w["la02"] = w["participants"]["LA02"][0][0]
    w["store"] = store

    def close() -> None:
        store.dispose()
        for f in cleanup:
            f()
    w["close"] = close
    return w
