"""Randomise a participant: the use case, its checks, the sealed permuted-block lists, the views.

``randomise`` runs inside the caller's unit of work (the caller commits). It locks the trial row
(``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite write units are ``BEGIN IMMEDIATE`` already), so
concurrent requests for one trial are serialised: each gets the next sequence number, the next
unused entry of its stratum's list, and asking twice returns the first allocation. Everything a
randomisation writes (allocation, list entry, participant status, visits, trial counter, audit
records) is in that one transaction, so a crash leaves either all of it or none of it.

Refusals (:class:`~securebase.errors.NotEligible`) list every missing requirement at once:
an eligible screening record linked to the participant; every consent the consent service requires
for that record (``securebase.trial.consent.required_kinds``: the carer's consent, the child's assent
on the form for their age, and the local authority's consent where it holds parental responsibility),
each given and not later withdrawn; no withdrawal; and a valid value of every stratification factor.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, func, or_, select

from securebase.errors import BlindingError, ConflictError, NotEligible, NotFound, PermissionDenied
from securebase.protocol import Protocol, protocol_from_yaml_text, visit_windows
from securebase.randomisation import (
    BlockEntry,
    PermutedBlocks,
    Scheme,
    allocation_rng,
    list_rng,
    parse_stratum_key,
    scheme_for,
    stratum_key,
)
from securebase.randomisation.minimisation import Minimisation
from securebase.store import UnitOfWork
from securebase.store.tables import (
    Allocation,
    Consent,
    Participant,
    RandomisationListEntry,
    RandomisationState,
    ScreeningRecord,
    Site,
    Trial,
    Visit,
    Withdrawal,
)
from securebase.trial import access
from securebase.trial.consent import required_kinds
from securebase.trial.roles import Actor, Role

#: Roles that may randomise (the recruiter of the participant's site, or a trial manager/administrator).
RANDOMISERS = frozenset({Role.site_recruiter, Role.trial_manager, Role.administrator})
#: Roles that may generate the sealed lists before go-live.
LIST_MANAGERS = frozenset({Role.trial_manager, Role.administrator})
#: Expected participants per stratum times this factor sizes each version of a stratum's list.
LIST_HEADROOM = 1.5


# Statements built once (building a SQLAlchemy statement costs more than running it on SQLite).
_ALLOC_OF = select(Allocation).where(Allocation.participant_pk == bindparam("pk"))
_MAX_SEQ = select(func.max(Allocation.sequence_number)).where(Allocation.trial_id == bindparam("t"))
_VISIT_IDS = select(Visit.visit_id).where(Visit.participant_pk == bindparam("pk"))
_VISITS = select(Visit).where(Visit.participant_pk == bindparam("pk")).order_by(Visit.month)
_SITES = select(Site.code).where(Site.trial_id == bindparam("t")).order_by(Site.id)
_PARTICIPANT = select(Participant).where(Participant.trial_id == bindparam("t"),
                                         Participant.participant_id == bindparam("pid"))
_SCREENING = (select(ScreeningRecord).where(ScreeningRecord.trial_id == bindparam("t"),
                                            ScreeningRecord.participant_pk == bindparam("pk"))
              .order_by(ScreeningRecord.id.desc()).limit(1))
_CONSENTS = (select(Consent.kind, Consent.given, Consent.signed_on).where(Consent.trial_id == bindparam("t"),
                                   or_(Consent.participant_pk == bindparam("pk"), Consent.screening_pk == bindparam("spk")))
             .order_by(Consent.signed_on, Consent.id))
_WITHDRAWAL = select(Withdrawal.level, Withdrawal.withdrawn_on).where(Withdrawal.participant_pk == bindparam("pk")).limit(1)
_E = RandomisationListEntry
_STRATUM_LIST = (select(_E.id, _E.position, _E.block_number, _E.block_size, _E.arm, _E.participant_pk, _E.list_version)
                 .where(_E.trial_id == bindparam("t"), _E.stratum == bindparam("s")).order_by(_E.position))
_LIST_TAIL = select(func.max(_E.position), func.max(_E.block_number), func.max(_E.list_version)).where(
    _E.trial_id == bindparam("t"), _E.stratum == bindparam("s"))
_COUNTS = (select(Allocation.stratum, Allocation.arm, func.count()).where(Allocation.trial_id == bindparam("t"))
           .group_by(Allocation.stratum, Allocation.arm))


@dataclass(frozen=True)
class VisitDue:
    visit_id: str
    label: str
    due: date
    opens: date
    closes: date


@dataclass(frozen=True)
class AllocationView:
    """What the recruiter is shown: the arm and the visit schedule (not the method's diagnostics,
    which would help predict the next allocation)."""

    participant_id: str
    trial_id: str
    arm: str
    arm_name: str
    sequence_number: int
    method: str
    allocated_on: date
    allocated_by: str
    newly_allocated: bool
    visits: tuple[VisitDue, ...]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["allocated_on"] = self.allocated_on.isoformat()
        d["visits"] = [{**asdict(v), "due": v.due.isoformat(), "opens": v.opens.isoformat(),
                        "closes": v.closes.isoformat()} for v in self.visits]
        return d

    def summary(self) -> str:
        head = (f"{self.participant_id} allocated to {self.arm_name} ({self.arm}) on {self.allocated_on:%Y-%m-%d} "
                f"by {self.allocated_by} (allocation {self.sequence_number}, {self.method})")
        if not self.newly_allocated:
            head += "; this participant was already randomised: the allocation is unchanged"
        lines = [head] + [f"  {v.label}: due {v.due:%Y-%m-%d} (window {v.opens:%Y-%m-%d} to {v.closes:%Y-%m-%d})"
                          for v in self.visits]
        return "\n".join(lines)


@dataclass(frozen=True)
class ListStatus:
    """A stratum's sealed list without its contents: sizes only."""

    stratum: str
    entries: int
    used: int
    versions: int


