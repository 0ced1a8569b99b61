"""Unit-cost tables: each cost with its source and price year, inflated to one price year.

NICE reference case (NICE PMG36, 2022, sec. 4.4): unit costs come from national sources such as the PSSRU
*Unit Costs of Health and Social Care* and the NHS *National Cost Collection*, each stored with its
source and price year and inflated to a common price year with an index the analyst supplies
(for example the PSSRU NHS Cost Inflation Index). Inflation:
``amount_in_target_year = amount * index[target_year] / index[price_year]``.

A table is loaded from YAML (see ``analysis/economics/builtin/unit_costs_example.yaml``)::

    currency: GBP
    price_index: {name: ..., source: ..., values: {"2013/14": 100.0, "2016/17": 104.2, ...}}
    items:
      - {key: foster_care_week, description: ..., unit: week, amount: 646, currency: GBP,
         source: "PSSRU Unit Costs of Health and Social Care 2017", source_year: 2017,
         price_year: "2016/17", category: childrens_social_care}

or from a CSV file with one row per item and the columns ``item, unit, cost, price_year, category, source``
(optional ``description, source_year, illustrative, note``) plus a price index, given as a YAML/CSV file
(``price_year,index``) or as a built-in table whose index is reused (:func:`load_unit_costs_csv`).
A row without a price year, cost or payer (``category``) is refused, naming the file, row and column.
"""

from __future__ import annotations

import csv
import re
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from securebase.errors import DataError, ProtocolError

PRICE_YEAR_RE = re.compile(r"^\d{4}/\d{2}$")


class CostCategory(StrEnum):
    """The payer: who bears a cost. Each cost item declares its payer once; perspectives are unions of payers.

    ``childrens_social_care`` is local-authority children's social care (social work, foster and residential
    placements, family support, adoption support). In England that is part of personal social services, so
    the NICE "NHS and PSS" perspective includes it; it stays a separate payer so it can be reported apart.
    ``family`` is families' own (out-of-pocket) costs, counted only in the societal perspective.
    """

    nhs = "nhs"
    pss = "pss"
    childrens_social_care = "childrens_social_care"
    education = "education"
    family = "family"


PAYERS = ", ".join(c.value for c in CostCategory)


def check_price_year(v: str) -> str:
    if not PRICE_YEAR_RE.match(v) or int(v[5:7]) != (int(v[:4]) + 1) % 100:
        raise ValueError(f"a financial year like '2016/17' (got {v!r})")
    return v


class UnitCost(BaseModel):
    """One unit cost: ``amount`` ``currency`` per ``unit`` at ``price_year`` prices, with its source."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="item key used in resource-use data")
    description: str
    unit: str
    amount: float = Field(ge=0)
    currency: str = "GBP"
    source: str = Field(description="publication, e.g. 'PSSRU Unit Costs of Health and Social Care 2017'")
    source_year: int
    price_year: str
    category: CostCategory = Field(description="the payer, declared once per item: " + PAYERS)
    illustrative: bool = Field(False, description="true for example values not taken from the source")
    note: str = ""

    @field_validator("price_year")
    @classmethod
    def _price_year(cls, v: str) -> str:
        return check_price_year(v)


class PriceIndex(BaseModel):
    """A price index supplied by the user: financial year -> index value."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    source: str = ""
    illustrative: bool = False
    values: dict[str, float]

    @field_validator("values")
    @classmethod
    def _years(cls, v: dict[str, float]) -> dict[str, float]:
        for year, val in v.items():
            check_price_year(year)
            if not val > 0:
                raise ValueError(f"index values must be positive (got {val!r} for {year})")
        return v


