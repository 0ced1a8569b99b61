"""Invariant checks shared by the concurrency and crash tests."""

from __future__ import annotations

import json
from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from securebase.store import verify_chain
from securebase.store.tables import Allocation, AuditRecord, Participant, RandomisationListEntry, Visit


def check_store(session: Session, trial_id: str, *, n_visits: int = 3) -> dict[str, int]:
    """Assert: at most one allocation per participant, sequence numbers 1..N without gaps, every
    allocation complete (visits, status, audit event, list entry), nothing for the others, each
    stratum's list consumed as a prefix in sequence order, and the audit chain intact."""
    allocs = session.execute(select(Allocation).where(Allocation.trial_id == trial_id)
                             .order_by(Allocation.sequence_number)).scalars().all()
    seqs = [a.sequence_number for a in allocs]
    assert seqs == list(range(1, len(allocs) + 1)), "sequence numbers must run 1..N without gap or duplicate"
    pks = [a.participant_pk for a in allocs]
    assert len(pks) == len(set(pks)), "a participant has two allocations"
    visits = dict(session.execute(select(Visit.participant_pk, func.count()).where(Visit.trial_id == trial_id)
                                  .group_by(Visit.participant_pk)).all())
    status = dict(session.execute(select(Participant.id, Participant.status).where(Participant.trial_id == trial_id)).all())
    events = set(session.execute(select(AuditRecord.record_id).where(AuditRecord.table_name == "allocations",
                                                                    AuditRecord.action == "randomise")).scalars())
    # the insert record's record_id is not reliable (the store writes '?' for new rows); use its row image
    inserts = {str(json.loads(new)["id"]) for new in session.execute(
        select(AuditRecord.new).where(AuditRecord.table_name == "allocations", AuditRecord.action == "insert")).scalars()}
    allocated = set(pks)
    for a in allocs:
        assert visits.get(a.participant_pk) == n_visits
        assert status[a.participant_pk] == "randomised"
        assert str(a.id) in events and str(a.id) in inserts
    for pk, st in status.items():
        if pk not in allocated:
            assert st == "enrolled" and pk not in visits, "a participant without allocation has randomisation rows"
    entries = session.execute(select(RandomisationListEntry).where(RandomisationListEntry.trial_id == trial_id)
                              .order_by(RandomisationListEntry.stratum, RandomisationListEntry.position)).scalars().all()
    by_stratum: dict[str, list[RandomisationListEntry]] = defaultdict(list)
    for e in entries:
        by_stratum[e.stratum].append(e)
    alloc_by_pk = {a.participant_pk: a for a in allocs}
    used_total = 0
    for stratum, es in by_stratum.items():
        assert [e.position for e in es] == list(range(1, len(es) + 1))
        used = [e for e in es if e.participant_pk is not None]
        assert es[: len(used)] == used, f"stratum {stratum}: the list was not consumed in order"
        assert [alloc_by_pk[e.participant_pk].sequence_number for e in used] == sorted(
            alloc_by_pk[e.participant_pk].sequence_number for e in used)
        for e in used:
            a = alloc_by_pk[e.participant_pk]
            assert a.arm == e.arm and a.stratum == stratum and a.list_version == e.list_version
        assert len(es) - len(used) >= 1, "a stratum ran out"
        blocks: dict[int, list[RandomisationListEntry]] = defaultdict(list)
        for e in es:
            blocks[e.block_number].append(e)
        for b in blocks.values():  # every stored block is complete and balanced (equal ratios here)
            assert len(b) == b[0].block_size
            arms = [e.arm for e in b]
            assert len({arms.count(a) for a in set(arms)}) == 1
        used_total += len(used)
    if entries:
        assert used_total == len(allocs)
    verify_chain(session)
    return {"allocations": len(allocs), "strata": len(by_stratum)}
