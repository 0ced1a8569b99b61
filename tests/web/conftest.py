"""Fixtures of the web tests: one synthetic trial world per module, and a TestClient factory."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from web_world import build_web_world


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from securebase.web import create_app

    w = build_web_world(tmp_path_factory.mktemp("web"))
    w["app"] = create_app(w["settings"], store=w["store"], secure_cookies=False)
    yield w
    w["store"].dispose()


@pytest.fixture
def client_for(web: dict[str, Any]):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    def make(username: str | None = None) -> Any:
        from web_world import login

        c = TestClient(web["app"], raise_server_exceptions=False)
        if username:
            r = login(c, username)
            assert r.status_code == 200 and "Your trials" in r.text, r.text[:500]
        return c
    return make


@pytest.fixture
def api_for(web: dict[str, Any]):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    def make(username: str) -> Any:
        return TestClient(web["app"], raise_server_exceptions=False,
                          headers={"Authorization": f"Bearer {web['tokens'][username]}"})
    return make
