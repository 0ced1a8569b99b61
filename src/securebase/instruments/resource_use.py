"""Turn a validated resource-use record into quantity rows keyed by unit-cost keys.

Each quantity item of a CSRI-style instrument names its unit and the key of its unit cost
(``cost_key``); the unit-cost table itself (price, price year, category, inflation) is kept by
:mod:`securebase.instruments.unit_costs`. The rows here carry the analysis contract's resource-use
fields (``item`` = unit-cost key, ``quantity``; see securebase.analysis.schema).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from securebase.instruments.model import Instrument
from securebase.instruments.validation import Missing, validate_responses


@dataclass(frozen=True)
class ResourceUseRow:
    """One service used in one recall period: unit-cost key, unit and quantity (never invented)."""

    item: str
    service: str
    unit: str
    quantity: float
    period_start: dt.date | None
    period_end: dt.date | None

    def to_dict(self) -> dict[str, Any]:
        return {"item": self.item, "service": self.service, "unit": self.unit, "quantity": self.quantity,
                "period_start": self.period_start, "period_end": self.period_end}


def resource_use_rows(instrument: Instrument, responses: Mapping[str, Any], *,
                      participant: str | None = None, visit: str | None = None,
                      start_item: str = "period_start", end_item: str = "period_end") -> list[ResourceUseRow]:
    """Rows for every answered quantity item that has a ``cost_key``; unanswered items give no row.

    Raises ResponseValidationError (all problems at once) when any response fails its item.
    """
    clean = validate_responses(instrument, responses, participant=participant, visit=visit)
    start = clean.get(start_item)
    end = clean.get(end_item)
    start_d = start if isinstance(start, dt.date) else None
    end_d = end if isinstance(end, dt.date) else None
    rows = []
    for item in instrument.items:
        if item.cost_key is None:
            continue
        value = clean[item.code]
        if isinstance(value, Missing):
            continue
        rows.append(ResourceUseRow(item=item.cost_key, service=item.code, unit=item.unit or "",
                                   quantity=float(value), period_start=start_d, period_end=end_d))
    return rows
