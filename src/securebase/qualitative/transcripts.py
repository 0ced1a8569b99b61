"""Transcripts: import (with the qualitative consent checked), pseudonymise, read and list.

A transcript about a participant needs a given consent of kind ``"qualitative"`` for that participant
(the qualitative part of the trial is consented separately) and no withdrawal of data use. A transcript
of a practitioner interview has no participant. Pseudonymisation happens before the row is first saved,
so names never reach the store or its audit trail (the audit of an insert keeps the whole row).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from securebase.errors import ConflictError, FieldError, NotFound
from securebase.qualitative.access import (
    IMPORT_ROLES,
    READ_ROLES,
    as_session,
    participant_for,
    require,
    transcript_for,
)
from securebase.qualitative.pseudonymise import (
    PseudonymisedText,
    parse_user_terms,
    pseudonymise,
    terms_from_identifiers,
)
from securebase.qualitative.readers import ReadTranscript
from securebase.store import UnitOfWork
from securebase.store.tables import Consent, Identifier, Participant, Transcript, Visit, Withdrawal
from securebase.trial.roles import Actor

SPEAKER_ROLES = ("carer", "child", "practitioner")
CONSENT_KIND = "qualitative"


@dataclass(frozen=True)
class ImportResult:
    transcript: Transcript
    consent_id: int | None
    pseudonymisation: PseudonymisedText | None
    identifier_record_used: bool
    warnings: tuple[str, ...] = ()

    def summary(self) -> str:
        t = self.transcript
        lines = [f"imported transcript {t.id} '{t.title}' ({len(t.text)} characters, {t.source_format})"]
        if self.pseudonymisation is not None:
            lines.append(self.pseudonymisation.summary())
        lines.extend(f"warning: {w}" for w in self.warnings)
        return "\n".join(lines)


def qualitative_consent(session: Any, participant: Participant) -> Consent:
    """The participant's given qualitative consent; refuses when there is none or data use was withdrawn."""
    consent = session.execute(select(Consent).where(
        Consent.participant_pk == participant.id, Consent.kind == CONSENT_KIND, Consent.given.is_(True))
        .order_by(Consent.signed_on.desc(), Consent.id.desc())).scalars().first()
    if consent is None:
        raise ConflictError(f"participant {participant.participant_id} has no consent for the qualitative interview "
                            f"(a given Consent of kind '{CONSENT_KIND}'); record the consent before importing the "
                            "transcript")
    withdrawn = session.execute(select(Withdrawal).where(Withdrawal.participant_pk == participant.id,
                                                         Withdrawal.level == "data_use")).scalars().first()
    if withdrawn is not None:
        raise ConflictError(f"participant {participant.participant_id} withdrew the use of their data on "
                            f"{withdrawn.withdrawn_on:%Y-%m-%d}; the transcript cannot be imported")
    return consent


def _identifier_terms(session: Any, participant: Participant, key: str | None) -> tuple[dict[str, str], str | None]:
    row = session.execute(select(Identifier).where(Identifier.participant_pk == participant.id)).scalar_one_or_none()
    if row is None:
        return {}, f"participant {participant.participant_id} has no identifier record; only the user list was used"
    if not key:
        return {}, ("SECUREBASE_ENCRYPTION_KEY is not set, so the identifier record could not be read; "
                    "only the user list was used")
    from securebase.store.crypto import decrypt_identifiers

    return terms_from_identifiers(decrypt_identifiers(key, bytes(row.ciphertext))), None


