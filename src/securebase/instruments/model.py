"""Instrument definitions as data: items, missing-value codes, scales, bands and value sets.

An :class:`Instrument` is loaded from a versioned YAML file (see ``builtin/``) and is immutable.
It holds scoring rules and item codes only; item wording, for a licensed measure, may be attached by a
trial team (:meth:`Instrument.with_wording`) and is never part of a shipped definition.
"""

from __future__ import annotations

import datetime as _dt
import warnings
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ResponseType = Literal["ordinal", "integer", "decimal", "category", "date", "free_text"]
Respondent = Literal["carer", "child", "teacher", "blinded_coder", "administrative_record"]
Rule = Literal[
    "sum", "mean", "prorated_sum", "derived_sum", "value_set", "ratio", "indicator", "threshold",
    "date_diff", "item",
]
Rounding = Literal["half_up", "none"]
Scalar = int | float | str


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Item(_Frozen):
    """One question or recorded field.

    ``allowed`` lists the permitted codes of an ordinal or category item; ``minimum``/``maximum``
    bound an integer, decimal or date item. ``score_map`` recodes a raw answer before scoring (for
    example SDQ impact answers 0, 1, 2, 3 score 0, 0, 1, 2); ``reverse`` scores ``min + max - x``.
    """

    code: str
    label: str = ""
    response_type: ResponseType
    allowed: tuple[Scalar, ...] | None = None
    value_labels: dict[str, str] | None = None
    minimum: float | _dt.date | None = None
    maximum: float | _dt.date | None = None
    reverse: bool = False
    score_map: dict[str, float] | None = None
    unit: str | None = None
    cost_key: str | None = None
    wording: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Item:
        if self.response_type in ("ordinal", "category"):
            if not self.allowed:
                raise ValueError(f"item {self.code}: an {self.response_type} item needs 'allowed' values")
            if len(set(self.allowed)) != len(self.allowed):
                raise ValueError(f"item {self.code}: 'allowed' values repeat")
        if self.response_type == "ordinal" and self.allowed is not None:
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in self.allowed):
                raise ValueError(f"item {self.code}: ordinal codes must be integers")
        if self.reverse and self.response_type not in ("ordinal", "integer"):
            raise ValueError(f"item {self.code}: only ordinal or integer items can be reverse-scored")
        if self.minimum is not None and self.maximum is not None:
            if isinstance(self.minimum, _dt.date) != isinstance(self.maximum, _dt.date):
                raise ValueError(f"item {self.code}: minimum and maximum must both be numbers or both dates")
            if self.minimum > self.maximum:  # type: ignore[operator]
                raise ValueError(f"item {self.code}: minimum is above maximum")
        if self.response_type == "date" and any(
                b is not None and not isinstance(b, _dt.date) for b in (self.minimum, self.maximum)):
            raise ValueError(f"item {self.code}: the bounds of a date item must be dates (YYYY-MM-DD)")
        if self.score_map is not None and self.allowed is not None:
            unmapped = [v for v in self.allowed if str(v) not in self.score_map]
            if unmapped:
                raise ValueError(f"item {self.code}: score_map has no score for {unmapped}")
        if self.reverse:
            self.score_bounds()  # a reversed item needs a bounded range
        return self

    @property
    def numeric(self) -> bool:
        return self.response_type in ("ordinal", "integer", "decimal")

    def scored_value(self, value: Any) -> float:
        """The value used in scoring: recoded by ``score_map`` and reversed when flagged."""
        if self.score_map is not None:
            return float(self.score_map[str(value)])
        if self.reverse:
            lo, hi = self.score_bounds()
            return lo + hi - float(value)
        return float(value)

    def score_bounds(self) -> tuple[float, float]:
        """Smallest and largest scored value of a numeric item."""
        if self.score_map is not None:
            vals = list(self.score_map.values())
            return float(min(vals)), float(max(vals))
        if self.allowed is not None and self.response_type == "ordinal":
            nums = [float(v) for v in self.allowed]
            return min(nums), max(nums)
        if isinstance(self.minimum, (int, float)) and isinstance(self.maximum, (int, float)):
            return float(self.minimum), float(self.maximum)
        raise ValueError(f"item {self.code} has no bounded numeric range")


class MissingCodes(_Frozen):
    """Codes recorded instead of an answer; each means something different and must be distinct."""

    not_answered: Scalar = -99
    not_applicable: Scalar = -98
    refused: Scalar = -97

    @model_validator(mode="after")
    def _distinct(self) -> MissingCodes:
        vals = [str(self.not_answered), str(self.not_applicable), str(self.refused)]
        if len(set(vals)) != 3:
            raise ValueError(f"missing-value codes must differ from each other (got {vals})")
        return self

    def reason_for(self, value: Any) -> str | None:
        """The missing reason a raw value stands for, or None when it is not a missing code."""
        return self.lookup().get(_canonical(value))

    def lookup(self) -> dict[str, str]:
        """``{canonical code text: reason}`` for fast matching of raw values."""
        return {_canonical(self.not_answered): "not_answered", _canonical(self.not_applicable): "not_applicable",
                _canonical(self.refused): "refused"}


