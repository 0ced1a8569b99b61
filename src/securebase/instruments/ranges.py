"""The range each scale can take, derived from its items and rule (used by forms and range checks)."""

from __future__ import annotations

from securebase.instruments.model import Instrument, Scale
from securebase.instruments.value_sets import ValueSet, get_value_set

Bounds = tuple[float | None, float | None]


def _add(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a + b


def scale_bounds(instrument: Instrument, scale: Scale, value_set: ValueSet | None = None) -> Bounds:
    """Smallest and largest value ``scale`` can take (None where unbounded or unknown).

    sum: sum of item bounds; mean: min and max of item bounds; prorated sum: n_items x the item
    bounds; derived sum: sum of the component scales' bounds; value set: the value set's worst and
    best state; indicator and threshold: 0 and 1; otherwise the bounds declared on the scale.
    """
    lo: float | None
    hi: float | None
    if scale.rule in ("sum", "mean", "prorated_sum", "item"):
        b = [instrument.item(c).score_bounds() for c in scale.items]
        if scale.rule == "sum":
            lo, hi = sum(x[0] for x in b), sum(x[1] for x in b)
        elif scale.rule == "prorated_sum":
            lo, hi = len(b) * min(x[0] for x in b), len(b) * max(x[1] for x in b)
        else:
            lo, hi = min(x[0] for x in b), max(x[1] for x in b)
    elif scale.rule == "derived_sum":
        lo, hi = 0.0, 0.0
        for name in scale.scales:
            sub = scale_bounds(instrument, instrument.scale(name), value_set)
            lo, hi = _add(lo, sub[0]), _add(hi, sub[1])
    elif scale.rule == "value_set":
        vs = value_set
        if vs is None and instrument.value_set is not None:
            vs = get_value_set(instrument.value_set)
        if vs is None:
            return (scale.minimum, scale.maximum)
        lo, hi = vs.bounds()
    elif scale.rule in ("indicator", "threshold"):
        lo, hi = 0.0, 1.0
    else:
        return (scale.minimum, scale.maximum)
    if scale.zero_when and lo is not None:
        lo = min(lo, 0.0)
    return lo, hi
