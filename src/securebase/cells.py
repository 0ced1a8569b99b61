"""Spreadsheet-safe cells for every CSV and XLSX securebase writes (CSV/formula injection, OWASP).

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a formula by
Excel, LibreOffice and Google Sheets (``=HYPERLINK(...)``, ``=cmd|' /C calc'!A0``). Such text is written with
a leading apostrophe (``'=HYPERLINK(...)``), which spreadsheets show as text and never evaluate. Numbers stay
numbers: ints, floats and numeric columns are untouched, and so is a string that is just a number
(``-1.5``, ``+44``), which no spreadsheet can run. :func:`unescape_cell` undoes it for the files securebase
reads back (REDCap round trips).

Every writer goes through here: :func:`safe_cell` for one value, :func:`safe_frame` / :func:`frame_to_csv`
for a pandas frame, :class:`SafeWriter` / :class:`SafeDictWriter` for the :mod:`csv` module, and
:func:`xlsx_row` for openpyxl. ``tests/foundation/test_foundation_cells.py`` fails when a new writer does
not.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def needs_escape(text: str) -> bool:
    return text.startswith(FORMULA_START) and not _NUMBER.match(text)


def safe_cell(value: Any) -> Any:
    """``value`` with a leading apostrophe if it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and needs_escape(value):
        return "'" + value
    return value


def unescape_cell(value: Any) -> Any:
    """Undo :func:`safe_cell` (for files securebase wrote and reads back)."""
    if isinstance(value, str) and value.startswith("'") and needs_escape(value[1:]):
        return value[1:]
    return value


def unescape_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A csv.DictReader row with :func:`unescape_cell` applied to every value."""
    return {k: unescape_cell(v) for k, v in row.items()}


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in values]


def safe_frame(df: Any) -> Any:
    """A copy of the pandas frame with text cells (and column names) escaped; numeric columns untouched."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype == object or str(s.dtype) in ("string", "category"):
            out[col] = s.astype(object).map(safe_cell)
    out.columns = [safe_cell(c) for c in out.columns]
    return out


def frame_to_csv(df: Any, path_or_buf: Any = None, **kwargs: Any) -> Any:
    """``df.to_csv(path_or_buf, **kwargs)`` with every text cell escaped."""
    return safe_frame(df).to_csv(path_or_buf, **kwargs)


class SafeWriter:
    """``csv.writer`` whose rows are escaped."""

    def __init__(self, fh: Any, **kwargs: Any) -> None:
        self._w = csv.writer(fh, **kwargs)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._w.writerow(safe_row(row))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for r in rows:
            self.writerow(r)


class SafeDictWriter(csv.DictWriter):  # type: ignore[type-arg]
    """``csv.DictWriter`` whose values (and header) are escaped."""

    def writerow(self, rowdict: Mapping[str, Any]) -> Any:
        return super().writerow({k: safe_cell(v) for k, v in rowdict.items()})

    def writerows(self, rowdicts: Iterable[Mapping[str, Any]]) -> None:
        for r in rowdicts:
            self.writerow(r)


def xlsx_row(ws: Any, values: Iterable[Any]) -> None:
    """Append ``values`` to the openpyxl worksheet ``ws`` as data: text is escaped and stored as a string
    (never a formula), numbers as numbers."""
    ws.append(safe_row(values))
    for cell in ws[ws.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"