def blinding_message(actor: Actor) -> str:
    roles = ", ".join(sorted(r.value for r in actor.roles)) or "no role"
    return (f"user '{actor.username}' is blinded on trial '{actor.trial_id}' (roles: {roles}): allocations are "
            "concealed from blinded roles by every route. In a medical emergency ask for emergency unblinding "
            "(`securebase unblind request PARTICIPANT --reason ...`); a trial manager decides.")


@lru_cache(maxsize=16)
def _protocol_from_text(text: str) -> Protocol:
    return protocol_from_yaml_text(text, "trial protocol")


_SITE_CACHE: dict[tuple[str, str], tuple[str, ...]] = {}


def trial_scheme(uow: UnitOfWork, trial: Trial, *, site: str | None = None) -> tuple[Protocol, Scheme]:
    """The trial's stored protocol and its allocation scheme (sites from the trial's site table; the
    list is cached per process and read again whenever ``site`` is not in it, so a new site is seen)."""
    key = (uow.store.url, trial.id)
    sites = _SITE_CACHE.get(key)
    if sites is None or (site is not None and site not in sites):
        sites = _SITE_CACHE[key] = tuple(uow.session.execute(_SITES, {"t": trial.id}).scalars().all())
    return _scheme_from_text(trial.protocol_yaml, sites)


@lru_cache(maxsize=16)
def _scheme_from_text(text: str, sites: tuple[str, ...]) -> tuple[Protocol, Scheme]:
    protocol = _protocol_from_text(text)
    return protocol, scheme_for(protocol, list(sites) or None)


def _participant(uow: UnitOfWork, actor: Actor, participant_id: str) -> Participant:
    p = uow.session.execute(_PARTICIPANT, {"t": actor.trial_id, "pid": participant_id}).scalar_one_or_none()
    if p is None or not actor.can_reach_site(p.site_code):
        raise NotFound(f"participant '{participant_id}' is not in trial '{actor.trial_id}' at your sites; "
                       "check the trial ID (for example CARE-0014)")
    return p


def factor_values(p: Participant, scheme: Scheme) -> tuple[dict[str, str], list[str]]:
    """The participant's value of each factor and a list of problems (missing or unknown values)."""
    values: dict[str, str] = {}
    problems: list[str] = []
    for f, levels in zip(scheme.factors, scheme.levels, strict=True):
        if f == "site":
            v: Any = p.site_code
        else:
            v = (p.strata or {}).get(f)
            if v in (None, ""):
                v = getattr(p, f, None) if f in Participant.__table__.columns else None
        if v in (None, ""):
            problems.append(f"stratification value '{f}' is missing (expected one of {', '.join(levels)})")
        elif str(v) not in levels:
            problems.append(f"stratification value '{f}' is {v!r}, expected one of {', '.join(levels)}")
        else:
            values[f] = str(v)
    return values, problems