class UnitCostTable(BaseModel):
    """A set of unit costs with one currency and the price index used to inflate them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    currency: str = "GBP"
    price_index: PriceIndex
    items: tuple[UnitCost, ...]

    @model_validator(mode="after")
    def _unique(self) -> UnitCostTable:
        seen: set[str] = set()
        for it in self.items:
            if it.key in seen:
                raise ValueError(f"unit-cost item key '{it.key}' appears twice; keys must be unique")
            if it.currency != self.currency:
                raise ValueError(f"unit-cost item '{it.key}' is in {it.currency}, the table in {self.currency}")
            seen.add(it.key)
        return self

    def get(self, key: str) -> UnitCost:
        for it in self.items:
            if it.key == key:
                return it
        raise DataError(f"resource item '{key}' has no unit cost in the unit-cost table (known items: "
                        f"{', '.join(sorted(self.keys()))}); add it to the table or correct the item key")

    def keys(self) -> list[str]:
        return [it.key for it in self.items]

    def inflation_factor(self, from_year: str, to_year: str, item: str = "") -> float:
        """``index[to_year] / index[from_year]``; names the item when a year has no index value."""
        idx = self.price_index.values
        for year in (from_year, to_year):
            if year not in idx:
                who = f"unit cost '{item}' (price year {from_year})" if item else f"price year {year}"
                raise DataError(f"{who}: the price index '{self.price_index.name}' has no value for {year} "
                                f"(it covers {', '.join(sorted(idx))}); add the index value for {year}")
        return idx[to_year] / idx[from_year]

    def amount(self, key: str, price_year: str) -> float:
        """The unit cost of ``key`` inflated to ``price_year``."""
        it = self.get(key)
        return it.amount * self.inflation_factor(it.price_year, price_year, item=key)

    def inflated(self, price_year: str) -> dict[str, float]:
        return {it.key: self.amount(it.key, price_year) for it in self.items}


def parse_unit_costs(data: dict[str, Any], file: str = "<unit costs>") -> UnitCostTable:
    for i, it in enumerate(data.get("items") or ()):
        if isinstance(it, dict) and it.get("category") in (None, ""):
            raise ProtocolError(f"cost item {it.get('key', f'number {i + 1}')!r} declares no payer; add "
                                f"'category: <payer>' with one of {PAYERS}", file=file, field=f"items.{i}.category")
    try:
        return UnitCostTable.model_validate(data)
    except ValidationError as err:
        e = err.errors()[0]
        loc = ".".join(str(p) for p in e["loc"])
        raise ProtocolError(f"{e['msg']} (got {e.get('input')!r})", file=file, field=loc) from None


CSV_REQUIRED = ("item", "unit", "cost", "price_year", "category", "source")


def load_price_index(path: str | Path) -> dict[str, Any]:
    """A price index from YAML (``name, source, values``, or a unit-cost YAML's ``price_index``) or CSV
    (``price_year,index`` rows; optional ``name``/``source`` columns repeated on every row)."""
    p = Path(path)
    if p.suffix.lower() == ".csv":
        try:
            rows = list(csv.DictReader(p.read_text(encoding="utf-8").splitlines()))
        except OSError as err:
            raise ProtocolError(f"cannot read the price index: {err}", file=str(p)) from None
        for col in ("price_year", "index"):
            if rows and col not in rows[0]:
                raise ProtocolError(f"price-index CSV lacks column '{col}'; expected columns price_year,index",
                                    file=str(p), field=col)
        values = {}
        for i, r in enumerate(rows, start=2):
            try:
                values[r["price_year"].strip()] = float(r["index"])
            except ValueError:
                raise ProtocolError(f"index must be a number (got {r['index']!r}) on line {i}", file=str(p),
                                    line=i, field="index") from None
        first = rows[0] if rows else {}
        return {"name": first.get("name") or p.stem, "source": first.get("source") or str(p), "values": values}
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise ProtocolError(f"cannot read the price index: {err}", file=str(p)) from None
    if isinstance(data, dict) and "price_index" in data:
        data = data["price_index"]
    if not isinstance(data, dict):
        raise ProtocolError("a price index must be a mapping with name and values", file=str(p))
    return data


def load_unit_costs_csv(path: str | Path, price_index: str | Path | dict[str, Any],
                        currency: str = "GBP") -> UnitCostTable:
    """Read unit costs from CSV (``item, unit, cost, price_year, category, source``) with a declared index.

    Every check names the file, the CSV line, the item and the column: a missing price year, cost or payer
    is refused rather than guessed.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as err:
        raise ProtocolError(f"cannot read the unit-cost CSV: {err}", file=str(p)) from None
    reader = csv.DictReader(text.splitlines())
    cols = reader.fieldnames or []
    missing = [c for c in CSV_REQUIRED if c not in cols]
    if missing:
        raise ProtocolError(f"the unit-cost CSV lacks column(s) {missing}; expected columns "
                            f"{', '.join(CSV_REQUIRED)} (optional: description, source_year, illustrative, note)",
                            file=str(p), field=missing[0])
    items = []
    for line, r in enumerate(reader, start=2):
        key = (r.get("item") or "").strip()
        for col, what in (("item", "the item key used in resource-use data"),
                          ("price_year", "the financial year of the cost, like 2021/22"),
                          ("cost", "the unit cost in " + currency),
                          ("category", f"the payer, one of {PAYERS}")):
            if not (r.get(col) or "").strip():
                raise ProtocolError(f"item {key or '?'!r} has no {col}; give {what}", file=str(p), line=line,
                                    field=col)
        try:
            amount = float(r["cost"])
        except ValueError:
            raise ProtocolError(f"cost of item {key!r} must be a number (got {r['cost']!r})", file=str(p), line=line,
                                field="cost") from None
        py = r["price_year"].strip()
        sy = (r.get("source_year") or "").strip()
        items.append({"key": key, "description": (r.get("description") or "").strip() or key,
                      "unit": r["unit"].strip(), "amount": amount, "currency": currency,
                      "source": r["source"].strip(), "source_year": int(sy) if sy else int(py[:4]) + 1,
                      "price_year": py, "category": r["category"].strip(),
                      "illustrative": (r.get("illustrative") or "").strip().lower() in ("1", "true", "yes"),
                      "note": (r.get("note") or "").strip()})
        try:
            UnitCost.model_validate(items[-1])
        except ValidationError as err:
            e = err.errors()[0]
            col = {"key": "item", "amount": "cost"}.get(str(e["loc"][0]), str(e["loc"][0]))
            raise ProtocolError(f"item {key!r}: {e['msg']} (got {e.get('input')!r})", file=str(p), line=line,
                                field=col) from None
    index = price_index if isinstance(price_index, dict) else load_price_index(price_index)
    return parse_unit_costs({"currency": currency, "price_index": index, "items": items}, file=str(p))


def load_unit_costs(path: str | Path, price_index: str | Path | dict[str, Any] | None = None) -> UnitCostTable:
    """Read a unit-cost table from YAML, or from CSV with ``price_index``; errors name the file and the field."""
    p = Path(path)
    if p.suffix.lower() == ".csv":
        if price_index is None:
            raise ProtocolError("a unit-cost CSV needs a declared price index (a YAML or CSV file of price_year, "
                                "index); give it with --price-index or the plan's price_index", file=str(p),
                                field="price_index")
        return load_unit_costs_csv(p, price_index)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise ProtocolError(f"cannot read the unit-cost table: {err}", file=str(p)) from None
    if not isinstance(data, dict):
        raise ProtocolError("a unit-cost table must be a YAML mapping", file=str(p))
    return parse_unit_costs(data, file=str(p))
