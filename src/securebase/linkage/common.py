"""Shared pieces of the routine-record readers: dates, UPN check letters, rule errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

#: DfE unique pupil number check letters (0..22), from the DfE "Unique pupil numbers (UPNs)" guidance.
UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"
#: The DfE codes that stand in for an unknown UPN in the SSDA903 return.
UPN_UNKNOWN = ("UN1", "UN2", "UN3", "UN4", "UN5", "UN6", "UN7", "UN8", "UN9", "UN10")


def upn_check_letter(body: str) -> str:
    """The check letter of a UPN whose last 12 characters are ``body`` (weights 2..13, modulus 23)."""
    values = [int(c) if c.isdigit() else UPN_LETTERS.index(c) for c in body.upper()]
    return UPN_LETTERS[sum(v * w for v, w in zip(values, range(2, 14), strict=True)) % 23]


def upn_valid(upn: str) -> bool:
    u = (upn or "").strip().upper()
    if len(u) != 13 or u[0] not in UPN_LETTERS or not u[1:12].isdigit():
        return False
    if not (u[12].isdigit() or u[12] in UPN_LETTERS):
        return False
    return upn_check_letter(u[1:]) == u[0]


def parse_dmy(value: Any) -> date | None:
    """A DfE dd/mm/yyyy date (SSDA903 CSV) or an ISO date (CIN XML, school CSV); None when blank or invalid."""
    if value is None:
        return None
    s = str(value).strip()
    if not s or s.lower() == "nan":
        return None
    for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(s, fmt).date()
        except ValueError:
            continue
    return None


@dataclass(frozen=True)
class RuleError:
    """One failed rule on one row: ``row`` counts data rows from 1 (the header line is not counted)."""

    code: str
    description: str
    table: str
    row: int
    child: str = ""
    fields: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "description": self.description, "table": self.table, "row": self.row,
                "fields": list(self.fields)}

    def __str__(self) -> str:
        return f"rule {self.code} ({self.table} row {self.row}): {self.description}"


@dataclass
class Validation:
    validator: str
    errors: list[RuleError] = field(default_factory=list)
    rules_run: list[str] = field(default_factory=list)
    rules_skipped: list[str] = field(default_factory=list)
    rules_failed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {"validator": self.validator, "rules_run": len(self.rules_run), "rules_skipped": len(self.rules_skipped),
                "rules_failed": self.rules_failed, "errors": [e.to_dict() for e in self.errors[:200]],
                "error_count": len(self.errors)}

    def summary(self, limit: int = 20) -> str:
        head = f"{self.validator}: {len(self.rules_run)} rules run, {len(self.errors)} errors"
        return "\n".join([head, *(f"  {e}" for e in self.errors[:limit])]
                         + ([f"  ... and {len(self.errors) - limit} more"] if len(self.errors) > limit else []))


def parse_iso(value: Any) -> date | None:
    """A yyyy-mm-dd date (CIN census XML, school records CSV); None when blank or not that format."""
    s = str(value).strip() if value is not None else ""
    try:
        return datetime.strptime(s, "%Y-%m-%d").date() if s else None
    except ValueError:
        return None
