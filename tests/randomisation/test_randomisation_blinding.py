"""Blinding: a blinded role learns no allocation through the randomisation service, its errors or
the audit view; emergency unblinding reveals one participant's allocation to the requester only."""

from __future__ import annotations

import json

import pytest
from randomisation_fixtures import enrol, make_trial
from sqlalchemy import select

from securebase.errors import BlindingError, ConflictError, FieldError, PermissionDenied
from securebase.protocol import load_protocol
from securebase.store import verify_chain
from securebase.store.tables import AuditRecord
from securebase.trial.audit_view import actor_for, participant_history
from securebase.trial.randomise import allocation_for, list_status, randomise
from securebase.trial.roles import Role
from securebase.trial.unblind import (
    approve_unblinding,
    refuse_unblinding,
    request_unblinding,
    reveal_allocation,
    unblinding_report,
)

USERS = {"rec": (Role.site_recruiter, None), "assessor": (Role.outcome_assessor, None), "coder": (Role.coder, None),
         "stat": (Role.blinded_statistician, None), "manager": (Role.trial_manager, None)}


def _leaks(text: str, proto) -> list[str]:  # type: ignore[no-untyped-def]
    words = [a.id for a in proto.arms] + [a.name for a in proto.arms]
    return [w for w in words if w.lower() in text.lower()]


@pytest.fixture
def trial(store):  # type: ignore[no-untyped-def]
    proto = load_protocol("ng26-care")
    make_trial(store, proto, users=USERS)
    with store.unit_of_work(actor="rec") as uow:
        ids = enrol(uow, proto, 6)
        uow.commit()
    with store.read() as s:
        actors = {u: actor_for(s, u, proto.id) for u in [*USERS, "admin"]}
    for pid in ids[:4]:
        with store.unit_of_work(actor="rec") as uow:
            randomise(uow, actors["rec"], pid)
            uow.commit()
    return store, proto, ids, actors


def test_blinded_roles_learn_nothing_from_service_errors_or_audit_view(trial) -> None:  # type: ignore[no-untyped-def]
    store, proto, ids, actors = trial
    for who in ("assessor", "coder", "stat"):
        a = actors[who]
        messages = []
        for pid in (ids[0], ids[5]):  # randomised and not randomised: the same refusal
            with store.unit_of_work(actor=who) as uow:
                for call in (lambda u, p=pid, a=a: randomise(u, a, p),
                             lambda u, p=pid, a=a: allocation_for(u, a, p), lambda u, a=a: list_status(u, a)):
                    with pytest.raises(BlindingError) as err:
                        call(uow)
                    messages.append(err.value.message)
                    assert not _leaks(err.value.message, proto), err.value.message
                    assert not _leaks(json.dumps(err.value.to_dict()), proto)
        assert len(set(messages)) == 1  # the refusal does not depend on whether the child was randomised
        with store.read() as s:
            for pid in ids:
                rows = participant_history(s, pid, who)
                assert rows, "the blinded audit view still shows the participant's other history"
                dumped = json.dumps(rows, default=str)
                assert not _leaks(dumped, proto), dumped[:500]
                assert not {r["table"] for r in rows} & {"allocations", "randomisation_list", "unblinding_requests"}
    with store.read() as s:  # an unblinded role sees the allocation in the same view
        assert any(r["table"] == "allocations" for r in participant_history(s, ids[0], "manager"))


def test_emergency_unblinding_reveals_to_requester_only(trial) -> None:  # type: ignore[no-untyped-def]
    store, proto, ids, actors = trial
    assessor, coder, manager, admin = actors["assessor"], actors["coder"], actors["manager"], actors["admin"]
    with store.unit_of_work(actor="assessor") as uow:
        with pytest.raises(FieldError):
            request_unblinding(uow, assessor, ids[0], "urgent")
        req = request_unblinding(uow, assessor, ids[0], "Serious adverse event: treating clinician needs to know")
        with pytest.raises(ConflictError):
            request_unblinding(uow, assessor, ids[5], "Serious adverse event: not randomised child")
        uow.commit()
    assert not _leaks(json.dumps(req.to_dict()), proto)
    with store.unit_of_work(actor="assessor") as uow:
        with pytest.raises(PermissionDenied):
            approve_unblinding(uow, assessor, req.request_id)
        with pytest.raises(ConflictError):  # not yet approved
            reveal_allocation(uow, assessor, req.request_id)
    with store.unit_of_work(actor="manager") as uow:
        decided = approve_unblinding(uow, manager, req.request_id, note="agreed by phone with the PI")
        uow.commit()
    assert decided.status == "approved" and decided.decided_by == "manager"
    with store.unit_of_work(actor="coder") as uow, pytest.raises(PermissionDenied) as err:
        reveal_allocation(uow, coder, req.request_id)
    assert not _leaks(err.value.message, proto)
    with store.unit_of_work(actor="assessor") as uow:
        view = reveal_allocation(uow, assessor, req.request_id)
        uow.commit()
    with store.unit_of_work(actor="manager") as uow:
        assert view.arm == allocation_for(uow, manager, ids[0]).arm
    # the requester's concealment of everyone else, and everyone else's, is intact
    for who, a in (("assessor", assessor), ("coder", coder)):
        with store.unit_of_work(actor=who) as uow:
            for pid in ids[:4]:
                with pytest.raises(BlindingError):
                    allocation_for(uow, a, pid)
        with store.read() as s:
            assert not _leaks(json.dumps(participant_history(s, ids[0], who), default=str), proto)
    # a second request refused; self-approval refused
    with store.unit_of_work(actor="manager") as uow:
        own = request_unblinding(uow, manager, ids[1], "Manager asks for a safety review of this child")
        with pytest.raises(PermissionDenied):
            approve_unblinding(uow, manager, own.request_id)
        refuse_unblinding(uow, admin, own.request_id, note="not an emergency")
        uow.commit()
    with store.unit_of_work(actor="manager") as uow:
        report = unblinding_report(uow, manager)
    assert [(r.participant_id, r.status, r.revealed_at is not None) for r in report] == [
        (ids[0], "approved", True), (ids[1], "refused", False)]
    assert "revealed to assessor" in report[0].summary()
    with store.unit_of_work(actor="coder") as uow, pytest.raises(PermissionDenied):
        unblinding_report(uow, coder)
    with store.read() as s:
        actions = [r.action for r in s.execute(select(AuditRecord).where(AuditRecord.table_name == "unblinding_requests")
                                               .order_by(AuditRecord.seq)).scalars()]
        for needed in ("unblind_request", "unblind_approve", "unblind_reveal", "unblind_refuse"):
            assert needed in actions
        details = " ".join(r.new or "" for r in s.execute(select(AuditRecord).where(
            AuditRecord.action.in_(["unblind_request", "unblind_approve", "unblind_reveal", "unblind_refuse"]))).scalars())
        assert not _leaks(details, proto)  # the events themselves never carry the arm
        verify_chain(s)
