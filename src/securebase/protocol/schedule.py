"""Visit windows from the randomisation date, and the SPIRIT-style schedule table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from securebase.protocol.models import Protocol

DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class VisitWindow:
    visit_id: str
    label: str
    due: date
    opens: date
    closes: date


def visit_windows(protocol: Protocol, randomised_on: date) -> list[VisitWindow]:
    """Due date and window of every visit, timed from randomisation (a month is 365.25/12 days)."""
    out = []
    for v in protocol.visits:
        due = randomised_on + timedelta(days=round(v.month * DAYS_PER_MONTH))
        out.append(VisitWindow(v.id, v.label, due, due - timedelta(days=v.window_before_days),
                               due + timedelta(days=v.window_after_days)))
    return out


def schedule_table(protocol: Protocol) -> list[list[str]]:
    """Rows: instrument (respondent); columns: visits; cells 'X' (or '(X)' when optional)."""
    header = ["instrument", "respondent"] + [f"{v.label} (-{v.window_before_days}/+{v.window_after_days}d)" for v in protocol.visits]
    keys: list[tuple[str, str]] = []
    for a in protocol.assessments:
        key = (a.instrument, a.respondent.value)
        if key not in keys:
            keys.append(key)
    rows = [header]
    for inst, resp in keys:
        row = [inst, resp]
        for v in protocol.visits:
            mark = ""
            for a in protocol.assessments:
                if a.visit == v.id and a.instrument == inst and a.respondent.value == resp:
                    mark = "(X)" if a.optional else "X"
            row.append(mark)
        rows.append(row)
    return rows
