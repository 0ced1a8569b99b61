"""Linkage: the consent gate, encrypted identifiers, deterministic matching, idempotent and superseding imports.

- A participant's records are linked only under a standing linkage consent (``consent``: the family's signed
  consent, or ``legal_basis``: a documented legal basis such as the authority's data-sharing agreement) that
  names the source; an import with no consented participant for that source is refused, nothing stored.
- The local-authority child id and the unique pupil number are stored encrypted (Fernet, the store's
  identifier key) with a keyed hash (HMAC-SHA256 under a key derived from the same secret) to match on.
- Matching is deterministic: the LA child id within the site, then the UPN; a child whose two identifiers
  point at two different participants is not linked (counted as a conflict).
- Re-importing the same extract (same content) changes nothing; a new extract for the same site, source and
  period supersedes the current one (status ``superseded``) with an audit record.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from securebase.errors import ConflictError, DataError, FieldError, PermissionDenied
from securebase.linkage.common import Validation
from securebase.store import UnitOfWork
from securebase.store.crypto import decrypt_identifiers, encrypt_identifiers
from securebase.store.tables import (
    LinkageConsent,
    LinkageExtract,
    LinkageIdentifier,
    LinkedRecord,
    Participant,
)
from securebase.trial import access
from securebase.trial.roles import Actor, Role

LINKAGE_ROLES = frozenset({Role.data_manager, Role.trial_manager, Role.administrator})
CONSENT_ROLES = frozenset({Role.site_recruiter, Role.data_manager, Role.trial_manager, Role.administrator})
SOURCES = ("ssda903", "cin", "school")
BASES = ("consent", "legal_basis")


class ExtractRefused(DataError):
    """A file set that fails its rules: nothing is imported; ``validation`` holds the rule codes and rows."""

    def __init__(self, message: str, validation: Validation) -> None:
        super().__init__(message)
        self.validation = validation


class LinkageNotConsented(PermissionDenied):
    """No participant has a standing linkage consent for the source."""


def collection_year_of(d: date) -> str:
    """The DfE collection year (1 April to 31 March) holding ``d``, as '2025/26'."""
    start = d.year if d.month >= 4 else d.year - 1
    return f"{start}/{(start + 1) % 100:02d}"


def _lookup(key: str, kind: str, site: str, value: str) -> str:
    secret = hashlib.sha256(b"securebase-linkage|" + key.encode("ascii")).digest()
    scope = site if kind == "la_child_id" else "*"  # an LA child id is unique in its authority; a UPN nationally
    return hmac.new(secret, f"{kind}|{scope}|{value.strip().upper()}".encode(), hashlib.sha256).hexdigest()


def record_linkage_consent(uow: UnitOfWork, actor: Actor, participant_id: str, *, basis: str, reference: str,
                           sources: list[str] | tuple[str, ...], given_on: date) -> LinkageConsent:
    access.require(actor, CONSENT_ROLES, "recording a linkage consent")
    uow.ensure_unlocked(actor.trial_id)
    if basis not in BASES:
        raise FieldError("basis", basis, "'consent' or 'legal_basis'")
    if not reference or not reference.strip():
        raise FieldError("reference", reference, "the consent form version or the documented legal basis",
                         "a linkage consent must say what allows the linkage")
    bad = [s for s in sources if s not in SOURCES]
    if bad or not sources:
        raise FieldError("sources", list(sources), "one or more of " + ", ".join(SOURCES))
    p = access.participant(uow.session, actor, participant_id)
    c = uow.session.execute(select(LinkageConsent).where(LinkageConsent.trial_id == actor.trial_id,
                                                         LinkageConsent.participant_pk == p.id)).scalar_one_or_none()
    if c is None:
        c = LinkageConsent(trial_id=actor.trial_id, participant_pk=p.id, recorded_by=actor.username)
        uow.session.add(c)
    else:
        uow.reason = uow.reason or "linkage consent renewed or amended"
    c.basis, c.reference, c.sources, c.given_on, c.withdrawn_on = basis, reference.strip(), sorted(set(sources)), given_on, None
    uow.session.flush()
    return c


def withdraw_linkage_consent(uow: UnitOfWork, actor: Actor, participant_id: str, on: date) -> None:
    access.require(actor, CONSENT_ROLES, "withdrawing a linkage consent")
    p = access.participant(uow.session, actor, participant_id)
    c = uow.session.execute(select(LinkageConsent).where(LinkageConsent.trial_id == actor.trial_id,
                                                         LinkageConsent.participant_pk == p.id)).scalar_one_or_none()
    if c is None:
        raise FieldError("participant_id", participant_id, "a participant with a linkage consent")
    uow.reason = uow.reason or "linkage consent withdrawn"
    c.withdrawn_on = on
    uow.session.flush()


def register_identifiers(uow: UnitOfWork, actor: Actor, participant_id: str, *, key: str,
                         la_child_id: str | None = None, upn: str | None = None) -> None:
    """Store the participant's LA child id and/or UPN, encrypted, with their match hashes."""
    from securebase.linkage.common import upn_valid

    access.require(actor, CONSENT_ROLES, "recording linkage identifiers")
    uow.ensure_unlocked(actor.trial_id)
    if upn is not None and not upn_valid(upn):
        raise FieldError("upn", upn, "a 13-character unique pupil number with a valid check letter",
                         "copy it from the school or the SSDA903 header")
    p = access.participant(uow.session, actor, participant_id)
    for kind, value in (("la_child_id", la_child_id), ("upn", upn)):
        if not value:
            continue
        lookup = _lookup(key, kind, p.site_code, value)
        other = uow.session.execute(select(LinkageIdentifier).where(
            LinkageIdentifier.trial_id == actor.trial_id, LinkageIdentifier.kind == kind,
            LinkageIdentifier.lookup == lookup)).scalar_one_or_none()
        if other is not None and other.participant_pk != p.id:
            raise ConflictError(f"{kind} is already registered for another participant of this trial; check the value")
        row = uow.session.execute(select(LinkageIdentifier).where(LinkageIdentifier.participant_pk == p.id,
                                                                  LinkageIdentifier.kind == kind)).scalar_one_or_none()
        if row is None:
            row = LinkageIdentifier(trial_id=actor.trial_id, participant_pk=p.id, kind=kind)
            uow.session.add(row)
        elif row.lookup != lookup:
            uow.reason = uow.reason or f"{kind} corrected"
        else:
            continue
        row.site_code, row.lookup = p.site_code, lookup
        row.token = encrypt_identifiers(key, {kind: value.strip().upper()})
    uow.session.flush()


