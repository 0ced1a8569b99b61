"""REDCap's own names: unique event names and unique data access group names, derived as REDCap derives them.

REDCap (``Classes/Project.php``, ``Project::getUniqueEventNames`` and ``getUniqueGroupNames``, read in the
REDCap 15.7 source) makes a unique name from a label by: decoding HTML entities and trimming; removing
every character that is not a letter, digit, underscore or space; turning spaces into underscores;
keeping the first 18 characters; lower-casing; dropping underscores at the ends (events: all at both
ends; groups: one at the end); falling back to the first 10 hex digits of the MD5 of the label when nothing is
left; for events appending ``_arm_<n>``; and appending ``b``, ``c``... to the second, third... name that
came out the same. So "6 months" in arm 1 is ``6_months_arm_1`` and "Deadline to opt out of study" in
arm 2 is ``deadline_to_opt_ou_arm_2`` (REDCapR's test project shows the same name).
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable

_DROP = re.compile(r"[^0-9a-z_ ]", re.IGNORECASE)


def _suffix(count: int) -> str:
    if count == 0:
        return ""
    if count < 26:
        return chr(97 + count)
    if count < 702:
        return chr(96 + count // 26) + chr(97 + count % 26)
    return "??"


def _base(label: str, *, strip_start: bool) -> str:
    descrip = html.unescape(label).strip()
    text = _DROP.sub("", descrip).replace(" ", "_")[:18].lower()
    if strip_start:  # events: every underscore at either end
        text = text.strip("_")
    elif text.endswith("_"):  # groups: one underscore at the end
        text = text[:-1]
    return text or hashlib.md5(descrip.encode("utf-8")).hexdigest()[:10]  # noqa: S324 - REDCap's own naming


def unique_event_names(events: Iterable[tuple[str, int]]) -> list[str]:
    """REDCap's unique event name of each ``(event label, arm number)``, in the order given (project order)."""
    seen: list[str] = []
    out = []
    for label, arm in events:
        text = f"{_base(label, strip_start=True)}_arm_{arm}"
        out.append(text + _suffix(seen.count(text)))
        seen.append(text)
    return out


def unique_event_name(label: str, arm: int = 1) -> str:
    """The unique event name REDCap gives a lone event labelled ``label`` in arm ``arm``."""
    return unique_event_names([(label, arm)])[0]


def unique_group_names(labels: Iterable[str]) -> list[str]:
    """REDCap's unique data access group name of each group label, in the order given."""
    seen: list[str] = []
    out = []
    for label in labels:
        text = _base(label, strip_start=False)
        out.append(text + _suffix(seen.count(text)))
        seen.append(text)
    return out


__all__ = ["unique_event_name", "unique_event_names", "unique_group_names"]
