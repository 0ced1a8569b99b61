"""Test helpers: enrol synthetic participants (screening record, consents, participant row) in bulk,
and build trials whose protocol is a variant of a built-in one (permuted blocks, unequal ratios).

Only synthetic data. The real screening/consent/enrolment services belong to another area; these
helpers write the same tables directly through a unit of work (so every row is audited).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import lru_cache

import numpy as np
import yaml

from securebase.protocol import Protocol, load_protocol, protocol_from_yaml_text
from securebase.store import Store, UnitOfWork
from securebase.store.tables import Consent, Participant, ScreeningRecord, User
from securebase.trial.consent import needs_la_consent
from securebase.trial.roles import Actor, Role
from securebase.trial.setup import create_trial, grant_role, hash_password

CARE_STATUSES = ("adopted", "special_guardianship", "foster", "kinship", "residential")
PASSWORD = "correct-horse-battery"


def variant(base: str = "ng26-care", **stratification: object) -> Protocol:
    """A built-in protocol with its stratification section changed (validated through YAML)."""
    proto = load_protocol(base)
    data = proto.to_dict()
    data["stratification"].update(stratification)
    return protocol_from_yaml_text(yaml.safe_dump(data, sort_keys=False), "variant")


def with_ratios(proto: Protocol, ratios: Sequence[int]) -> Protocol:
    data = proto.to_dict()
    for arm, r in zip(data["arms"], ratios, strict=True):
        arm["ratio"] = int(r)
    return protocol_from_yaml_text(yaml.safe_dump(data, sort_keys=False), "variant")


@lru_cache(maxsize=1)
def _password_hash() -> str:
    return hash_password(PASSWORD)  # argon2 is slow on purpose: hash once per test session


def make_trial(store: Store, proto: Protocol, *, seed: int = 20261126,
               users: dict[str, tuple[Role, str | None]] | None = None) -> None:
    """Create the trial, an administrator 'admin' and the named users with (role, site)."""
    users = {"admin": (Role.administrator, None), **(users or {})}
    with store.unit_of_work(actor="test-setup") as uow:
        create_trial(uow, proto, seed=seed, protocol_yaml=yaml.safe_dump(proto.to_dict(), sort_keys=False))
        for name, (role, site) in users.items():
            u = User(username=name, display_name=name, password_hash=_password_hash(), active=True, failed_logins=0)
            uow.session.add(u)
            uow.session.flush()
            grant_role(uow, u, proto.id, role, site)
        uow.commit()


def admin(trial_id: str) -> Actor:
    return Actor("admin", trial_id, frozenset({Role.administrator}), None)


def eligible_answers(proto: Protocol, age: float, values: dict[str, str] | None = None) -> dict[str, object]:
    """Screening answers meeting every eligibility criterion of ``proto`` (randomisation re-checks them)."""
    values = values or {}
    out: dict[str, object] = {"age_years": age}
    for c in proto.eligibility:
        if c.kind == "in_set":
            out[c.field] = values.get(c.field) or c.allowed[0]
        elif c.kind == "any_in_set":
            out[c.field] = [values.get("maltreatment_type") or c.allowed[0]]
        elif c.kind == "boolean":
            out[c.field] = c.expected
    return out


def enrol(uow: UnitOfWork, proto: Protocol, n: int, *, seed: int = 7, start: int = 1, ages: Sequence[float] | None = None,
          consent: bool = True, assent: bool = True, la_consent: bool = True, eligible: bool = True, strata: bool = True,
          on: date = date(2026, 11, 2), answers: dict[str, object] | None = None) -> list[str]:
    """Enrol ``n`` synthetic participants ``PREFIX-0001``...; returns their trial IDs."""
    rng = np.random.default_rng(seed)
    sites = [s.code for s in proto.sites]
    ids: list[str] = []
    screenings, participants = [], []
    for i in range(n):
        num = start + i
        pid = f"{proto.participant_prefix}-{num:04d}"
        age = float(ages[i]) if ages is not None else float(rng.integers(5, 18))
        site = sites[int(rng.integers(len(sites)))]
        band = "5-10" if int(age) <= 10 else "11-17"
        values = {"age_band": band}
        if "care_status" in proto.factor_names:
            values["care_status"] = CARE_STATUSES[int(rng.integers(len(CARE_STATUSES)))]
        if "maltreatment_type" in proto.factor_names:
            values["maltreatment_type"] = ("sexual", "physical", "emotional", "neglect")[int(rng.integers(4))]
        p = Participant(trial_id=proto.id, participant_id=pid, site_code=site, status="enrolled", enrolled_on=on,
                        age_years=age, age_band=band, care_status=values.get("care_status"),
                        maltreatment_type=values.get("maltreatment_type"), strata=values if strata else {})
        if not strata:
            p.care_status = None
            p.maltreatment_type = None
        participants.append(p)
        screenings.append(ScreeningRecord(trial_id=proto.id, site_code=site, screening_number=f"S{num:05d}",
                                          screened_on=on, answers={**eligible_answers(proto, age, values), **(answers or {})}, eligible=eligible,
                                          ineligible_reasons="" if eligible else "Aged 5 to 17 at randomisation: age 4",
                                          approached=True, outcome="enrolled", screened_by="recruiter"))
        ids.append(pid)
    uow.session.add_all(participants)
    uow.session.flush()
    for p, s in zip(participants, screenings, strict=True):
        s.participant_pk = p.id
    uow.session.add_all(screenings)
    uow.session.flush()
    consents = []
    for p, s in zip(participants, screenings, strict=True):
        if consent:
            consents.append(Consent(trial_id=proto.id, screening_pk=s.id, participant_pk=p.id, kind="carer_consent",
                                    form_version="1.0", signatory_role="carer", given=True, signed_on=on,
                                    recorded_by="recruiter"))
        if assent:
            consents.append(Consent(trial_id=proto.id, screening_pk=s.id, participant_pk=p.id, kind="child_assent",
                                    form_version="1.0", signatory_role="child", given=True, signed_on=on,
                                    recorded_by="recruiter"))
        if la_consent and needs_la_consent(s.answers or {}):  # the local authority holds parental responsibility
            consents.append(Consent(trial_id=proto.id, screening_pk=s.id, participant_pk=p.id, kind="la_consent",
                                    form_version="1.0", signatory_role="local_authority", given=True, signed_on=on,
                                    recorded_by="recruiter"))
    uow.session.add_all(consents)
    uow.session.flush()
    return ids


def bulk_enrol(uow: UnitOfWork, proto: Protocol, n: int, *, seed: int = 11, on: date = date(2026, 11, 2)) -> list[str]:
    """Enrol ``n`` participants fast with Core bulk inserts (test set-up only: these rows are not audited)."""
    from sqlalchemy import insert, select

    rng = np.random.default_rng(seed)
    sites = [s.code for s in proto.sites]
    rows, ids = [], []
    for i in range(n):
        pid = f"{proto.participant_prefix}-{i + 1:04d}"
        age = float(rng.integers(5, 18))
        band = "5-10" if int(age) <= 10 else "11-17"
        values = {"age_band": band}
        if "care_status" in proto.factor_names:
            values["care_status"] = CARE_STATUSES[int(rng.integers(len(CARE_STATUSES)))]
        if "maltreatment_type" in proto.factor_names:
            values["maltreatment_type"] = ("sexual", "physical", "emotional", "neglect")[int(rng.integers(4))]
        rows.append({"trial_id": proto.id, "participant_id": pid, "site_code": sites[int(rng.integers(len(sites)))],
                     "status": "enrolled", "enrolled_on": on, "age_years": age, "age_band": band,
                     "care_status": values.get("care_status"), "maltreatment_type": values.get("maltreatment_type"),
                     "strata": values})
        ids.append(pid)
    s = uow.session
    s.execute(insert(Participant), rows)
    pks = dict(s.execute(select(Participant.participant_id, Participant.id).where(Participant.trial_id == proto.id)).all())
    s.execute(insert(ScreeningRecord), [
        {"trial_id": proto.id, "site_code": r["site_code"], "screening_number": f"S{i + 1:05d}", "screened_on": on,
         "answers": eligible_answers(proto, r["age_years"], r["strata"]), "eligible": True, "ineligible_reasons": "", "approached": True, "outcome": "enrolled",
         "participant_pk": pks[r["participant_id"]], "screened_by": "recruiter"} for i, r in enumerate(rows)])
    consents = []
    for r in rows:
        pk = pks[r["participant_id"]]
        kinds = ["carer_consent", "child_assent"]
        if needs_la_consent(eligible_answers(proto, r["age_years"], r["strata"])):
            kinds.append("la_consent")
        consents += [{"trial_id": proto.id, "participant_pk": pk, "screening_pk": None, "kind": k, "form_version": "1.0",
                      "signatory_role": "carer", "given": True, "signed_on": on, "recorded_by": "recruiter"} for k in kinds]
    s.execute(insert(Consent), consents)
    return ids