def reveal_identifier(uow: UnitOfWork, actor: Actor, participant_id: str, kind: str, *, key: str) -> str | None:
    """The decrypted identifier (audited), for the data manager checking a match."""
    access.require(actor, LINKAGE_ROLES, "reading linkage identifiers")
    p = access.participant(uow.session, actor, participant_id)
    row = uow.session.execute(select(LinkageIdentifier).where(LinkageIdentifier.participant_pk == p.id,
                                                              LinkageIdentifier.kind == kind)).scalar_one_or_none()
    if row is None:
        return None
    uow.log_event("linkage_identifier_read", table_name="linkage_identifiers", record_id=str(row.id),
                  trial_id=actor.trial_id, participant_id=participant_id, detail={"kind": kind})
    return str(decrypt_identifiers(key, row.token)[kind])


@dataclass
class ImportResult:
    extract_id: int
    status: str  # imported, unchanged
    source: str
    rows_total: int
    children_total: int
    children_matched: int
    children_unconsented: int
    conflicts: int
    records_linked: int
    superseded: int | None
    validation: Validation

    def to_dict(self) -> dict[str, Any]:
        return {k: (v.to_dict() if isinstance(v, Validation) else v) for k, v in self.__dict__.items()}

    def summary(self) -> str:
        if self.status == "unchanged":
            return f"extract {self.extract_id} ({self.source}) was already imported: nothing changed"
        sup = f"; supersedes extract {self.superseded}" if self.superseded else ""
        return (f"extract {self.extract_id} ({self.source}): {self.rows_total} rows, {self.children_matched} of "
                f"{self.children_total} children matched to participants, {self.records_linked} records linked"
                f"{sup}; {self.children_unconsented} matched without linkage consent (not linked), "
                f"{self.conflicts} identifier conflicts; {self.validation.validator}: "
                f"{len(self.validation.rules_run)} rules run, no errors")


def _parse(source: str, files: dict[str, bytes], *, collection_year: str | None, la_code: str | None
           ) -> tuple[Validation, dict[str, dict[str, Any]], list[tuple[str, dict[str, Any]]], int]:
    if source == "ssda903":
        from securebase.linkage import ssda903

        if not la_code:
            raise FieldError("la_code", la_code, "the authority's ONS code (e.g. E06000001)",
                             "the DfE rules check placement postcodes against it")
        tables = ssda903.read(files)
        val = ssda903.validate(files, collection_year=collection_year or "", la_code=la_code)
        return val, ssda903.children(tables), ssda903.records(tables), sum(len(t) for t in tables.values())
    if source == "cin":
        from securebase.linkage import cin

        if len(files) != 1:
            raise FieldError("files", sorted(files), "one CIN census XML file")
        data = next(iter(files.values()))
        val = cin.validate(data)
        _, kids = cin.parse(data)
        return val, cin.children(kids), cin.records(kids), len(kids)
    if source == "school":
        from securebase.linkage import school

        if len(files) != 1:
            raise FieldError("files", sorted(files), "one school records CSV file")
        df = school.read(next(iter(files.values())))
        recs = school.records(df) if not (val := school.validate(df)).errors else []
        kids = {u: {"la_child_id": None, "upn": u} for u, _ in recs}
        return val, kids, recs, len(df)
    raise FieldError("source", source, "one of " + ", ".join(SOURCES))


