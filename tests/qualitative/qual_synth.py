"""Synthetic trial data for the qualitative tests: participants, visits, consents, allocations,
encrypted identifier records, users with roles, and short made-up interview transcripts."""

from __future__ import annotations

from datetime import date, timedelta

from securebase.qualitative.readers import ReadTranscript
from securebase.store.crypto import encrypt_identifiers
from securebase.store.tables import Allocation, Consent, Identifier, Participant, User, Visit
from securebase.trial.audit_view import actor_for
from securebase.trial.roles import Role
from securebase.trial.setup import grant_role

TRIAL = "ng26-care"

#: participant id, site, age, age band, arm, qualitative consent given, identifier record
PARTICIPANTS = [
    ("CARE-0001", "LA01", 8.0, "5-10", "intervention", True,
     {"child_name": "Ellie Marsh", "carer_name": "Janet Marsh", "town": "Wexford Bay", "school": "Hollin Primary"}),
    ("CARE-0002", "LA01", 13.0, "11-17", "usual_care", True,
     {"child_name": "Tomasz Green", "foster_carer": "Priya Allen", "address": "4 Quarry Lane, Ashby Fold"}),
    ("CARE-0003", "LA02", 9.0, "5-10", "usual_care", True, {"child_name": "Mo Idris"}),
    ("CARE-0004", "LA02", 15.0, "11-17", "intervention", False, None),
]

TEXTS = {
    "CARE-0001": ("Interviewer: How have things been since the sessions started?\n"
                  "Carer: Ellie used to shout at me every morning before school. Janet is my name, by the way.\n"
                  "Carer: Now she tells me when she is scared, and we talk about it at Hollin Primary pick-up.\n"
                  "Interviewer: What helped most?\n"
                  "Carer: The video feedback. Seeing myself respond calmly made me believe I could do it.\n"),
    "CARE-0002": ("Interviewer: Tell me about the last six months.\n"
                  "Carer: Tomasz moved to us from a placement in Ashby Fold; the first weeks were hard.\n"
                  "Carer: He would not let me near him when he was upset. Now he sometimes asks for a hug.\n"
                  "Interviewer: And school?\n"
                  "Carer: School rang less often. I felt supported by the social worker.\n"),
    "CARE-0003": ("Interviewer: How are evenings at home?\n"
                  "Carer: Mo still struggles at bedtime; we tried the routine from the group.\n"
                  "Carer: I felt judged at first, then I felt part of a team.\n"),
}

KEY = "zQNOoeFfQtGk3ffdYovb0iLSK4g442980woOeic7ZCo="  # a synthetic Fernet key, for tests only


def populate(store, *, with_identifiers: bool = True) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Participants (with visits, consents, allocations, identifier records) and users. Returns pk by id."""
    pks: dict[str, int] = {}
    with store.unit_of_work(actor="test-setup") as uow:
        s = uow.session
        for i, (pid, site, age, band, arm, consent, ident) in enumerate(PARTICIPANTS):
            p = Participant(trial_id=TRIAL, participant_id=pid, site_code=site, status="enrolled",
                            enrolled_on=date(2026, 1, 5), age_years=age, age_band=band, sex="female",
                            care_status="foster")
            s.add(p)
            s.flush()
            pks[pid] = p.id
            for vid, month in (("baseline", 0), ("m6", 6)):
                due = date(2026, 1, 5) + timedelta(days=30 * month)
                s.add(Visit(trial_id=TRIAL, participant_pk=p.id, visit_id=vid, month=month, due_on=due,
                            window_opens=due - timedelta(days=14), window_closes=due + timedelta(days=14)))
            s.add(Consent(trial_id=TRIAL, participant_pk=p.id, kind="carer_consent", form_version="1.0",
                          signatory_role="carer", given=True, signed_on=date(2026, 1, 4)))
            if consent:
                s.add(Consent(trial_id=TRIAL, participant_pk=p.id, kind="qualitative", form_version="1.0",
                              signatory_role="carer", given=True, signed_on=date(2026, 1, 4)))
            s.add(Allocation(trial_id=TRIAL, participant_pk=p.id, sequence_number=i + 1, arm=arm, method="blocks",
                             stratum="", allocated_on=date(2026, 1, 5), allocated_by="recruiter"))
            if with_identifiers and ident:
                s.add(Identifier(trial_id=TRIAL, participant_pk=p.id, ciphertext=encrypt_identifiers(KEY, ident)))
        for name, role, site in (("qual1", Role.qualitative_researcher, None), ("qual2", Role.qualitative_researcher, None),
                                 ("tm", Role.trial_manager, None), ("siteqr", Role.qualitative_researcher, "LA02"),
                                 ("recruiter", Role.site_recruiter, "LA01")):
            # No argon2 hash here (0.6 s each): these users never log in through the password check.
            user = User(username=name, display_name=name, password_hash="!synthetic", active=True, failed_logins=0)
            s.add(user)
            s.flush()
            grant_role(uow, user, TRIAL, role, site)
        uow.commit()
    return pks


def actor(store, username: str):  # type: ignore[no-untyped-def]
    with store.read() as s:
        return actor_for(s, username, TRIAL)


def read(pid: str) -> ReadTranscript:
    return ReadTranscript(TEXTS[pid], "text", "utf-8", f"{pid}-m6.txt")
