"""A small synthetic trial world built through the real services (shared by the trial and web tests).

Users: rec1/rec2 (site recruiters at LA01/LA02), assessor1/assessor2 (outcome assessors at LA01/LA02),
dm (data manager, all sites), tm (trial manager), coder, bstat (blinded statistician), qual (qualitative
researcher), ustat (unblinded statistician). Participants are screened, consented, enrolled and randomised
200 days ago, so the 6-month visit window is open today.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from securebase.instruments import load_instrument
from securebase.store import Store
from securebase.store.tables import User
from securebase.trial import consent, enrol, screening
from securebase.trial.audit_view import actor_for
from securebase.trial.roles import Actor
from securebase.trial.setup import grant_role, hash_password

TRIAL = "ng26-care"
PASSWORD = "correct-horse-battery"
USERS = {
    "rec1": ("site_recruiter", "LA01"), "rec2": ("site_recruiter", "LA02"),
    "assessor1": ("outcome_assessor", "LA01"), "assessor2": ("outcome_assessor", "LA02"),
    "dm": ("data_manager", None), "tm": ("trial_manager", None), "coder": ("coder", None),
    "bstat": ("blinded_statistician", None), "qual": ("qualitative_researcher", None),
    "ustat": ("unblinded_statistician", None), "dm2": ("data_manager", "LA02"),
}
BLINDED_USERS = ("assessor1", "coder", "bstat", "qual", "dm")


def days_ago(n: int) -> date:
    return date.today() - timedelta(days=n)


_HASH: list[str] = []


def password_hash() -> str:
    """argon2 is deliberately slow (~0.1-0.7 s a hash): hash the shared test password once per process."""
    if not _HASH:
        _HASH.append(hash_password(PASSWORD))
    return _HASH[0]


def add_users(store: Store, users: dict[str, tuple[str, str | None]] | None = None, trial: str = TRIAL) -> None:
    with store.unit_of_work(actor="test-setup") as uow:
        for name, (role, site) in (users or USERS).items():
            u = User(username=name, display_name=name, password_hash=password_hash(), active=True, failed_logins=0)
            uow.session.add(u)
            uow.session.flush()
            grant_role(uow, u, trial, role, site)
        uow.commit()


def actor(store: Store, username: str, trial: str = TRIAL) -> Actor:
    with store.read() as s:
        return actor_for(s, username, trial)


def answers(age: int = 9, care_status: str = "foster", **kw: Any) -> dict[str, Any]:
    dob = date.today().replace(year=date.today().year - age) - timedelta(days=220)
    out = {"date_of_birth": dob.isoformat(), "care_status": care_status, "carer_available": True,
           "placement_ending_planned": False}
    out.update(kw)
    return out


def screen_and_consent(store: Store, user: str, site: str, *, age: int = 9, care_status: str = "foster",
                       back: int = 210) -> str:
    a = actor(store, user)
    with store.unit_of_work(actor=user) as uow:
        rec = screening.screen(uow, a, site_code=site, answers=answers(age, care_status), screened_on=days_ago(back))
        number = rec.screening_number
        consent.record_consent(uow, a, number, kind="carer_consent", form_version="2.0",
                               signatory_role="foster_carer", signed_on=days_ago(back - 3))
        consent.record_consent(uow, a, number, kind="child_assent", form_version="1.0", signatory_role="child",
                               signed_on=days_ago(back - 3))
        if care_status in consent.LA_PR_PLACEMENTS:
            consent.record_consent(uow, a, number, kind="la_consent", form_version="1.1",
                                   signatory_role="social_worker", signed_on=days_ago(back - 3))
        uow.commit()
    return number


def enrol_and_randomise(store: Store, user: str, site: str, *, back: int = 200, **kw: Any) -> tuple[str, str]:
    """Returns (participant_id, arm)."""
    from securebase.trial.randomise import randomise

    number = screen_and_consent(store, user, site, back=back + 10, **kw)
    a = actor(store, user)
    with store.unit_of_work(actor=user) as uow:
        p = enrol.enrol(uow, a, number, sex="female", enrolled_on=days_ago(back + 2))
        view = randomise(uow, a, p.participant_id, on=days_ago(back))
        uow.commit()
    return p.participant_id, view.arm


def valid_responses(name: str, rng: random.Random | None = None) -> dict[str, Any]:
    """A complete, valid set of answers for an instrument (synthetic)."""
    rng = rng or random.Random(1)
    inst = load_instrument(name)
    out: dict[str, Any] = {}
    for it in inst.items:
        if it.allowed:
            out[it.code] = rng.choice(list(it.allowed))
        elif it.response_type == "date":
            out[it.code] = days_ago(10).isoformat()
        elif it.response_type in ("integer", "decimal"):
            lo = it.minimum if isinstance(it.minimum, (int, float)) else 0
            out[it.code] = int(lo) if it.response_type == "integer" else float(lo)
        else:
            out[it.code] = "synthetic text"
    return out


def build_world(store: Store, n_per_site: int = 3) -> dict[str, Any]:
    add_users(store)
    parts: dict[str, list[tuple[str, str]]] = {"LA01": [], "LA02": []}
    for site, user in (("LA01", "rec1"), ("LA02", "rec2")):
        for i in range(n_per_site):
            parts[site].append(enrol_and_randomise(store, user, site, age=6 + 3 * i,
                                                   care_status=("foster", "adopted", "kinship")[i % 3]))
    return {"participants": parts}
