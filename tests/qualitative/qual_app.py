"""A minimal FastAPI app mounting the qualitative router with a test auth dependency (the user name
comes from the ``X-Test-User`` header or the ``test_user`` cookie)."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException, Request

from securebase.qualitative.web import router
from securebase.store import Store


def make_app(store: Store) -> FastAPI:
    app = FastAPI()

    def get_store() -> Store:
        return store

    def current_user(request: Request) -> str:
        user = request.headers.get("X-Test-User") or request.cookies.get("test_user")
        if not user:
            raise HTTPException(status_code=401, detail="log in first")
        return user

    app.include_router(router(get_store=get_store, current_user=current_user))
    return app
