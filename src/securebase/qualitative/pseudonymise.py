"""Pseudonymisation of transcripts: flag names and places, replace them with tags, count what changed.

Terms come from the participant's identifier record (decrypted with the settings key when one is set)
and from a user-supplied list. Each term is matched case-insensitively on word boundaries, longest term
first, and replaced by its tag: ``[CHILD]``, ``[CARER]``, ``[PLACE]`` (or another upper-case tag the user
names). Full names are matched whole and by each capitalised part (first name, surname), because
interviewees use first names. This is an aid, not a guarantee: a person must still read the result
(UK Data Service guidance on anonymising qualitative data recommends a reviewed, consistent
replacement scheme with a log kept apart from the data).
The audit records counts per tag and per source, never the terms themselves.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from securebase.errors import FieldError

TAGS = ("CHILD", "CARER", "PLACE")
_TAG_RE = re.compile(r"^[A-Z][A-Z_]{1,23}$")

#: Keys of an identifier record and the tag their values get. Matched on the key's words.
_CHILD_KEYS = ("child", "young_person", "name", "first_name", "surname", "last_name", "given_name", "nickname")
_CARER_KEYS = ("carer", "parent", "guardian", "mother", "father", "foster", "adopter", "adoptive", "kin")
_PLACE_KEYS = ("address", "street", "town", "city", "village", "postcode", "school", "place", "county",
               "local_authority", "placement", "district")


def tag_for_key(key: str) -> str | None:
    """The tag for an identifier-record key (``carer_name`` -> CARER), or None if not a name or place."""
    k = key.lower()
    if any(w in k for w in _PLACE_KEYS):
        return "PLACE"
    if any(w in k for w in _CARER_KEYS):
        return "CARER"
    if any(w in k for w in _CHILD_KEYS):
        return "CHILD"
    return None


def _values(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _values(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _values(v)


def terms_from_identifiers(record: Mapping[str, Any]) -> dict[str, str]:
    """Terms (name/place -> tag) from a decrypted identifier record; keys that are not names or places
    (dates of birth, NHS numbers) are ignored here."""
    terms: dict[str, str] = {}
    for key, value in record.items():
        tag = tag_for_key(key)
        if tag is None:
            continue
        for v in _values(value):
            _add_term(terms, v, tag)
    return terms


def _add_term(terms: dict[str, str], value: str, tag: str) -> None:
    value = " ".join(value.split())
    if len(value) < 2:
        return
    terms.setdefault(value, tag)
    if tag in ("CHILD", "CARER"):
        for part in value.split(" "):
            if len(part) >= 2 and part[0].isupper():
                terms.setdefault(part, tag)
    elif tag == "PLACE" and "," in value:
        for part in value.split(","):
            part = part.strip()
            if len(part) >= 3:
                terms.setdefault(part, tag)


def parse_user_terms(entries: Iterable[str] | Mapping[str, str]) -> dict[str, str]:
    """A user list: a mapping term -> tag, or strings ``"term=TAG"``; a bare term is tagged NAME."""
    pairs = entries.items() if isinstance(entries, Mapping) else (
        (e.rsplit("=", 1) if "=" in e else (e, "NAME")) for e in entries)
    terms: dict[str, str] = {}
    for term, tag in pairs:
        tag = tag.strip().strip("[]").upper()
        if not _TAG_RE.match(tag):
            raise FieldError("pseudonymisation tag", tag, "upper-case letters such as CHILD, CARER or PLACE",
                             "write entries as 'term=TAG'")
        if not term.strip():
            raise FieldError("pseudonymisation term", term, "a non-empty name or place")
        _add_term(terms, term.strip(), tag)
    return terms


@dataclass(frozen=True)
class Flag:
    """One occurrence of a term: where it is and the tag it would get (the term itself stays here only)."""

    start: int
    end: int
    tag: str
    source: str


@dataclass(frozen=True)
class PseudonymisedText:
    """The replaced text and counts per tag and per source (safe to audit: no names)."""

    text: str
    flags: tuple[Flag, ...]
    counts: dict[str, int] = field(default_factory=dict)
    sources: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.flags)

    def to_dict(self) -> dict[str, Any]:
        return {"replacements": self.total, "by_tag": dict(sorted(self.counts.items())),
                "by_source": dict(sorted(self.sources.items()))}

    def summary(self) -> str:
        parts = ", ".join(f"{n} x [{t}]" for t, n in sorted(self.counts.items())) or "nothing"
        return f"pseudonymisation replaced {self.total} occurrence(s): {parts}"


def flag(text: str, terms_by_source: Mapping[str, Mapping[str, str]]) -> list[Flag]:
    """All non-overlapping occurrences of the terms, longest term first, in text order."""
    entries = sorted(((term, tag, src) for src, terms in terms_by_source.items() for term, tag in terms.items()),
                     key=lambda e: (-len(e[0]), e[0].lower(), e[2]))
    taken = [False] * len(text)
    found: list[Flag] = []
    for term, tag, src in entries:
        pattern = re.compile(r"(?<!\w)" + re.escape(term).replace(r"\ ", r"\s+") + r"(?!\w)", re.IGNORECASE)
        for m in pattern.finditer(text):
            if any(taken[m.start():m.end()]):
                continue
            for i in range(m.start(), m.end()):
                taken[i] = True
            found.append(Flag(m.start(), m.end(), tag, src))
    return sorted(found, key=lambda f: f.start)


def pseudonymise(text: str, terms_by_source: Mapping[str, Mapping[str, str]]) -> PseudonymisedText:
    """Replace every flagged occurrence by ``[TAG]``."""
    flags = flag(text, terms_by_source)
    out, pos = [], 0
    for f in flags:
        out.append(text[pos:f.start])
        out.append(f"[{f.tag}]")
        pos = f.end
    out.append(text[pos:])
    return PseudonymisedText("".join(out), tuple(flags), dict(Counter(f.tag for f in flags)),
                             dict(Counter(f.source for f in flags)))
