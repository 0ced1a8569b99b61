"""School records CSV (one row per pupil per period), in school census / NPD terms: ``UPN``, ``PeriodStart``,
``PeriodEnd`` (yyyy-mm-dd), ``SessionsPossible``, ``SessionsAttended``, ``Suspensions``, ``PermanentExclusion``
(0/1), ``KS2ReadingScaled``, ``KS2MathsScaled`` (80-120), ``KS4Attainment8`` (0-90).

Checked by securebase's own rules, coded ``SB-SCH-*`` (not DfE codes); a file with any error is refused.
"""

from __future__ import annotations

import io
from typing import Any

import pandas as pd

from securebase.errors import DataError
from securebase.linkage.common import RuleError, Validation, parse_iso, upn_valid
from securebase.linkage.synthetic import SCHOOL_COLUMNS

RULES = {
    "SB-SCH-1": "UPN is missing or fails the DfE check letter.",
    "SB-SCH-2": "PeriodStart or PeriodEnd is not a date (yyyy-mm-dd), or the period ends before it starts.",
    "SB-SCH-3": "SessionsPossible / SessionsAttended is not a whole number from 0, or attended exceeds possible.",
    "SB-SCH-4": "Suspensions is not a whole number from 0, or PermanentExclusion is not 0 or 1.",
    "SB-SCH-5": "A key stage 2 scaled score is outside 80-120, or Attainment 8 is outside 0-90.",
}


def read(data: bytes) -> pd.DataFrame:
    try:
        df = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataError(f"the school records file cannot be read as CSV ({exc}); save it as UTF-8 CSV") from None
    missing = [c for c in SCHOOL_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"the school records file lacks columns {missing}; expected {', '.join(SCHOOL_COLUMNS)}")
    return df[list(SCHOOL_COLUMNS)].apply(lambda c: c.str.strip())


def _int(v: str) -> int | None:
    return int(v) if v.isdigit() else None


def _num(v: str, lo: float, hi: float) -> bool:
    if v == "":
        return True
    try:
        return lo <= float(v) <= hi
    except ValueError:
        return False


def validate(df: pd.DataFrame) -> Validation:
    res = Validation(validator="securebase school-record checks (SB-SCH-1..5)", rules_run=list(RULES))
    for i, r in enumerate(df.to_dict("records"), start=1):
        def add(code: str, fields: tuple[str, ...], row: int = i) -> None:
            res.errors.append(RuleError(code, RULES[code], "School", row, "", fields))
        if not upn_valid(r["UPN"]):
            add("SB-SCH-1", ("UPN",))
        a, b = parse_iso(r["PeriodStart"]), parse_iso(r["PeriodEnd"])
        if a is None or b is None or b < a:
            add("SB-SCH-2", ("PeriodStart", "PeriodEnd"))
        p, at = _int(r["SessionsPossible"]), _int(r["SessionsAttended"])
        if p is None or at is None or at > p:
            add("SB-SCH-3", ("SessionsPossible", "SessionsAttended"))
        if _int(r["Suspensions"] or "0") is None or r["PermanentExclusion"] not in ("0", "1", ""):
            add("SB-SCH-4", ("Suspensions", "PermanentExclusion"))
        if not (_num(r["KS2ReadingScaled"], 80, 120) and _num(r["KS2MathsScaled"], 80, 120)
                and _num(r["KS4Attainment8"], 0, 90)):
            add("SB-SCH-5", ("KS2ReadingScaled", "KS2MathsScaled", "KS4Attainment8"))
    return res


def records(df: pd.DataFrame) -> list[tuple[str, dict[str, Any]]]:
    """(UPN, linked-record fields) for each school period."""
    out = []
    for r in df.to_dict("records"):
        out.append((r["UPN"].upper(), {"kind": "school_period", "starts_on": parse_iso(r["PeriodStart"]),
                                       "ends_on": parse_iso(r["PeriodEnd"]), "details": {
            "sessions_possible": int(r["SessionsPossible"]), "sessions_attended": int(r["SessionsAttended"]),
            "suspensions": int(r["Suspensions"] or 0), "permanent_exclusion": r["PermanentExclusion"] or "0",
            "ks2_reading": r["KS2ReadingScaled"] or None, "ks2_maths": r["KS2MathsScaled"] or None,
            "ks4_attainment8": r["KS4Attainment8"] or None}}))
    return out
