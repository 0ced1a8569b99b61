"""Score validated responses: every scale is a value or missing with the reason; no data are invented.

Prorating and rounding follow the instrument's rule exactly, in rational arithmetic so no
floating-point error can move a half. ``half_up`` is ``floor(x + 1/2)`` (scores are non-negative),
the SDQ rule ``floor(0.5 + mean(present items) x 5)`` (sdqinfo.org scoring instructions, recorded in
/work/shared/reference/README.md section 1); Python's ``round()`` (halves to even) is never used.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from securebase.errors import NotFound
from securebase.instruments.model import Instrument, Scale
from securebase.instruments.validation import Missing, validate_responses
from securebase.instruments.value_sets import ValueSet, get_value_set


@dataclass(frozen=True)
class ScoreResult:
    """The score of one scale: ``value`` or None, the ``reason`` it is missing, and its band."""

    scale: str
    value: float | int | None
    reason: str | None = None
    band: str | None = None
    items_used: int = 0
    warnings: tuple[str, ...] = field(default=())

    @property
    def missing(self) -> bool:
        return self.value is None

    def summary(self) -> str:
        if self.value is None:
            return f"{self.scale}: missing ({self.reason})"
        band = f" [{self.band}]" if self.band else ""
        return f"{self.scale}: {self.value}{band}"

    def to_dict(self) -> dict[str, Any]:
        return {"scale": self.scale, "value": self.value, "reason": self.reason, "band": self.band,
                "items_used": self.items_used, "warnings": list(self.warnings)}


def round_half_up(x: Fraction) -> int:
    """floor(x + 1/2): halves go up (2.5 -> 3), unlike Python's round (2.5 -> 2)."""
    return math.floor(x + Fraction(1, 2))