def import_extract(uow: UnitOfWork, actor: Actor, source: str, files: dict[str, bytes], *, site_code: str,
                   period_start: date, period_end: date, extract_date: date, key: str,
                   collection_year: str | None = None, la_code: str | None = None) -> ImportResult:
    """Validate, match and store one extract; refuses (nothing stored) a file set that fails its rules."""
    access.require(actor, LINKAGE_ROLES, "importing routine records")
    uow.ensure_unlocked(actor.trial_id)
    if not actor.can_reach_site(site_code):
        raise PermissionDenied(f"user '{actor.username}' cannot import records for site '{site_code}'")
    if period_end < period_start or extract_date < period_start:
        raise FieldError("period_end / extract_date", f"{period_start}..{period_end}, extracted {extract_date}",
                         "a period that ends after it starts and an extract date after the period start")
    trial_id = actor.trial_id
    digest = hashlib.sha256(source.encode() + site_code.encode())
    for name in sorted(files):
        digest.update(hashlib.sha256(files[name]).digest())
    sha = digest.hexdigest()
    same = uow.session.execute(select(LinkageExtract).where(LinkageExtract.trial_id == trial_id,
                                                            LinkageExtract.source == source,
                                                            LinkageExtract.content_sha256 == sha)).scalar_one_or_none()
    consents = {c.participant_pk: c for c in uow.session.execute(select(LinkageConsent).where(
        LinkageConsent.trial_id == trial_id)).scalars()
        if c.withdrawn_on is None and source in (c.sources or [])}
    if not consents:
        raise LinkageNotConsented(f"no participant of trial '{trial_id}' has a linkage consent (or documented legal "
                                  f"basis) for {source} records, so nothing can be linked; record the consents first "
                                  "(securebase import linkage-consent ...)")
    val, kids, recs, rows_total = _parse(source, files, la_code=la_code,
                                         collection_year=collection_year or collection_year_of(period_end))
    if val.errors:
        raise ExtractRefused(f"the {source} extract fails {len(val.errors)} rule checks and was not imported "
                             f"(first: {val.errors[0]}); correct the file and import it again", val)
    if same is not None:
        return ImportResult(same.id, "unchanged", source, same.rows_total, same.children_total, same.children_matched,
                            0, 0, 0, None, val)
    ids = {(r.kind, r.lookup): r.participant_pk for r in uow.session.execute(select(LinkageIdentifier).where(
        LinkageIdentifier.trial_id == trial_id)).scalars()}
    site_of = dict(uow.session.execute(select(Participant.id, Participant.site_code).where(
        Participant.trial_id == trial_id)).all())
    match: dict[str, int] = {}
    unconsented = conflicts = 0
    for ref, k in kids.items():
        by_id = ids.get(("la_child_id", _lookup(key, "la_child_id", site_code, k["la_child_id"]))) if k["la_child_id"] else None
        by_upn = ids.get(("upn", _lookup(key, "upn", site_code, k["upn"]))) if k["upn"] else None
        if by_id is not None and by_upn is not None and by_id != by_upn:
            conflicts += 1
            continue
        pk = by_id if by_id is not None else by_upn
        if pk is None or (by_id is not None and site_of.get(pk) != site_code):
            continue
        if pk not in consents:
            unconsented += 1
            continue
        match[ref] = pk
    old = uow.session.execute(select(LinkageExtract).where(
        LinkageExtract.trial_id == trial_id, LinkageExtract.source == source, LinkageExtract.site_code == site_code,
        LinkageExtract.period_start == period_start, LinkageExtract.period_end == period_end,
        LinkageExtract.status == "current")).scalar_one_or_none()
    x = LinkageExtract(trial_id=trial_id, site_code=site_code, source=source, period_start=period_start,
                       period_end=period_end, extract_date=extract_date, content_sha256=sha, status="current",
                       supersedes_pk=old.id if old is not None else None, rows_total=rows_total,
                       children_total=len(kids), children_matched=len(match), validation=val.to_dict(),
                       imported_by=actor.username)
    if old is not None:
        uow.reason = uow.reason or f"superseded by a corrected {source} extract for {site_code}, {period_start}..{period_end}"
        old.status = "superseded"
    uow.session.add(x)
    uow.session.flush()
    linked = 0
    for ref, fields in recs:
        pk = match.get(ref)
        if pk is not None:
            uow.session.add(LinkedRecord(extract_pk=x.id, trial_id=trial_id, participant_pk=pk, **fields))
            linked += 1
    uow.session.flush()
    if old is not None:
        uow.log_event("linkage_extract_superseded", table_name="linkage_extracts", record_id=str(old.id),
                      trial_id=trial_id, detail={"superseded_by": x.id, "source": source, "site": site_code,
                                                 "period": [period_start.isoformat(), period_end.isoformat()]})
    uow.log_event("linkage_extract_imported", table_name="linkage_extracts", record_id=str(x.id), trial_id=trial_id,
                  detail={"source": source, "site": site_code, "rows": rows_total, "children": len(kids),
                          "matched": len(match), "linked_records": linked, "validator": val.validator})
    return ImportResult(x.id, "imported", source, rows_total, len(kids), len(match), unconsented, conflicts, linked,
                        old.id if old is not None else None, val)