def readiness(uow: UnitOfWork, p: Participant, scheme: Scheme,
              on: date | None = None) -> tuple[dict[str, str], list[str]]:
    """Stratification values and every reason the participant cannot be randomised on ``on`` (default today)."""
    s = uow.session
    problems: list[str] = []
    screening = s.execute(_SCREENING, {"t": p.trial_id, "pk": p.id}).scalars().first()
    if screening is None:
        problems.append("no screening record is linked to the participant (record the eligibility check)")
    elif not screening.eligible:
        why = f": {screening.ineligible_reasons}" if screening.ineligible_reasons else ""
        problems.append(f"screening record {screening.screening_number} says not eligible{why}")
    else:
        # Re-check at randomisation (Sealed Envelope does the same): the protocol's criteria against the
        # answers as they stand now (after any correction), with the age carried forward to today.
        answers = dict(screening.answers or {})
        if answers.get("age_years") is not None:
            answers["age_years"] = float(answers["age_years"]) + max(
                0, ((on or date.today()) - screening.screened_on).days // 365.25)
        from securebase.protocol import check_eligibility
        from securebase.trial.access import protocol_of

        now = check_eligibility(protocol_of(s, p.trial_id), answers)
        if now.reasons:  # a criterion the recorded answers now fail (a correction, an age passed); answers a
            # record never held (records imported or made before every question was required) were judged
            # when the record was saved, so they do not block here
            problems.append("eligibility re-checked at randomisation: not eligible: " + "; ".join(now.reasons))
    consents = s.execute(_CONSENTS, {"t": p.trial_id, "pk": p.id,
                                     "spk": screening.id if screening is not None else -1}).all()
    latest = {c.kind: c for c in consents}  # the latest record of each kind decides
    # the consent service's rule: carer consent, the child's assent (age-appropriate form, every age) and
    # the local authority's consent where it holds parental responsibility
    needed = required_kinds(screening) if screening is not None else ["carer_consent", "child_assent"]
    for kind in needed:
        c = latest.get(kind)
        if c is None:
            problems.append(f"no {kind.replace('_', ' ')} is recorded")
        elif not c.given:
            problems.append(f"{kind.replace('_', ' ')} was refused or withdrawn on {c.signed_on:%Y-%m-%d}")
    w = s.execute(_WITHDRAWAL, {"pk": p.id}).first()
    if w is not None:
        problems.append(f"the participant withdrew ({w.level}) on {w.withdrawn_on:%Y-%m-%d}")
    values, strata_problems = factor_values(p, scheme)
    return values, problems + strata_problems


def _require_randomiser(actor: Actor) -> None:
    if actor.blinded:
        raise BlindingError(blinding_message(actor))
    if not actor.has(*RANDOMISERS):
        raise PermissionDenied(f"user '{actor.username}' may not randomise on trial '{actor.trial_id}': it needs one of "
                               f"the roles {', '.join(sorted(r.value for r in RANDOMISERS))}; ask a trial manager")


# -- sealed permuted-block lists --------------------------------------------------------------------
def _blocks_per_version(protocol: Protocol, scheme: Scheme) -> int:
    assert isinstance(scheme.method, PermutedBlocks)
    per_stratum = protocol.target_sample_size / max(1, len(scheme.strata())) * LIST_HEADROOM
    return scheme.method.blocks_for(per_stratum)


def extend_list(uow: UnitOfWork, trial: Trial, scheme: Scheme, stratum: str, n_blocks: int, *, why: str) -> int:
    """Append a new version of ``stratum``'s list (generated from the trial seed); returns the version."""
    assert isinstance(scheme.method, PermutedBlocks)
    e = RandomisationListEntry
    last = uow.session.execute(_LIST_TAIL, {"t": trial.id, "s": stratum}).one()
    version = (last[2] or 0) + 1
    entries = scheme.method.generate(n_blocks, list_rng(trial.randomisation_seed or 0, stratum, version),
                                     first_position=(last[0] or 0) + 1, first_block=(last[1] or 0) + 1)
    uow.session.add_all([e(trial_id=trial.id, stratum=stratum, position=x.position, list_version=version,
                           block_number=x.block_number, block_size=x.block_size, arm=x.arm) for x in entries])
    uow.session.flush()
    uow.log_event("list_extend", table_name="randomisation_list", record_id=f"v{version}", trial_id=trial.id,
                  detail={"stratum": stratum, "list_version": version, "blocks": n_blocks, "entries": len(entries),
                          "first_position": entries[0].position, "why": why,
                          "stream": "SeedSequence([trial seed, 2, sha256(stratum), version])"})
    return version


def prepare_lists(uow: UnitOfWork, actor: Actor, *, blocks_per_stratum: int | None = None) -> list[ListStatus]:
    """Before go-live: generate version 1 of every stratum's sealed list (strata that have none)."""
    if not actor.has(*LIST_MANAGERS):
        raise PermissionDenied(f"user '{actor.username}' may not prepare randomisation lists: a trial manager or "
                               "administrator does this before go-live")
    trial = uow.trial(actor.trial_id, for_update=True)
    protocol, scheme = trial_scheme(uow, trial)
    if not isinstance(scheme.method, PermutedBlocks):
        raise ConflictError(f"trial '{trial.id}' allocates by {scheme.name}, which needs no pre-generated list; "
                            "lists are for stratification method permuted_blocks")
    n_blocks = blocks_per_stratum or _blocks_per_version(protocol, scheme)
    have = set(uow.session.execute(select(RandomisationListEntry.stratum).distinct()
                                   .where(RandomisationListEntry.trial_id == trial.id)).scalars())
    for values in scheme.strata():
        key = stratum_key(values, scheme.factors)
        if key not in have:
            extend_list(uow, trial, scheme, key, n_blocks, why="prepared before go-live")
    return list_status(uow, actor)


def list_status(uow: UnitOfWork, actor: Actor) -> list[ListStatus]:
    """Entries, used entries and versions per stratum (never the arms): for an unblinded trial role."""
    if actor.blinded:
        raise BlindingError(blinding_message(actor))
    e = RandomisationListEntry
    rows = uow.session.execute(select(e.stratum, func.count(), func.count(e.participant_pk), func.max(e.list_version))
                               .where(e.trial_id == actor.trial_id).group_by(e.stratum).order_by(e.stratum)).all()
    return [ListStatus(r[0], r[1], r[2], r[3]) for r in rows]


def _take_from_list(uow: UnitOfWork, trial: Trial, protocol: Protocol, scheme: Scheme, stratum: str,
                    participant_pk: int) -> tuple[Any, RandomisationListEntry]:
    """Take the stratum's next unused entry (one read of the stratum's list, one row load)."""
    method = scheme.method
    assert isinstance(method, PermutedBlocks)
    n_blocks = _blocks_per_version(protocol, scheme)
    rows = uow.session.execute(_STRATUM_LIST, {"t": trial.id, "s": stratum}).all()
    if not any(r.participant_pk is None for r in rows):
        extend_list(uow, trial, scheme, stratum, n_blocks, why="stratum had no unused entries")
        rows = uow.session.execute(_STRATUM_LIST, {"t": trial.id, "s": stratum}).all()
    free = [r for r in rows if r.participant_pk is None]
    nxt = free[0]
    used_in_block = [r.arm for r in rows if r.block_number == nxt.block_number and r.position < nxt.position]
    counts = [sum(1 for r in rows if r.participant_pk is not None and r.arm == a) for a in scheme.arms]
    decision = method.decision(BlockEntry(nxt.position, nxt.block_number, nxt.block_size, nxt.arm), used_in_block,
                               counts, list_version=nxt.list_version)
    entry = uow.session.get(RandomisationListEntry, nxt.id)
    assert entry is not None
    entry.participant_pk = participant_pk
    left = len(free) - 1
    if left < max(method.block_sizes):
        extend_list(uow, trial, scheme, stratum, n_blocks,
                    why=f"{left} unused entries left, below the largest block size {max(method.block_sizes)}")
    return decision, entry


def _minimisation_counts(uow: UnitOfWork, trial_id: str, scheme: Scheme) -> dict[str, dict[str, list[int]]]:
    """Marginal totals ``{factor: {level: [n per arm]}}`` recounted from every allocation of the trial."""
    counts: dict[str, dict[str, list[int]]] = {}
    rows = uow.session.execute(_COUNTS, {"t": trial_id}).all()
    arm_index = {a: i for i, a in enumerate(scheme.arms)}
    for stratum, arm, n in rows:
        if arm not in arm_index:
            continue
        for f, level in parse_stratum_key(stratum).items():
            counts.setdefault(f, {}).setdefault(level, [0] * len(scheme.arms))[arm_index[arm]] += n
    return counts


#: Keep minimisation's marginal totals in ``randomisation_state`` (O(1) per allocation). False recounts
#: every allocation each time (the behaviour before; kept for the benchmark's same-run comparison and
#: the test that both give identical allocations).
INCREMENTAL_MINIMISATION = True


def _minimisation_state(uow: UnitOfWork, trial_id: str, scheme: Scheme, seq: int) -> RandomisationState:
    """The trial's running totals, counting allocations 1..seq-1 (read under the trial lock). Rebuilt by one
    recount when missing or out of step (a store from an earlier release, allocations by another route)."""
    state = uow.session.get(RandomisationState, trial_id)
    if state is not None and state.allocations == seq - 1 and list(state.arms) == list(scheme.arms):
        return state
    counts = _minimisation_counts(uow, trial_id, scheme)
    if state is None:
        state = RandomisationState(trial_id=trial_id, allocations=seq - 1, arms=list(scheme.arms), counts=counts)
        uow.session.add(state)
    else:
        state.allocations, state.arms, state.counts = seq - 1, list(scheme.arms), counts
    return state


def _count_allocation(state: RandomisationState, scheme: Scheme, values: dict[str, str], arm: str, seq: int) -> None:
    """Add allocation ``seq`` (``arm`` at the factor levels ``values``) to the running totals."""
    k = scheme.arms.index(arm)
    counts = {f: {lv: list(n) for lv, n in levels.items()} for f, levels in state.counts.items()}
    for f, level in values.items():
        counts.setdefault(f, {}).setdefault(level, [0] * len(scheme.arms))[k] += 1
    state.counts = counts  # a new object, so the JSON column is written
    state.allocations = seq


# -- the use case ----------------------------------------------------------------------------------
def randomise(uow: UnitOfWork, actor: Actor, participant_id: str, *, on: date | None = None) -> AllocationView:
    """Randomise ``participant_id`` on ``on`` (default today, UTC), or return their existing allocation.

    The caller commits the unit of work. The sequence number is one more than the trial's highest
    (read under the trial lock); ``trials.allocation_count`` is not maintained (it would cost an audited
    update per randomisation and duplicate ``max(allocations.sequence_number)``).
    """
    _require_randomiser(actor)
    trial = uow.trial(actor.trial_id, for_update=True)  # serialises randomisations of this trial
    p = _participant(uow, actor, participant_id)
    protocol, scheme = trial_scheme(uow, trial, site=p.site_code)
    existing = uow.session.execute(_ALLOC_OF, {"pk": p.id}).scalar_one_or_none()
    if existing is not None:
        return _view(uow, protocol, p, existing, newly=False)
    if trial.locked:
        uow.ensure_unlocked(trial.id)  # raises TrialLocked with the standard message
    values, problems = readiness(uow, p, scheme, on)
    if problems:
        raise NotEligible(f"{participant_id} cannot be randomised: " + "; ".join(problems)
                          + ". Record what is missing, then ask again.", problems=problems)
    on = on or datetime.now(UTC).date()
    seq = (uow.session.execute(_MAX_SEQ, {"t": trial.id}).scalar_one() or 0) + 1
    if uow.reason is None:
        uow.reason = f"randomisation of {participant_id} (allocation {seq})"
    stratum = stratum_key(values, scheme.factors)
    list_version: int | None = None
    method = scheme.method
    seed = trial.randomisation_seed or 0
    if isinstance(method, PermutedBlocks):
        decision, entry = _take_from_list(uow, trial, protocol, scheme, stratum, p.id)
        list_version = entry.list_version
    elif isinstance(method, Minimisation):
        if INCREMENTAL_MINIMISATION:
            state = _minimisation_state(uow, trial.id, scheme, seq)
            decision = method.allocate(method.counts_at(state.counts, values), seq, allocation_rng(seed, seq))
            _count_allocation(state, scheme, values, decision.arm, seq)
        else:
            counts = _minimisation_counts(uow, trial.id, scheme)
            decision = method.allocate(method.counts_at(counts, values), seq, allocation_rng(seed, seq))
    else:
        decision = method.allocate(allocation_rng(seed, seq))
    have = set(uow.session.execute(_VISIT_IDS, {"pk": p.id}).scalars())
    diagnostics = decision.to_dict()
    alloc = Allocation(trial_id=trial.id, participant_pk=p.id, sequence_number=seq, arm=decision.arm,
                       method=scheme.name, stratum=stratum, list_version=list_version, allocated_on=on,
                       allocated_by=actor.username, diagnostics=diagnostics)
    uow.session.add(alloc)
    p.status = "randomised"
    for w in visit_windows(protocol, on):
        if w.visit_id not in have:
            uow.session.add(Visit(trial_id=trial.id, participant_pk=p.id, visit_id=w.visit_id,
                                  month=protocol.visit(w.visit_id).month, due_on=w.due, window_opens=w.opens,
                                  window_closes=w.closes, status="scheduled"))
    uow.session.flush()
    uow.log_event("randomise", table_name="allocations", record_id=str(alloc.id), trial_id=trial.id,
                  participant_id=participant_id,
                  detail={"sequence_number": seq, "method": scheme.name, "stratum": stratum, "factors": values,
                          "on": on.isoformat(), "list_version": list_version, "diagnostics": diagnostics,
                          "stream": None if list_version else "SeedSequence([trial seed, 1, sequence_number])"})
    return _view(uow, protocol, p, alloc, newly=True)


def allocation_for(uow: UnitOfWork, actor: Actor, participant_id: str) -> AllocationView:
    """The participant's allocation, for unblinded roles that may read participant records (not the health
    economist, qualitative researcher or DMC, who get aggregates); :class:`BlindingError` or PermissionDenied
    otherwise."""

    if actor.blinded:
        raise BlindingError(blinding_message(actor))
    access.require(actor, access.READ_ROLES, "reading a participant's allocation")
    trial = uow.trial(actor.trial_id)
    p = _participant(uow, actor, participant_id)
    alloc = uow.session.execute(_ALLOC_OF, {"pk": p.id}).scalar_one_or_none()
    if alloc is None:
        raise NotFound(f"participant '{participant_id}' has not been randomised yet; randomise with "
                       f"`securebase randomise {participant_id} --as USER`")
    protocol = _protocol_from_text(trial.protocol_yaml)
    return _view(uow, protocol, p, alloc, newly=False)


def allocation_view(uow: UnitOfWork, p: Participant) -> AllocationView:
    """The allocation of ``p`` with no role check: for services that have checked the right already
    (emergency unblinding). Raises NotFound when ``p`` is not randomised."""
    alloc = uow.session.execute(_ALLOC_OF, {"pk": p.id}).scalar_one_or_none()
    if alloc is None:
        raise NotFound(f"participant '{p.participant_id}' has not been randomised yet")
    return _view(uow, _protocol_from_text(uow.trial(p.trial_id).protocol_yaml), p, alloc, newly=False)


def _view(uow: UnitOfWork, protocol: Protocol, p: Participant, alloc: Allocation, *, newly: bool) -> AllocationView:
    visits = uow.session.execute(_VISITS, {"pk": p.id}).scalars().all()
    labels = {v.id: v.label for v in protocol.visits}
    try:
        arm_name = protocol.arm(alloc.arm).name
    except KeyError:
        arm_name = alloc.arm
    return AllocationView(p.participant_id, p.trial_id, alloc.arm, arm_name, alloc.sequence_number, alloc.method,
                          alloc.allocated_on, alloc.allocated_by, newly,
                          tuple(VisitDue(v.visit_id, labels.get(v.visit_id, v.visit_id), v.due_on, v.window_opens,
                                         v.window_closes) for v in visits))


__all__ = ["AllocationView", "ListStatus", "RANDOMISERS", "VisitDue", "allocation_for", "allocation_view",
           "blinding_message", "extend_list", "list_status", "prepare_lists", "randomise", "readiness", "trial_scheme"]
