"""Hand-made participants and linked rows for the derivation tests."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from trial_world import actor, add_users, days_ago

from securebase.store.tables import (
    LinkageConsent,
    LinkageExtract,
    LinkageIdentifier,
    LinkedRecord,
    Participant,
)

MALT = "ng26-maltreatment"


def maltreatment_trial(store: Any, n: int = 3, back: int = 400) -> list[str]:
    """The maltreatment trial with ``n`` children randomised ``back`` days ago (no visits done)."""
    from securebase.protocol import load_protocol
    from securebase.trial import consent, enrol, screening
    from securebase.trial.randomise import randomise
    from securebase.trial.setup import create_trial

    with store.unit_of_work(actor="test-setup") as uow:
        create_trial(uow, load_protocol(MALT), seed=5)
        uow.commit()
    add_users(store, {"mrec": ("site_recruiter", None), "mstat": ("unblinded_statistician", None),
                      "mdm": ("data_manager", None)}, trial=MALT)
    a = actor(store, "mrec", MALT)
    out = []
    for i in range(n):
        dob = (date.today() - timedelta(days=365 * (8 + i) + 40)).isoformat()
        with store.unit_of_work(actor="mrec") as uow:
            rec = screening.screen(uow, a, site_code="LA01", screened_on=days_ago(back + 5), answers={
                "date_of_birth": dob, "maltreatment_status": "maltreated", "maltreatment_types": ["neglect"],
                "safe_to_take_part": True})
            consent.record_consent(uow, a, rec.screening_number, kind="carer_consent", form_version="1.0",
                                   signatory_role="birth_parent", signed_on=days_ago(back + 4))
            consent.record_consent(uow, a, rec.screening_number, kind="child_assent", form_version="1.0",
                                   signatory_role="child", signed_on=days_ago(back + 4))
            p = enrol.enrol(uow, a, rec.screening_number, enrolled_on=days_ago(back + 3))
            randomise(uow, a, p.participant_id, on=days_ago(back))
            uow.commit()
        out.append(p.participant_id)
    return out


def link_rows(store: Any, trial: str, pid: str, *, sources: tuple[str, ...] = ("ssda903", "cin", "school"),
              consent: bool = True) -> int:
    """Consent and identifiers for one participant, written directly (hand-made rows); returns its pk."""
    with store.unit_of_work(actor="test-setup") as uow:
        p = uow.session.execute(select(Participant).where(Participant.trial_id == trial,
                                                          Participant.participant_id == pid)).scalar_one()
        if consent:
            uow.session.add(LinkageConsent(trial_id=trial, participant_pk=p.id, basis="consent", reference="form 1.0",
                                           sources=list(sources), given_on=p.enrolled_on, recorded_by="test-setup"))
        for kind in ("la_child_id", "upn"):
            uow.session.add(LinkageIdentifier(trial_id=trial, participant_pk=p.id, kind=kind, site_code=p.site_code,
                                              token=b"hand-made", lookup=f"{kind}-{pid}"))
        uow.commit()
        return p.id


def extract(store: Any, trial: str, source: str, start: date, end: date, records: list[dict[str, Any]],
            site: str = "LA01") -> int:
    with store.unit_of_work(actor="test-setup") as uow:
        x = LinkageExtract(trial_id=trial, site_code=site, source=source, period_start=start, period_end=end,
                           extract_date=end, content_sha256=f"{source}-{start}-{len(records)}-{site}",
                           imported_by="test-setup")
        uow.session.add(x)
        uow.session.flush()
        for r in records:
            uow.session.add(LinkedRecord(extract_pk=x.id, trial_id=trial, **r))
        uow.commit()
        return x.id
