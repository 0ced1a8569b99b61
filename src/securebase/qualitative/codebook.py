"""Versioned, hierarchical codebooks: codes with definition, inclusion and exclusion notes.

A codebook is identified by (trial, name, version). A new version copies every code (new GUIDs, same
tree) so coding done against version 1 stays interpretable; coded segments always point to codes of
one version, and coding against a version refuses codes of any other. A frozen version takes no new
codes (its definitions are the ones coders were trained on).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from securebase.errors import ConflictError, FieldError, NotFound
from securebase.qualitative.access import CODEBOOK_ROLES, READ_ROLES, as_session, require
from securebase.store import UnitOfWork
from securebase.store.tables import Code, Codebook
from securebase.trial.roles import Actor

_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")


def create_codebook(uow: UnitOfWork, actor: Actor, name: str, *, version: int | None = None) -> Codebook:
    """A new, empty codebook version (the next free version number unless one is given)."""
    require(actor, CODEBOOK_ROLES)
    uow.ensure_unlocked(actor.trial_id)
    if not name.strip():
        raise FieldError("codebook name", name, "a non-empty name")
    latest = uow.session.execute(select(func.max(Codebook.version)).where(
        Codebook.trial_id == actor.trial_id, Codebook.name == name)).scalar()
    if version is None:
        version = (latest or 0) + 1
    elif version < 1:
        raise FieldError("codebook version", version, "a whole number of 1 or more")
    elif _lookup(uow.session, actor.trial_id, name, version) is not None:
        raise ConflictError(f"codebook '{name}' version {version} already exists in trial '{actor.trial_id}'; "
                            "create the next version with `securebase qual codebook new-version`")
    cb = Codebook(trial_id=actor.trial_id, name=name, version=version, frozen=False)
    uow.session.add(cb)
    uow.session.flush()
    return cb


def _lookup(session: Any, trial_id: str, name: str, version: int | None) -> Codebook | None:
    stmt = select(Codebook).where(Codebook.trial_id == trial_id, Codebook.name == name)
    stmt = stmt.where(Codebook.version == version) if version is not None else stmt.order_by(Codebook.version.desc())
    found: Codebook | None = session.execute(stmt).scalars().first()
    return found


def find_codebook(session: Any, trial_id: str, name: str, version: int | None = None) -> Codebook:
    """The named codebook version (the latest when ``version`` is None); NotFound lists the codebooks."""
    cb = _lookup(session, trial_id, name, version)
    if cb is None:
        have = session.execute(select(Codebook.name, Codebook.version).where(Codebook.trial_id == trial_id)
                               .order_by(Codebook.name, Codebook.version)).all()
        listed = ", ".join(f"{n} v{v}" for n, v in have) or "none"
        raise NotFound(f"codebook '{name}'" + (f" version {version}" if version is not None else "")
                       + f" not found in trial '{trial_id}'; codebooks: {listed}")
    return cb


def get_codebook(uow_or_session: Any, actor: Actor, codebook_id: int) -> Codebook:
    require(actor, READ_ROLES)
    cb = as_session(uow_or_session).get(Codebook, codebook_id)
    if cb is None or cb.trial_id != actor.trial_id:
        raise NotFound(f"codebook {codebook_id} is not in trial '{actor.trial_id}'")
    return cb


def add_code(uow: UnitOfWork, actor: Actor, codebook_id: int, name: str, *, definition: str = "",
             inclusion: str = "", exclusion: str = "", parent: str | int | None = None,
             colour: str | None = None, guid: str | None = None) -> Code:
    """Add a code (under ``parent``, a code id or name in the same version). Names are unique per parent."""
    require(actor, CODEBOOK_ROLES)
    uow.ensure_unlocked(actor.trial_id)
    cb = get_codebook(uow, actor, codebook_id)
    if cb.frozen:
        raise ConflictError(f"codebook '{cb.name}' version {cb.version} is frozen; add codes to a new version "
                            "(`securebase qual codebook new-version`)")
    if not name.strip():
        raise FieldError("code name", name, "a non-empty name")
    if colour is not None and not _COLOUR.match(colour):
        raise FieldError("code colour", colour, "a colour like #1f77b4")
    parent_code = resolve_code(uow.session, cb, parent) if parent is not None else None
    siblings = uow.session.execute(select(Code.name).where(
        Code.codebook_id == cb.id,
        Code.parent_id == parent_code.id if parent_code else Code.parent_id.is_(None))).scalars().all()
    if name in siblings:
        raise ConflictError(f"code '{name}' already exists " + (f"under '{parent_code.name}' " if parent_code else "")
                            + f"in codebook '{cb.name}' version {cb.version}; choose another name")
    code = Code(trial_id=actor.trial_id, codebook_id=cb.id, parent_id=parent_code.id if parent_code else None,
                guid=guid or str(uuid.uuid4()), name=name, definition=definition, inclusion=inclusion,
                exclusion=exclusion, colour=colour)
    uow.session.add(code)
    uow.session.flush()
    return code


def resolve_code(session: Any, cb: Codebook, ref: str | int) -> Code:
    """A code of codebook ``cb`` by id or by name (a path ``Theme/Subtheme`` when names repeat)."""
    codes = session.execute(select(Code).where(Code.codebook_id == cb.id)).scalars().all()
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        found = [c for c in codes if c.id == int(ref)]
    else:
        paths = _paths(codes)
        found = [c for c in codes if paths[c.id] == ref] or [c for c in codes if c.name == ref]
    if len(found) != 1:
        what = "is ambiguous (give the path Theme/Subtheme)" if found else "is not a code of"
        raise FieldError("code", ref, f"a code of codebook '{cb.name}' version {cb.version}",
                         f"'{ref}' {what} this version; list the codes with `securebase qual codebook show`")
    return found[0]


def _paths(codes: list[Code]) -> dict[int, str]:
    by_id = {c.id: c for c in codes}

    def path(c: Code) -> str:
        return f"{path(by_id[c.parent_id])}/{c.name}" if c.parent_id in by_id else c.name

    return {c.id: path(c) for c in codes}


def new_version(uow: UnitOfWork, actor: Actor, codebook_id: int) -> Codebook:
    """Copy a codebook version (its whole tree) to the next version number."""
    old = get_codebook(uow, actor, codebook_id)
    new = create_codebook(uow, actor, old.name)
    codes = uow.session.execute(select(Code).where(Code.codebook_id == old.id).order_by(Code.id)).scalars().all()
    mapping: dict[int, int] = {}
    pending = list(codes)
    while pending:
        rest = []
        for c in pending:
            if c.parent_id is not None and c.parent_id not in mapping:
                rest.append(c)
                continue
            n = Code(trial_id=c.trial_id, codebook_id=new.id, parent_id=mapping.get(c.parent_id) if c.parent_id else None,
                     guid=str(uuid.uuid4()), name=c.name, definition=c.definition, inclusion=c.inclusion,
                     exclusion=c.exclusion, colour=c.colour)
            uow.session.add(n)
            uow.session.flush()
            mapping[c.id] = n.id
        pending = rest
    return new


def freeze(uow: UnitOfWork, actor: Actor, codebook_id: int) -> Codebook:
    require(actor, CODEBOOK_ROLES)
    cb = get_codebook(uow, actor, codebook_id)
    if uow.reason is None:
        uow.reason = f"codebook '{cb.name}' version {cb.version} frozen for coding"
    cb.frozen = True
    uow.session.flush()
    return cb


@dataclass(frozen=True)
class CodeNode:
    id: int
    guid: str
    name: str
    path: str
    depth: int
    definition: str
    inclusion: str
    exclusion: str
    colour: str | None
    children: tuple[CodeNode, ...] = field(default_factory=tuple)


def code_tree(uow_or_session: Any, actor: Actor, codebook_id: int) -> list[CodeNode]:
    """The codes as a tree (siblings ordered by name, then GUID)."""
    session = as_session(uow_or_session)
    cb = get_codebook(session, actor, codebook_id)
    codes = session.execute(select(Code).where(Code.codebook_id == cb.id)).scalars().all()
    paths = _paths(list(codes))
    kids: dict[int | None, list[Code]] = {}
    for c in codes:
        kids.setdefault(c.parent_id, []).append(c)

    def build(c: Code, depth: int) -> CodeNode:
        children = tuple(build(k, depth + 1) for k in sorted(kids.get(c.id, []), key=lambda k: (k.name, k.guid)))
        return CodeNode(c.id, c.guid, c.name, paths[c.id], depth, c.definition, c.inclusion, c.exclusion, c.colour,
                        children)

    return [build(c, 0) for c in sorted(kids.get(None, []), key=lambda k: (k.name, k.guid))]


def flatten(nodes: list[CodeNode]) -> list[CodeNode]:
    out: list[CodeNode] = []
    for n in nodes:
        out.append(n)
        out.extend(flatten(list(n.children)))
    return out
