"""Hypothesis strategies for instrument responses (shared by the property tests)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

from securebase.instruments import Instrument, Item

MIN_DATE, MAX_DATE = dt.date(2000, 1, 1), dt.date(2035, 12, 31)


def valid_value(item: Item) -> st.SearchStrategy[Any]:
    rt = item.response_type
    if item.allowed is not None:
        return st.sampled_from(list(item.allowed))
    if rt == "integer":
        return st.integers(int(item.minimum), int(item.maximum))  # type: ignore[arg-type]
    if rt == "decimal":
        return st.floats(float(item.minimum), float(item.maximum), allow_nan=False)  # type: ignore[arg-type]
    if rt == "date":
        return st.dates(MIN_DATE, MAX_DATE)
    return st.text(max_size=30).filter(lambda s: s.strip() != "")


def responses(instrument: Instrument, *, allow_missing: bool = True) -> st.SearchStrategy[dict[str, Any]]:
    """Valid responses: each item a valid value, blank, or a missing-value code; constraints hold."""
    codes = instrument.missing_codes
    parts: dict[str, st.SearchStrategy[Any]] = {}
    for item in instrument.items:
        options = [valid_value(item)]
        if allow_missing:
            options += [st.just(None), st.sampled_from([codes.not_answered, codes.not_applicable, codes.refused])]
        parts[item.code] = st.one_of(*options)

    def fix(r: dict[str, Any]) -> dict[str, Any]:
        for con in instrument.constraints:
            a, b = r.get(con.left), r.get(con.right)
            if isinstance(a, (int, float, dt.date)) and type(a) is type(b) and not _ok(con.operator, a, b):
                r[con.left], r[con.right] = b, a
        return r

    return st.fixed_dictionaries(parts).map(fix)


def _ok(op: str, a: Any, b: Any) -> bool:
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
