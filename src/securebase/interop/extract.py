"""Read one trial out of the store with plain queries, for the exports (ODM, REDCap, analysis files).

:func:`read_trial` returns a :class:`TrialData` holding the trial's rows as plain dicts keyed by column
name, with participant and visit references resolved to their natural keys (``participant_id``,
``visit_id``). What an actor may not see is never read: allocations, intervention sessions and
allocation-revealing audit records only when ``actor.can_see_allocation()``; participants only at the
actor's sites; direct identifiers (the ``identifiers`` table) never.

Only roles that may read participant-level data (:data:`securebase.trial.access.READ_ROLES`) may read a
trial at all. Blinded roles get no withdrawal from the intervention (``level == "intervention"``): only
participants allocated to the intervention arm can withdraw from it, so the row, and its audit records,
would reveal the arm. A site-restricted actor gets only the audit records of their sites' participants,
and of rows without a participant (screening, consent) only those whose ``site_code`` is one of their
sites.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from securebase.errors import NotFound
from securebase.instruments import Instrument, load_instrument
from securebase.protocol import Protocol, protocol_from_yaml_text
from securebase.store.tables import (
    Allocation,
    AuditRecord,
    Event,
    InterventionSession,
    Participant,
    ResourceUse,
    Response,
    Score,
    Trial,
    Visit,
    Withdrawal,
)
from securebase.trial import access
from securebase.trial.audit_view import ALLOCATION_TABLES, hides_confidential, redact_for
from securebase.trial.roles import Actor

#: The withdrawal level that only intervention-arm participants can have (it reveals the arm).
ARM_REVEALING_WITHDRAWAL = "intervention"


@lru_cache(maxsize=256)
def instrument(name: str, version: str | None = None) -> Instrument | None:
    """The instrument definition (that version if known, else the newest), or None when unknown."""
    for v in (version, None):
        try:
            return load_instrument(name, v) if v else load_instrument(name)
        except Exception:
            continue
    return None


@dataclass
class TrialData:
    """One trial's rows (plain dicts) as one actor may see them."""

    trial: dict[str, Any]
    protocol: Protocol
    participants: list[dict[str, Any]]
    visits: list[dict[str, Any]]
    responses: list[dict[str, Any]]
    scores: list[dict[str, Any]]
    events: list[dict[str, Any]]
    withdrawals: list[dict[str, Any]]
    allocations: list[dict[str, Any]] | None
    resource_use: list[dict[str, Any]] = field(default_factory=list)
    intervention_sessions: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)

    @property
    def allocation_visible(self) -> bool:
        return self.allocations is not None

    def instruments_used(self) -> list[tuple[str, str]]:
        """(instrument, version) pairs: the protocol's assessments, then any others found in the data."""
        seen: dict[str, str] = {}
        for a in self.protocol.assessments:
            inst = instrument(a.instrument)
            if inst is not None:
                seen.setdefault(a.instrument, inst.version)
        for r in self.responses:
            seen.setdefault(r["instrument"], r["instrument_version"])
        for s in self.scores:
            seen.setdefault(s["instrument"], "")
        return list(seen.items())


def _rows(session: Session, table: Any, *where: Any) -> list[dict[str, Any]]:
    order = [table.c[c.name] for c in table.primary_key.columns]
    return [dict(r) for r in session.execute(select(table).where(*where).order_by(*order)).mappings()]


def _payloads(r: dict[str, Any]) -> list[dict[str, Any]]:
    """The old and new values of an audit row that are JSON objects."""
    out = []
    for key in ("old", "new"):
        try:
            value = json.loads(r[key]) if r[key] else None
        except (TypeError, ValueError):
            continue
        if isinstance(value, dict):
            out.append(value)
    return out


def _audit_visible(actor: Actor, r: dict[str, Any], labels: set[str], hidden_withdrawals: set[str]) -> bool:
    """Whether ``actor`` may see audit row ``r``.

    ``labels``: the participant IDs the actor may see; ``hidden_withdrawals``: record ids of withdrawals
    at the arm-revealing level (every audit row of such a record is hidden from blinded roles, also an
    update that does not repeat the level).
    """
    if hides_confidential(actor, r["table_name"]):
        return False
    if r["participant_id"] is not None:
        if r["participant_id"] not in labels:
            return False  # another site's participant
    elif actor.sites is not None:  # screening, consents: kept only when the row names one of the actor's sites
        codes = {v.get("site_code") for v in _payloads(r)} - {None}
        if not codes or not codes <= actor.sites:
            return False
    if not actor.can_see_allocation():
        if r["table_name"] in ALLOCATION_TABLES:
            return False
        if r["table_name"] == "withdrawals" and r["record_id"] in hidden_withdrawals:
            return False
    return True


