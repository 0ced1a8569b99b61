"""Named value sets (utility tariffs) for preference-based measures, swappable and loadable from files.

Two kinds are supported:

* ``additive``: ``u = intercept - sum_d decrement[d][level_d] - sum_t [any dimension >= level_t] x c_t``.
  The UK EQ-5D-3L TTO set (Dolan 1997) is ``1 - 0.081 [any > 1] - 0.269 [any = 3] - decrements``;
  the UK EQ-5D-5L set (Rowen et al. 2026) is purely additive with full health = 1.
* ``lookup``: a table of ``state -> utility`` (for example a published EQ-5D-Y-3L set or a crosswalk).

Built-in sets are in ``builtin/value_sets/*.yaml``; licensed sets (the CHU9D UK tariff) are loaded by
the trial team with :func:`load_value_set` and :func:`register_value_set`, never shipped.

File formats accepted by :func:`load_value_set`: the YAML form of :class:`ValueSet`, or a CSV with
either columns ``state,utility`` (lookup) or ``dimension,level,decrement`` (additive; a row with
dimension ``_intercept`` gives the full-health value, default 1, and rows with dimension
``_any_at_least`` give a constant decrement applied once when any dimension is at ``level`` or worse).
The CSV form needs ``name=`` and ``dimensions=`` to be given by the caller.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from securebase.errors import NotFound, ProtocolError


class AnyAtLeast(BaseModel):
    """A constant decrement applied once when any dimension is at ``level`` or worse."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    level: int
    decrement: float