def import_transcript(uow: UnitOfWork, actor: Actor, read: ReadTranscript, *, speaker_role: str,
                      participant_id: str | None = None, visit_id: str | None = None, title: str | None = None,
                      pseudonymise_with: Iterable[str] | Mapping[str, str] | None = None,
                      use_identifier_record: bool = True, encryption_key: str | None = None,
                      guid: str | None = None) -> ImportResult:
    """Save a transcript read from a file, linked to participant and visit, pseudonymised when terms exist.

    ``pseudonymise_with`` is the user list (``"Ellie=CHILD"`` or a mapping term -> tag). The identifier
    record of the participant is added when ``use_identifier_record`` and a key is available.
    """
    require(actor, IMPORT_ROLES)
    session = uow.session
    uow.ensure_unlocked(actor.trial_id)
    if speaker_role not in SPEAKER_ROLES:
        raise FieldError("speaker role", speaker_role, "one of " + ", ".join(SPEAKER_ROLES))
    if not read.text.strip():
        raise FieldError("transcript text", read.name, "a file with some text", "check that the right file was chosen")
    participant = visit = consent = None
    warnings: list[str] = []
    if participant_id is None:
        if speaker_role != "practitioner":
            raise FieldError("participant", None, f"a participant ID for a {speaker_role} interview",
                             "only practitioner interviews are imported without a participant")
        if visit_id is not None:
            raise FieldError("visit", visit_id, "no visit when there is no participant")
    else:
        participant = participant_for(session, actor, participant_id)
        consent = qualitative_consent(session, participant)
        if visit_id is not None:
            visit = session.execute(select(Visit).where(Visit.participant_pk == participant.id,
                                                        Visit.visit_id == visit_id)).scalar_one_or_none()
            if visit is None:
                have = session.execute(select(Visit.visit_id).where(Visit.participant_pk == participant.id)
                                       .order_by(Visit.month)).scalars().all()
                raise NotFound(f"visit '{visit_id}' of participant {participant_id} not found; "
                               f"scheduled visits: {', '.join(have) or 'none'}")
    terms_by_source: dict[str, dict[str, str]] = {}
    used_record = False
    if participant is not None and use_identifier_record:
        terms, warning = _identifier_terms(session, participant, encryption_key)
        if warning:
            warnings.append(warning)
        if terms:
            terms_by_source["identifier_record"] = terms
            used_record = True
    if pseudonymise_with:
        terms_by_source["user_list"] = parse_user_terms(pseudonymise_with)
    text, pseudo = read.text, None
    if terms_by_source:
        pseudo = pseudonymise(read.text, terms_by_source)
        text = pseudo.text
    t = Transcript(trial_id=actor.trial_id, participant_pk=participant.id if participant else None,
                   visit_pk=visit.id if visit else None, guid=guid or str(uuid.uuid4()), speaker_role=speaker_role,
                   title=(title or read.name)[:200], text=text, source_format=read.source_format,
                   pseudonymised=pseudo is not None, created_by=actor.username)
    session.add(t)
    session.flush()
    if pseudo is not None:
        uow.log_event("pseudonymise", table_name="transcripts", record_id=str(t.id), trial_id=actor.trial_id,
                      participant_id=participant.participant_id if participant else None,
                      detail={**pseudo.to_dict(), "identifier_record_used": used_record,
                              "user_terms": len(terms_by_source.get("user_list", {}))})
    uow.log_event("qual_import", table_name="transcripts", record_id=str(t.id), trial_id=actor.trial_id,
                  participant_id=participant.participant_id if participant else None,
                  detail={"file": read.name, "format": read.source_format, "encoding": read.encoding,
                          "consent_id": consent.id if consent else None, "characters": len(text)})
    return ImportResult(t, consent.id if consent else None, pseudo, used_record, tuple(warnings))


@dataclass(frozen=True)
class TranscriptInfo:
    id: int
    guid: str
    title: str
    participant_id: str | None
    site_code: str | None
    visit_id: str | None
    speaker_role: str
    characters: int
    pseudonymised: bool


def list_transcripts(uow_or_session: Any, actor: Actor) -> list[TranscriptInfo]:
    """Transcripts of the actor's trial at the sites they reach, ordered by participant then title."""
    require(actor, READ_ROLES)
    session = as_session(uow_or_session)
    rows = session.execute(select(Transcript, Participant, Visit)
                           .outerjoin(Participant, Participant.id == Transcript.participant_pk)
                           .outerjoin(Visit, Visit.id == Transcript.visit_pk)
                           .where(Transcript.trial_id == actor.trial_id)).all()
    out = []
    for t, p, v in rows:
        if p is not None and not actor.can_reach_site(p.site_code):
            continue
        out.append(TranscriptInfo(t.id, t.guid, t.title, p.participant_id if p else None, p.site_code if p else None,
                                  v.visit_id if v else None, t.speaker_role, len(t.text), t.pseudonymised))
    return sorted(out, key=lambda i: (i.participant_id or "", i.title, i.id))


def get_transcript(uow_or_session: Any, actor: Actor, transcript_id: int) -> Transcript:
    require(actor, READ_ROLES)
    return transcript_for(as_session(uow_or_session), actor, transcript_id)
