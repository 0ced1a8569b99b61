"""Instrument age ranges, enforced wherever an instrument meets a child (scheduling, forms, scoring).

An instrument's ``age_min``/``age_max`` are whole years of age: a child aged 17 years and 11 months is 17
and inside ``age_max: 17``; a child of 7.9 years is outside ``age_min: 8`` (Kerns security scale from 8;
SDQ self-report from 11).
"""

from __future__ import annotations

import math

from securebase.instruments.model import Instrument


def completed_years(age: float) -> int:
    return math.floor(age + 1e-9)


def age_allows(inst: Instrument, age: float) -> bool:
    """Whether a child aged ``age`` (years) may be assessed with ``inst`` (always, when the range is the
    respondent's own, as for a carer's EQ-5D-5L)."""
    if inst.age_applies_to == "respondent":
        return True
    years = completed_years(age)
    if inst.age_min is not None and years < inst.age_min:
        return False
    return not (inst.age_max is not None and years > inst.age_max)


def age_range_text(inst: Instrument) -> str:
    lo = "" if inst.age_min is None else f"{inst.age_min:g}"
    hi = "" if inst.age_max is None else f"{inst.age_max:g}"
    if lo and hi:
        return f"ages {lo} to {hi}"
    return f"ages {lo} and over" if lo else (f"ages up to {hi}" if hi else "all ages")