class ValueSet(BaseModel):
    """A named utility tariff for a descriptive system of ``dimensions`` with ``levels`` levels each."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    instrument: str
    kind: Literal["additive", "lookup"]
    dimensions: tuple[str, ...]
    levels: int
    source: str = ""
    licence: str = ""
    made_up: bool = False
    intercept: float = 1.0
    decrements: dict[str, dict[int, float]] = {}
    any_at_least: tuple[AnyAtLeast, ...] = ()
    table: dict[str, float] = {}

    @model_validator(mode="after")
    def _check(self) -> ValueSet:
        if self.kind == "additive":
            for dim in self.dimensions:
                levels = self.decrements.get(dim, {})
                missing = [lv for lv in range(2, self.levels + 1) if lv not in levels]
                if missing:
                    raise ValueError(f"value set {self.name}: dimension {dim} has no decrement for "
                                     f"level(s) {missing}")
            extra = set(self.decrements) - set(self.dimensions)
            if extra:
                raise ValueError(f"value set {self.name}: decrements for unknown dimensions {sorted(extra)}")
        else:
            if not self.table:
                raise ValueError(f"value set {self.name}: a lookup value set needs a 'table'")
            for state in self.table:
                if len(state) != len(self.dimensions) or not all(
                        c.isdigit() and 1 <= int(c) <= self.levels for c in state):
                    raise ValueError(f"value set {self.name}: state {state!r} is not a valid health state")
        return self

    def utility(self, levels: Sequence[int]) -> float:
        """Utility of the health state whose dimension levels are ``levels`` (in ``dimensions`` order)."""
        if len(levels) != len(self.dimensions):
            raise ValueError(f"value set {self.name} needs {len(self.dimensions)} levels, got {len(levels)}")
        for lv in levels:
            if not 1 <= int(lv) <= self.levels:
                raise ValueError(f"level {lv} outside 1..{self.levels} in value set {self.name}")
        if self.kind == "lookup":
            state = "".join(str(int(v)) for v in levels)
            if state not in self.table:
                raise KeyError(f"value set {self.name} has no utility for state {state}")
            return self.table[state]
        u = self.intercept
        worst = max(int(v) for v in levels)
        for term in self.any_at_least:
            if worst >= term.level:
                u -= term.decrement
        for dim, lv in zip(self.dimensions, levels, strict=True):
            if int(lv) > 1:
                u -= self.decrements[dim][int(lv)]
        return u

    def bounds(self) -> tuple[float, float]:
        """Smallest and largest utility over all health states."""
        if self.kind == "lookup":
            vals = list(self.table.values())
            return min(vals), max(vals)
        if self.levels ** len(self.dimensions) <= 200_000:
            import itertools

            vals = [self.utility(s) for s in itertools.product(range(1, self.levels + 1),
                                                              repeat=len(self.dimensions))]
            return min(vals), max(vals)
        return self.utility([self.levels] * len(self.dimensions)), self.utility([1] * len(self.dimensions))


_REGISTERED: dict[str, ValueSet] = {}


def register_value_set(value_set: ValueSet) -> None:
    """Make a value set (for example a licensed tariff the trial team loaded) available by name."""
    _REGISTERED[value_set.name] = value_set


def unregister_value_set(name: str) -> None:
    _REGISTERED.pop(name, None)


_BUILTIN: dict[str, ValueSet] = {}


def builtin_value_sets() -> dict[str, ValueSet]:
    """The value sets shipped in ``builtin/value_sets`` (read once)."""
    if _BUILTIN:
        return dict(_BUILTIN)
    out: dict[str, ValueSet] = {}
    folder = resources.files("securebase.instruments") / "builtin" / "value_sets"
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".yaml"):
            vs = _parse_yaml(entry.read_text(encoding="utf-8"), entry.name)
            out[vs.name] = vs
    _BUILTIN.update(out)
    return dict(out)


def get_value_set(name: str) -> ValueSet:
    """A registered or built-in value set by name; raises NotFound naming the ones available."""
    if name in _REGISTERED:
        return _REGISTERED[name]
    builtins = builtin_value_sets()
    if name in builtins:
        return builtins[name]
    known = sorted(set(builtins) | set(_REGISTERED))
    raise NotFound(f"value set {name!r} is not loaded (available: {', '.join(known)}); load it with "
                   "load_value_set(path) and register_value_set(), or `--value-set FILE` on the command line")


def list_value_sets() -> list[str]:
    return sorted(set(builtin_value_sets()) | set(_REGISTERED))


def _parse_yaml(text: str, origin: str) -> ValueSet:
    try:
        data = yaml.safe_load(text)
        return ValueSet.model_validate(data)
    except (yaml.YAMLError, ValidationError) as exc:
        raise ProtocolError(f"not a valid value set: {exc}", file=origin) from exc


def load_value_set(path: str | Path, *, name: str | None = None, instrument: str | None = None,
                   dimensions: Sequence[str] | None = None, levels: int | None = None,
                   source: str = "", made_up: bool = False) -> ValueSet:
    """Read a value set from a YAML file, or from a CSV in one of the two forms described above."""
    p = Path(path)
    if not p.exists():
        raise NotFound(f"value-set file {str(p)!r} does not exist; give the path of a .yaml or .csv file")
    if p.suffix.lower() in (".yaml", ".yml"):
        return _parse_yaml(p.read_text(encoding="utf-8"), str(p))
    if name is None or instrument is None or dimensions is None or levels is None:
        raise ProtocolError("a CSV value set needs name, instrument, dimensions and levels", file=str(p))
    with p.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    cols = set(rows[0]) if rows else set()
    try:
        if {"state", "utility"} <= cols:
            table = {r["state"].strip(): float(r["utility"]) for r in rows}
            return ValueSet(name=name, instrument=instrument, kind="lookup", dimensions=tuple(dimensions),
                            levels=levels, table=table, source=source, made_up=made_up)
        if {"dimension", "level", "decrement"} <= cols:
            intercept = 1.0
            dec: dict[str, dict[int, float]] = {}
            anys: list[AnyAtLeast] = []
            for line, r in enumerate(rows, start=2):
                dim = r["dimension"].strip()
                value = float(r["decrement"])
                if not math.isfinite(value):
                    raise ProtocolError(f"decrement must be a finite number (got {r['decrement']!r})",
                                        file=str(p), line=line, field="decrement")
                if dim == "_intercept":
                    intercept = value
                elif dim == "_any_at_least":
                    anys.append(AnyAtLeast(level=int(r["level"]), decrement=value))
                else:
                    dec.setdefault(dim, {})[int(r["level"])] = value
            return ValueSet(name=name, instrument=instrument, kind="additive", dimensions=tuple(dimensions),
                            levels=levels, intercept=intercept, decrements=dec, any_at_least=tuple(anys),
                            source=source, made_up=made_up)
    except (ValueError, ValidationError) as exc:
        if isinstance(exc, ProtocolError):
            raise
        raise ProtocolError(f"not a valid value set: {exc}", file=str(p)) from exc
    raise ProtocolError("a value-set CSV needs columns state,utility or dimension,level,decrement "
                        f"(got {sorted(cols)})", file=str(p))