def _num(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _band(scale: Scale, value: float | None) -> str | None:
    if value is None or not scale.bands:
        return None
    for band in scale.bands:
        if band.minimum <= value <= band.maximum:
            return band.label
    return None


def _missing_reason(codes: list[str], clean: Mapping[str, Any]) -> str:
    parts = [f"item {c} {clean[c]}" for c in codes if isinstance(clean[c], Missing)]
    return ", ".join(parts)


def _score_items(instrument: Instrument, scale: Scale, clean: Mapping[str, Any]) -> ScoreResult:
    present = [c for c in scale.items if not isinstance(clean[c], Missing)]
    n, k = len(present), len(scale.items)
    if scale.zero_when:
        # e.g. SDQ impact: 0 when the overall-difficulties answer is "no"; otherwise (also when that
        # answer is missing) the rule below applies to the items actually answered.
        for code, values in scale.zero_when.items():
            val = clean[code]
            if not isinstance(val, Missing) and val in values:
                return ScoreResult(scale.name, 0, band=_band(scale, 0), items_used=0)
    need = scale.min_items if scale.min_items is not None else (k if scale.rule == "sum" else 1)
    if n < need:
        return ScoreResult(scale.name, None, f"{n} of {k} items answered, rule '{scale.rule}' needs at "
                           f"least {need} ({_missing_reason(list(scale.items), clean)})", items_used=n)
    items = instrument.items_by_code()
    raw = [items[c].scored_value(clean[c]) for c in present]
    if all(v.is_integer() for v in raw):  # exact integer arithmetic, one Fraction at most
        total: Fraction | int = sum(int(v) for v in raw)
    else:
        total = sum((Fraction(v).limit_denominator(10**9) for v in raw), Fraction(0))
    if scale.rule == "sum":
        value = Fraction(total)
    elif scale.rule == "mean":
        value = Fraction(total) / n
    else:  # prorated_sum
        value = Fraction(total) * k / n
    if scale.rounding == "half_up":
        out: float = round_half_up(value)
    else:
        out = float(value)
    result = _num(out)
    return ScoreResult(scale.name, result, band=_band(scale, result), items_used=n)


def _score_value_set(instrument: Instrument, scale: Scale, clean: Mapping[str, Any],
                     value_set: ValueSet | None) -> ScoreResult:
    missing = [c for c in scale.items if isinstance(clean[c], Missing)]
    if missing:
        return ScoreResult(scale.name, None, "health state incomplete: " + _missing_reason(missing, clean),
                           items_used=len(scale.items) - len(missing))
    vs = value_set
    if vs is None:
        if instrument.value_set is None:
            return ScoreResult(scale.name, None, f"no value set chosen for {instrument.label}; load one "
                               "from a file and pass it as value_set", items_used=len(scale.items))
        try:
            vs = get_value_set(instrument.value_set)
        except NotFound as exc:
            return ScoreResult(scale.name, None, exc.message, items_used=len(scale.items))
    levels = [int(clean[c]) for c in scale.items]
    try:
        u = vs.utility(levels)
    except KeyError as exc:
        return ScoreResult(scale.name, None, str(exc).strip("'\""), items_used=len(levels))
    warn = (f"value set {vs.name} is made up (for testing only)",) if vs.made_up else ()
    return ScoreResult(scale.name, u, band=_band(scale, u), items_used=len(levels), warnings=warn)


_CMP = {"<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__}


def _score_one(instrument: Instrument, scale: Scale, clean: Mapping[str, Any],
               done: Mapping[str, ScoreResult], value_set: ValueSet | None) -> ScoreResult:
    rule = scale.rule
    if rule in ("sum", "mean", "prorated_sum"):
        return _score_items(instrument, scale, clean)
    if rule == "value_set":
        return _score_value_set(instrument, scale, clean, value_set)
    if rule == "derived_sum":
        parts = [done[s] for s in scale.scales]
        miss = [p.scale for p in parts if p.value is None]
        if miss:
            return ScoreResult(scale.name, None, "needs " + ", ".join(miss) + ", which "
                               + ("is" if len(miss) == 1 else "are") + " missing")
        total = sum(Fraction(p.value).limit_denominator(10**9) for p in parts if p.value is not None)
        v = _num(float(total))
        return ScoreResult(scale.name, v, band=_band(scale, v), items_used=sum(p.items_used for p in parts))
    if rule == "threshold":
        base = done[scale.scales[0]]
        if base.value is None:
            return ScoreResult(scale.name, None, f"needs {base.scale}, which is missing")
        assert scale.operator is not None and scale.cutoff is not None
        hit = _CMP[scale.operator](float(base.value), float(scale.cutoff))
        return ScoreResult(scale.name, int(hit), band=_band(scale, int(hit)), items_used=base.items_used)
    missing = [c for c in scale.items if isinstance(clean[c], Missing)]
    if missing:
        return ScoreResult(scale.name, None, _missing_reason(missing, clean),
                           items_used=len(scale.items) - len(missing))
    if rule == "item":
        v = _num(instrument.item(scale.items[0]).scored_value(clean[scale.items[0]]))
        return ScoreResult(scale.name, v, band=_band(scale, v), items_used=1)
    if rule == "indicator":
        hit = clean[scale.items[0]] in scale.values
        return ScoreResult(scale.name, int(hit), band=_band(scale, int(hit)), items_used=1)
    if rule == "ratio":
        num, den = float(clean[scale.items[0]]), float(clean[scale.items[1]])
        if den == 0:
            return ScoreResult(scale.name, None, f"item {scale.items[1]} is 0, so the ratio is undefined",
                               items_used=2)
        r = num / den
        return ScoreResult(scale.name, r, band=_band(scale, r), items_used=2)
    # date_diff
    days = (clean[scale.items[1]] - clean[scale.items[0]]).days
    return ScoreResult(scale.name, days, band=_band(scale, days), items_used=2)


def score(instrument: Instrument, responses: Mapping[str, Any], *, value_set: ValueSet | None = None,
          participant: str | None = None, visit: str | None = None) -> dict[str, ScoreResult]:
    """Validate ``responses`` (raising ResponseValidationError if any fails) and score every scale.

    Returns ``{scale name: ScoreResult}`` in the instrument's scale order. ``value_set`` overrides the
    instrument's named value set for utility scales.
    """
    clean = validate_responses(instrument, responses, participant=participant, visit=visit)
    return score_clean(instrument, clean, value_set=value_set)


def score_clean(instrument: Instrument, clean: Mapping[str, Any], *,
                value_set: ValueSet | None = None) -> dict[str, ScoreResult]:
    """Score responses already returned by :func:`validate_responses`."""
    done: dict[str, ScoreResult] = {}
    for scale in instrument.scales:
        done[scale.name] = _score_one(instrument, scale, clean, done, value_set)
    return done
