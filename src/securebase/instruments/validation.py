"""Check every response against its item, all or nothing.

:func:`validate_responses` returns the cleaned responses (numbers parsed, dates parsed, missing-value
codes turned into :class:`Missing`) or raises one :class:`ResponseValidationError` that lists every
problem, each naming instrument, item, value received, values allowed, participant and visit::

    SDQ item 7 must be 0, 1 or 2 (got 3) in visit "6 months" for participant CARE-014
"""

from __future__ import annotations

import datetime as _dt
import math
import operator as _op
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from securebase.errors import ResponseError
from securebase.instruments.model import Instrument, Item, _canonical

MissingReason = Literal["not_answered", "not_applicable", "refused"]


@dataclass(frozen=True)
class Missing:
    """A response that is absent, with the reason recorded (not answered, not applicable, refused)."""

    reason: MissingReason

    def __str__(self) -> str:
        return self.reason.replace("_", " ")


NOT_ANSWERED = Missing("not_answered")


@dataclass(frozen=True)
class ResponseIssue:
    """One response that failed its item definition."""

    instrument: str
    item: str
    value: Any
    allowed: str
    participant: str | None
    visit: str | None
    message: str


class ResponseValidationError(ResponseError):
    """Raised when any response fails; ``issues`` lists each failure. Nothing should be saved."""

    def __init__(self, issues: list[ResponseIssue]) -> None:
        if len(issues) == 1:
            message = issues[0].message
        else:
            message = f"{len(issues)} responses failed their checks:\n" + "\n".join(
                f"- {i.message}" for i in issues)
        super().__init__(message, issues=issues)
        self.issues = issues


def _fmt_value(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _fmt_num(x: Any) -> str:
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


def _join_or(values: list[str]) -> str:
    if len(values) == 1:
        return values[0]
    return ", ".join(values[:-1]) + " or " + values[-1]


def describe_allowed(item: Item) -> str:
    """What an item accepts, in words: '0, 1 or 2', 'an integer from 0 to 100', 'a date (YYYY-MM-DD)'."""
    if item.allowed is not None:
        return _join_or([_fmt_num(v) for v in item.allowed])
    bounds = ""
    if item.minimum is not None and item.maximum is not None:
        bounds = f" from {_fmt_num(item.minimum)} to {_fmt_num(item.maximum)}"
    elif item.minimum is not None:
        bounds = f" of at least {_fmt_num(item.minimum)}"
    elif item.maximum is not None:
        bounds = f" of at most {_fmt_num(item.maximum)}"
    if item.response_type == "integer":
        return "a whole number" + bounds
    if item.response_type == "decimal":
        return "a number" + bounds
    if item.response_type == "date":
        return "a date (YYYY-MM-DD)" + bounds
    return "text"


def is_blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""


def _parse_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            f = float(value.strip())
        except ValueError:
            return None
        return f if math.isfinite(f) else None
    return None


def coerce(item: Item, value: Any) -> tuple[bool, Any]:
    """Parse a raw answer for ``item``; returns (ok, parsed value or the value to report)."""
    rt = item.response_type
    if rt in ("ordinal", "integer", "decimal"):
        num = _parse_number(value)
        if num is None:
            return False, value
        if rt != "decimal":
            if not num.is_integer():
                return False, num
            parsed: Any = int(num)
        else:
            parsed = num
        if item.allowed is not None:
            return (parsed in item.allowed), parsed
        if isinstance(item.minimum, (int, float)) and parsed < item.minimum:
            return False, parsed
        if isinstance(item.maximum, (int, float)) and parsed > item.maximum:
            return False, parsed
        return True, parsed
    if rt == "category":
        assert item.allowed is not None
        for allowed in item.allowed:
            if str(allowed) == str(value).strip() or (
                    isinstance(allowed, (int, float)) and _parse_number(value) == float(allowed)):
                return True, allowed
        return False, value
    if rt == "date":
        if isinstance(value, _dt.datetime):
            d = value.date()
        elif isinstance(value, _dt.date):
            d = value
        else:
            try:
                d = _dt.date.fromisoformat(str(value).strip())
            except ValueError:
                return False, value
        if isinstance(item.minimum, _dt.date) and d < item.minimum:
            return False, d
        if isinstance(item.maximum, _dt.date) and d > item.maximum:
            return False, d
        return True, d
    return (isinstance(value, str)), value


_OPS = {"<": _op.lt, "<=": _op.le, ">": _op.gt, ">=": _op.ge}


def validate_responses(instrument: Instrument, responses: Mapping[str, Any], *,
                       participant: str | None = None, visit: str | None = None) -> dict[str, Any]:
    """Check every response; return ``{item code: parsed value or Missing}`` for every item.

    Blank values (None, '', NaN) and absent items are ``Missing('not_answered')``; the instrument's
    missing-value codes map to their reasons. Unknown item codes, values outside an item's allowed
    set or range and failed cross-item constraints are all collected and raised together.
    """
    responses = {str(k): v for k, v in responses.items()}  # {7: 2} and {"7": 2} mean the same
    where = ""
    if visit is not None:
        where += f' in visit "{visit}"'
    if participant is not None:
        where += f" for participant {participant}"
    issues: list[ResponseIssue] = []
    known = {it.code for it in instrument.items}
    for code in responses:
        if code not in known:
            allowed = ", ".join(it.code for it in instrument.items)
            msg = f"{instrument.label} has no item {code} (got {_fmt_value(responses[code])}){where}; " \
                  f"expected items: {allowed}"
            issues.append(ResponseIssue(instrument.name, str(code), responses[code], allowed, participant,
                                        visit, msg))
    clean: dict[str, Any] = {}
    missing_lookup = instrument.missing_codes.lookup()
    for item in instrument.items:
        raw = responses.get(item.code)
        if is_blank(raw):
            clean[item.code] = NOT_ANSWERED
            continue
        reason = missing_lookup.get(_canonical(raw))
        if reason is not None:
            clean[item.code] = Missing(reason)  # type: ignore[arg-type]
            continue
        ok, parsed = coerce(item, raw)
        if ok:
            clean[item.code] = parsed
        else:
            allowed = describe_allowed(item)
            msg = f"{instrument.label} item {item.code} must be {allowed} (got {_fmt_value(parsed)}){where}"
            issues.append(ResponseIssue(instrument.name, item.code, parsed, allowed, participant, visit, msg))
    for con in instrument.constraints:
        left, right = clean.get(con.left), clean.get(con.right)
        if left is None or right is None or isinstance(left, Missing) or isinstance(right, Missing):
            continue
        if not _OPS[con.operator](left, right):
            allowed = f"{con.operator} item {con.right} ({_fmt_value(right)})"
            msg = (f"{instrument.label} item {con.left} must be {allowed} (got {_fmt_value(left)}){where}")
            issues.append(ResponseIssue(instrument.name, con.left, left, allowed, participant, visit, msg))
    if issues:
        raise ResponseValidationError(issues)
    return clean