#: Roles that may take an analysis export: the readers, plus the health economist and the DMC, who work
#: from analysis datasets (as in :mod:`securebase.analysis.datasets`) but not from full trial exports.
ANALYSIS_ROLES = access.READ_ROLES | {access.Role.health_economist, access.Role.dmc_member}


def read_trial(session: Session, actor: Actor, *, with_audit: bool = False,
               roles: frozenset[Any] = access.READ_ROLES) -> TrialData:
    """Everything :class:`TrialData` holds for ``actor.trial_id``.

    Raises PermissionDenied for roles outside ``roles`` (:data:`~securebase.trial.access.READ_ROLES` unless
    the caller is the analysis export, which passes :data:`ANALYSIS_ROLES`).
    """
    access.require(actor, roles, "exporting trial data")
    trial_id = actor.trial_id
    trial = session.execute(select(Trial.__table__).where(Trial.id == trial_id)).mappings().first()
    if trial is None:
        raise NotFound(f"trial '{trial_id}' is not in this store; check the trial id")
    protocol = protocol_from_yaml_text(trial["protocol_yaml"], f"protocol of {trial_id}")
    parts = [p for p in _rows(session, Participant.__table__, Participant.trial_id == trial_id)
             if actor.can_reach_site(p["site_code"])]
    pid = {p["id"]: p["participant_id"] for p in parts}

    def own(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for r in rows:
            if r["participant_pk"] in pid:
                r["participant_id"] = pid[r["participant_pk"]]
                out.append(r)
        return out

    visits = own(_rows(session, Visit.__table__, Visit.trial_id == trial_id))
    vid = {v["id"]: v["visit_id"] for v in visits}
    responses = own(_rows(session, Response.__table__, Response.trial_id == trial_id))
    scores = own(_rows(session, Score.__table__, Score.trial_id == trial_id))
    for r in responses + scores:
        r["visit_id"] = vid.get(r["visit_pk"])
    allocations = None
    if actor.can_see_allocation():
        allocations = own(_rows(session, Allocation.__table__, Allocation.trial_id == trial_id))
    withdrawals = own(_rows(session, Withdrawal.__table__, Withdrawal.trial_id == trial_id))
    hidden_withdrawals: set[str] = set()
    if not actor.can_see_allocation():
        hidden_withdrawals = {str(w["id"]) for w in withdrawals if w["level"] == ARM_REVEALING_WITHDRAWAL}
        withdrawals = [w for w in withdrawals if w["level"] != ARM_REVEALING_WITHDRAWAL]
    data = TrialData(dict(trial), protocol, parts, visits, responses, scores,
                     own(_rows(session, Event.__table__, Event.trial_id == trial_id)), withdrawals, allocations)
    data.resource_use = own(_rows(session, ResourceUse.__table__, ResourceUse.trial_id == trial_id))
    for r in data.resource_use:
        r["visit_id"] = vid.get(r["visit_pk"]) if r["visit_pk"] is not None else None
    if actor.can_see_allocation():
        data.intervention_sessions = own(_rows(session, InterventionSession.__table__,
                                               InterventionSession.trial_id == trial_id))
    if with_audit:
        labels = set(pid.values())
        audit = _rows(session, AuditRecord.__table__, AuditRecord.trial_id == trial_id)
        if not actor.can_see_allocation():  # also withdrawals deleted since, or whose level was changed
            hidden_withdrawals |= {r["record_id"] for r in audit if r["table_name"] == "withdrawals" and any(
                v.get("level") == ARM_REVEALING_WITHDRAWAL for v in _payloads(r))}
        for r in audit:
            if not _audit_visible(actor, r, labels, hidden_withdrawals):
                continue
            r["old"] = redact_for(actor, r["table_name"], r["old"])
            r["new"] = redact_for(actor, r["table_name"], r["new"])
            data.audit.append(r)
    return data


__all__ = ["ARM_REVEALING_WITHDRAWAL", "TrialData", "instrument", "read_trial"]
