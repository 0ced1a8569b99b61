"""The randomise service on SQLite and PostgreSQL: checks before randomising, one allocation per
participant, visits, audit, sealed lists extended when low, and replay from the stored seed."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from randomisation_fixtures import admin, enrol, make_trial, variant
from sqlalchemy import func, select

from securebase.errors import NotEligible, NotFound
from securebase.protocol import load_protocol
from securebase.randomisation import allocation_rng, parse_stratum_key, scheme_for
from securebase.store import verify_chain
from securebase.store.tables import Allocation, AuditRecord, RandomisationListEntry, Trial, Visit
from securebase.trial.randomise import allocation_for, prepare_lists, randomise
from securebase.trial.roles import Actor, Role


def _randomise_all(store, trial_id: str, ids: list[str], on: date = date(2026, 11, 5)) -> list:  # type: ignore[no-untyped-def]
    out = []
    for pid in ids:
        with store.unit_of_work(actor="admin") as uow:
            out.append(randomise(uow, admin(trial_id), pid, on=on))
            uow.commit()
    return out


def test_randomise_writes_allocation_visits_and_audit(store) -> None:  # type: ignore[no-untyped-def]
    proto = load_protocol("ng26-care")
    make_trial(store, proto, seed=424242)
    with store.unit_of_work(actor="recruiter") as uow:
        ids = enrol(uow, proto, 40)
        uow.commit()
    views = _randomise_all(store, proto.id, ids)
    assert [v.sequence_number for v in views] == list(range(1, 41))
    assert all(v.newly_allocated for v in views)
    assert {v.arm for v in views} == {"intervention", "usual_care"}
    v0 = views[0]
    assert [x.visit_id for x in v0.visits] == ["baseline", "m6", "m12"]
    assert v0.visits[1].due == date(2027, 5, 7)  # 6 x 365.25/12 = 182.6 -> 183 days after 2026-11-05
    with store.unit_of_work(actor="admin") as uow:  # asking twice returns the same allocation
        again = randomise(uow, admin(proto.id), ids[3])
        uow.commit()
    assert (again.arm, again.sequence_number, again.newly_allocated) == (views[3].arm, 4, False)
    with store.read() as s:
        assert s.execute(select(func.count()).select_from(Allocation)).scalar_one() == 40
        assert s.execute(select(func.count()).select_from(Visit)).scalar_one() == 120
        ev = s.execute(select(AuditRecord).where(AuditRecord.action == "randomise")
                       .order_by(AuditRecord.seq)).scalars().all()
        assert len(ev) == 40 and ev[0].participant_id == ids[0]
        a = s.execute(select(Allocation).where(Allocation.sequence_number == 30)).scalar_one()
        assert a.diagnostics["phase"] == "minimisation" and set(a.diagnostics["imbalance"]) == {"intervention", "usual_care"}
        assert 0.0 <= a.diagnostics["draw"] < 1.0
        assert s.execute(select(Allocation.diagnostics).where(Allocation.sequence_number == 3)).scalar_one()["phase"] == "initial_random"
        verify_chain(s)


def test_replay_from_stored_seed_reproduces_every_allocation(store) -> None:  # type: ignore[no-untyped-def]
    proto = load_protocol("ng26-care")
    make_trial(store, proto, seed=77)
    with store.unit_of_work(actor="recruiter") as uow:
        ids = enrol(uow, proto, 45, seed=3)
        uow.commit()
    _randomise_all(store, proto.id, ids)
    scheme = scheme_for(proto)
    m = scheme.method
    with store.read() as s:
        seed = s.get(Trial, proto.id).randomisation_seed
        allocs = s.execute(select(Allocation).order_by(Allocation.sequence_number)).scalars().all()
    counts: dict[str, dict[str, list[int]]] = {}
    for a in allocs:
        values = parse_stratum_key(a.stratum)
        d = m.allocate(m.counts_at(counts, values), a.sequence_number, allocation_rng(seed, a.sequence_number))
        assert d.arm == a.arm and d.draw == pytest.approx(a.diagnostics["draw"], abs=0)
        for f, lv in values.items():
            counts.setdefault(f, {}).setdefault(lv, [0, 0])[scheme.arms.index(a.arm)] += 1


def test_refusal_names_everything_missing(store) -> None:  # type: ignore[no-untyped-def]
    proto = load_protocol("ng26-care")
    make_trial(store, proto)
    with store.unit_of_work(actor="recruiter") as uow:
        no_consent = enrol(uow, proto, 1, consent=False, ages=[12])[0]
        no_assent = enrol(uow, proto, 1, start=2, assent=False, ages=[9])[0]
        young = enrol(uow, proto, 1, start=3, assent=False, ages=[6])[0]
        ok = enrol(uow, proto, 1, start=6, ages=[6])[0]
        fostered = enrol(uow, proto, 1, start=7, ages=[12], answers={"care_status": "foster"}, la_consent=False)[0]
        ineligible = enrol(uow, proto, 1, start=4, eligible=False, ages=[8])[0]
        no_strata = enrol(uow, proto, 1, start=5, strata=False, ages=[8])[0]
        uow.commit()
    cases = {no_consent: ["no carer consent"], no_assent: ["no child assent"], young: ["no child assent"],
             fostered: ["no la consent"],
             ineligible: ["not eligible", "age 4"], no_strata: ["'care_status' is missing", "adopted"]}
    for pid, needles in cases.items():
        with store.unit_of_work(actor="admin") as uow, pytest.raises(NotEligible) as err:
            randomise(uow, admin(proto.id), pid)
        assert pid in err.value.message
        for n in needles:
            assert n in err.value.message, (n, err.value.message)
    with store.unit_of_work(actor="admin") as uow:  # consented, assented, eligible, strata present
        assert randomise(uow, admin(proto.id), ok).newly_allocated
        uow.commit()
    with store.read() as s:
        assert s.execute(select(func.count()).select_from(Allocation)).scalar_one() == 1


def test_recruiter_reaches_own_site_only(store) -> None:  # type: ignore[no-untyped-def]
    proto = load_protocol("ng26-care")
    make_trial(store, proto, users={"rec1": (Role.site_recruiter, "LA01")})
    with store.unit_of_work(actor="recruiter") as uow:
        ids = enrol(uow, proto, 12)
        uow.commit()
    from securebase.store.tables import Participant

    with store.read() as s:
        sites = dict(s.execute(select(Participant.participant_id, Participant.site_code)).all())
    rec = Actor("rec1", proto.id, frozenset({Role.site_recruiter}), frozenset({"LA01"}))
    mine = next(p for p in ids if sites[p] == "LA01")
    other = next(p for p in ids if sites[p] != "LA01")
    with store.unit_of_work(actor="rec1") as uow:
        v = randomise(uow, rec, mine)
        uow.commit()
    with store.unit_of_work(actor="rec1") as uow:
        assert allocation_for(uow, rec, mine).arm == v.arm
        with pytest.raises(NotFound):
            randomise(uow, rec, other)


def test_permuted_block_lists_are_extended_when_low(store) -> None:  # type: ignore[no-untyped-def]
    proto = variant(method="permuted_blocks", block_sizes=[2, 4], factors=[{"name": "site"}])
    proto = proto.model_copy(update={"target_sample_size": 8})
    make_trial(store, proto)
    with store.unit_of_work(actor="admin") as uow:
        status = prepare_lists(uow, admin(proto.id), blocks_per_stratum=2)
        uow.commit()
    assert len(status) == 4 and all(s.used == 0 and s.versions == 1 for s in status)
    with store.unit_of_work(actor="recruiter") as uow:
        ids = enrol(uow, proto, 60, seed=5)
        uow.commit()
    _randomise_all(store, proto.id, ids)
    with store.read() as s:
        versions = s.execute(select(func.max(RandomisationListEntry.list_version))).scalar_one()
        assert versions >= 3
        ext = s.execute(select(AuditRecord).where(AuditRecord.action == "list_extend")).scalars().all()
        assert len(ext) >= 4 + (versions - 1)
        allocs = s.execute(select(Allocation.stratum, Allocation.arm)).all()
        from randomisation_checks import check_store

        check_store(s, proto.id)
    # every stratum is within half the largest block of balance
    by: dict[str, list[int]] = {}
    for stratum, arm in allocs:
        by.setdefault(stratum, [0, 0])[arm == "usual_care"] += 1
    assert all(abs(a - b) <= 2 for a, b in by.values())
    assert np.sum([sum(v) for v in by.values()]) == 60
