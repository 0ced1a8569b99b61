"""Crawl the staff pages as a user: follow every in-app link (GET only) from the home page and the
dashboard, breadth first, and record each page's status. Shared by the navigation and accessibility tests."""

from __future__ import annotations

import re
from collections import deque
from typing import Any

TRIAL = "ng26-care"
SKIP = ("/static", "/api", "/logout", "/export/", ".csv", ".json", ".xlsx", ".qdpx", "/matrix.")
EXTRA_ROLES = {"dmc": "dmc_member", "econ": "health_economist", "admin": "administrator"}
HREF = re.compile(r'href="(/[^"#]*)"')
NAV = re.compile(r'<nav aria-label="Main">(.*?)</nav>', re.S)


def add_extra_users(store: Any) -> None:
    """A DMC member, a health economist and an administrator (all sites) on the trial, once."""
    from sqlalchemy import select
    from trial_world import PASSWORD

    from securebase.store.tables import User
    from securebase.trial.setup import create_user, grant_role

    with store.unit_of_work(actor="test-setup") as uow:
        for name, role in EXTRA_ROLES.items():
            if uow.session.execute(select(User).where(User.username == name)).scalar_one_or_none() is None:
                grant_role(uow, create_user(uow, name, PASSWORD), TRIAL, role)
        uow.commit()


def nav_links(html: str) -> list[str]:
    m = NAV.search(html)
    return HREF.findall(m.group(1)) if m else []


def crawl(client: Any, *, limit: int = 80) -> dict[str, int]:
    """{path: status} of every page reached by following links (at most ``limit`` pages; one participant,
    visit and form of each kind is enough, so paths differing only by identifiers are visited once)."""
    seen: dict[str, int] = {}
    shapes: set[str] = set()
    todo = deque(["/", f"/trials/{TRIAL}/dashboard"])
    while todo and len(seen) < limit:
        path = todo.popleft()
        shape = re.sub(r"(CARE|MALT)-\d+|SCR-[A-Z0-9]+-\d+|/\d+(?=/|$|\?)|[?&](item|entry)=[^&]*", "#", path)
        if path in seen or shape in shapes or any(s in path for s in SKIP):
            continue
        shapes.add(shape)
        r = client.get(path, follow_redirects=True)
        seen[path] = r.status_code
        if r.headers.get("content-type", "").startswith("text/html"):
            for href in HREF.findall(r.text):
                href = href.replace("&amp;", "&")
                if href not in seen:
                    todo.append(href)
    return seen
