"""Compare two stores' copies of a trial by natural keys (participant and visit ids, not row ids)."""

from __future__ import annotations

import json
from typing import Any

from securebase.trial.lock import trial_snapshot

ROUND_TRIP_TABLES = ("participants", "allocations", "visits", "responses", "scores", "events", "withdrawals",
                     "resource_use", "intervention_sessions")


def snapshot(store: Any, tables: tuple[str, ...] = ROUND_TRIP_TABLES) -> dict[str, list[dict[str, Any]]]:
    with store.read() as s:
        snap = trial_snapshot(s, "ng26-care", natural=True)
    return {t: snap[t] for t in tables}


def assert_same(a: Any, b: Any, tables: tuple[str, ...] = ROUND_TRIP_TABLES,
                ignore: tuple[str, ...] = ()) -> dict[str, int]:
    """Every row and value equal (dates, times, floats, missing codes) except the ``table.column`` names in
    ``ignore``; returns row counts."""
    sa, sb = snapshot(a, tables), snapshot(b, tables)
    for t in tables:
        for col in (c.split(".", 1)[1] for c in ignore if c.startswith(f"{t}.")):
            for row in (*sa[t], *sb[t]):
                row.pop(col, None)
            for rows in (sa[t], sb[t]):
                rows.sort(key=lambda d: json.dumps(d, sort_keys=True, default=str))
        assert len(sa[t]) == len(sb[t]), f"{t}: {len(sa[t])} rows vs {len(sb[t])}"
        for x, y in zip(sa[t], sb[t], strict=True):
            assert x == y, f"{t} differs:\n{x}\n{y}"
    return {t: len(sa[t]) for t in tables}
