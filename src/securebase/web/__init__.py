"""The web app: staff pages (Jinja2) and the JSON API under /api, built by :func:`create_app`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI


def create_app(settings: Any, **kwargs: Any) -> FastAPI:
    from securebase.web.app import create_app as _create

    return _create(settings, **kwargs)


__all__ = ["create_app"]
