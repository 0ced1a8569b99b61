"""Respondent pages: questionnaires answered by link, without a staff log-in, on the GOV.UK design system.

They work without JavaScript (plain HTML forms, no script at all, so a strict Content-Security-Policy holds),
show nothing that differs between arms and no trial identifier, and import services only.
"""

from securebase.web.respond.pages import respond_router

__all__ = ["respond_router"]