def _canonical(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    try:
        f = float(text)
    except ValueError:
        return text
    return str(int(f)) if f.is_integer() else text


class Band(_Frozen):
    """A labelled interval ``minimum <= score <= maximum`` (both inclusive)."""

    label: str
    minimum: float
    maximum: float


class Scale(_Frozen):
    """A score computed from items (or from other scales) by a named rule.

    Rules: ``sum`` (all items needed unless ``min_items``), ``mean`` (mean of present items, at least
    ``min_items``), ``prorated_sum`` (``mean(present) x n_items`` rounded by ``rounding``, at least
    ``min_items``), ``derived_sum`` (sum of ``scales``, missing if any is), ``value_set`` (utility of
    the state formed by ``items`` under a value set), ``ratio`` (``items[0] / items[1]``),
    ``indicator`` (1 when ``items[0]`` is one of ``values``, else 0), ``threshold`` (1 when scale
    ``scales[0]`` compares to ``cutoff`` by ``operator``, else 0), ``date_diff`` (days from
    ``items[0]`` to ``items[1]``) and ``item`` (the scored value of one item).
    ``zero_when`` sets the score to 0 when an item takes one of the given values (SDQ impact); when
    that item is missing, the rule is applied to the items as usual.
    """

    name: str
    label: str = ""
    rule: Rule
    items: tuple[str, ...] = ()
    scales: tuple[str, ...] = ()
    min_items: int | None = None
    rounding: Rounding = "none"
    values: tuple[Scalar, ...] = ()
    operator: Literal["<", "<=", ">", ">="] | None = None
    cutoff: float | None = None
    zero_when: dict[str, tuple[Scalar, ...]] | None = None
    minimum: float | None = None
    maximum: float | None = None
    bands: tuple[Band, ...] = ()
    bands_source: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Scale:
        need_items = {"sum", "mean", "prorated_sum", "value_set", "ratio", "indicator", "date_diff", "item"}
        if self.rule in need_items and not self.items:
            raise ValueError(f"scale {self.name}: rule '{self.rule}' needs 'items'")
        if self.rule in ("derived_sum", "threshold") and not self.scales:
            raise ValueError(f"scale {self.name}: rule '{self.rule}' needs 'scales'")
        if self.rule in ("ratio", "date_diff") and len(self.items) != 2:
            raise ValueError(f"scale {self.name}: rule '{self.rule}' needs exactly two items")
        if self.rule == "threshold" and (self.operator is None or self.cutoff is None):
            raise ValueError(f"scale {self.name}: rule 'threshold' needs 'operator' and 'cutoff'")
        if self.min_items is not None and not 1 <= self.min_items <= max(len(self.items), 1):
            raise ValueError(f"scale {self.name}: min_items must be between 1 and the number of items")
        return self


class Constraint(_Frozen):
    """A cross-item check, for example sessions attended <= sessions possible, end date >= start."""

    left: str
    operator: Literal["<", "<=", ">", ">="]
    right: str


# id(instrument) -> (instrument, index); the instrument is kept so a reused id is detected.
_ITEM_INDEX: dict[int, tuple[Any, dict[str, Item]]] = {}

with warnings.catch_warnings():
    # "construct" is the field's domain name; it shadows pydantic's deprecated BaseModel.construct.
    warnings.filterwarnings("ignore", message='Field name "construct"', category=UserWarning)

    class Instrument(_Frozen):
        """A versioned, declarative instrument definition (scoring and item codes only)."""

        name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
        version: str
        title: str
        label: str
        construct: str  # type: ignore[assignment]  # the domain word; shadows BaseModel.construct
        respondent: Respondent
        age_min: float | None = None
        age_max: float | None = None
        #: whose age ``age_min``/``age_max`` bound: the child's (default) or the respondent's own (a carer's
        #: EQ-5D-5L about their own health is for adults, whatever the child's age)
        age_applies_to: Literal["child", "respondent"] = "child"
        licence: str = ""
        source: str = ""
        notes: str = ""
        items: tuple[Item, ...]
        missing_codes: MissingCodes = MissingCodes()
        constraints: tuple[Constraint, ...] = ()
        scales: tuple[Scale, ...] = ()
        value_set: str | None = None

        @model_validator(mode="after")
        def _check(self) -> Instrument:
            codes = [it.code for it in self.items]
            if len(set(codes)) != len(codes):
                raise ValueError(f"instrument {self.name}: item codes repeat")
            names = [s.name for s in self.scales]
            if len(set(names)) != len(names):
                raise ValueError(f"instrument {self.name}: scale names repeat")
            known = set(codes)
            seen: set[str] = set()
            for scale in self.scales:
                for code in scale.items + tuple(scale.zero_when or {}):
                    if code not in known:
                        raise ValueError(f"instrument {self.name}: scale {scale.name} uses unknown item {code}")
                for other in scale.scales:
                    if other not in seen:
                        raise ValueError(f"instrument {self.name}: scale {scale.name} uses scale {other} "
                                         "that is not defined before it")
                seen.add(scale.name)
            for con in self.constraints:
                for code in (con.left, con.right):
                    if code not in known:
                        raise ValueError(f"instrument {self.name}: constraint uses unknown item {code}")
            self._check_rule_item_types()
            self._check_missing_codes()
            return self

        def _check_rule_item_types(self) -> None:
            by_code = {it.code: it for it in self.items}
            for scale in self.scales:
                for code in scale.items:
                    it = by_code[code]
                    numeric_ok = it.numeric or it.score_map is not None
                    if scale.rule in ("sum", "mean", "prorated_sum", "item", "ratio") and not numeric_ok:
                        raise ValueError(f"instrument {self.name}: scale {scale.name} ({scale.rule}) needs numeric "
                                         f"items, but item {code} is {it.response_type}")
                    if scale.rule in ("sum", "mean", "prorated_sum", "item"):
                        try:
                            it.score_bounds()
                        except ValueError as exc:
                            raise ValueError(f"instrument {self.name}: scale {scale.name} needs bounded items; "
                                             f"{exc}") from exc
                    if scale.rule == "date_diff" and it.response_type != "date":
                        raise ValueError(f"instrument {self.name}: scale {scale.name} (date_diff) needs date "
                                         f"items, but item {code} is {it.response_type}")
                    if scale.rule == "value_set" and (it.response_type != "ordinal" or not it.allowed
                                                      or min(int(v) for v in it.allowed) < 1):
                        raise ValueError(f"instrument {self.name}: scale {scale.name} (value_set) needs ordinal "
                                         f"items coded 1, 2, ...; item {code} is not")

        def _check_missing_codes(self) -> None:
            codes = self.missing_codes
            for item in self.items:
                for reason in ("not_answered", "not_applicable", "refused"):
                    code = getattr(codes, reason)
                    if item.allowed is not None and _canonical(code) in {_canonical(v) for v in item.allowed}:
                        raise ValueError(f"instrument {self.name}: missing code {code!r} ({reason}) is also an "
                                         f"allowed answer of item {item.code}")
                    if (item.numeric and isinstance(code, (int, float))
                            and isinstance(item.minimum, (int, float)) and isinstance(item.maximum, (int, float))
                            and item.minimum <= code <= item.maximum):
                        raise ValueError(f"instrument {self.name}: missing code {code!r} ({reason}) lies inside "
                                         f"the range of item {item.code}")

        def item(self, code: str) -> Item:
            return self.items_by_code()[code]

        def items_by_code(self) -> dict[str, Item]:
            """``{code: Item}``, built once per instrument (the model is immutable)."""
            cached = _ITEM_INDEX.get(id(self))
            if cached is None or cached[0] is not self:
                if len(_ITEM_INDEX) > 1000:  # keep the cache small; it is rebuilt on demand
                    _ITEM_INDEX.clear()
                cached = (self, {it.code: it for it in self.items})
                _ITEM_INDEX[id(self)] = cached
            return cached[1]

        def scale(self, name: str) -> Scale:
            for sc in self.scales:
                if sc.name == name:
                    return sc
            raise KeyError(name)

        @property
        def key(self) -> str:
            return f"{self.name}@{self.version}"

        def with_wording(self, wording: dict[str, str]) -> Instrument:
            """A copy carrying item wording supplied by a trial team under its own licence."""
            unknown = set(wording) - {it.code for it in self.items}
            if unknown:
                raise KeyError(f"no such items: {sorted(unknown)}")
            items = tuple(it.model_copy(update={"wording": wording.get(it.code, it.wording)}) for it in self.items)
            return self.model_copy(update={"items": items})

        def without_wording(self) -> Instrument:
            """A copy with every item's wording removed (what may be shipped or exported)."""
            items = tuple(it.model_copy(update={"wording": None}) for it in self.items)
            return self.model_copy(update={"items": items})

        def to_dict(self) -> dict[str, Any]:
            return self.model_dump(mode="json", exclude_defaults=True)
