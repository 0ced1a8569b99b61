"""Formula injection (issue 15, item 8): every CSV/XLSX writer escapes text a spreadsheet would run, and
numbers stay numbers. The exports themselves are tested in tests/qualitative and tests/interop."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd
import pytest

from securebase.cells import SafeDictWriter, SafeWriter, frame_to_csv, safe_cell, unescape_cell

SRC = Path(__file__).parents[2] / "src" / "securebase"
WRITERS = re.compile(r"\.to_csv\(|csv\.writer\(|csv\.DictWriter\(|\.to_excel\(|xlsxwriter|ExcelWriter")
SHEET_WRITES = re.compile(r"\b(ws|seg|sheet|worksheet)\.append\(|\.cell\([^)]*value=")


@pytest.mark.parametrize("text", ['=HYPERLINK("http://x","click")', "+1+1", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)",
                                  "\t=1+1", "\r=1+1", "=cmd|' /C calc'!A0 CARE-0001", "-", "+44 7700 900123"])
def test_formula_text_is_escaped_and_unescaped(text: str) -> None:
    assert safe_cell(text) == "'" + text
    assert unescape_cell(safe_cell(text)) == text


@pytest.mark.parametrize("value", [-1, -1.5, 0, 3, "-1", "-1.5", "+2", "1e-3", "-.5", "CARE-0001", "a=b", "", None])
def test_numbers_and_plain_text_are_left_alone(value: object) -> None:
    assert safe_cell(value) == value
    assert unescape_cell(value) == value
    assert safe_cell("'=already escaped") == "'=already escaped"  # not escaped twice


def test_frame_and_csv_writers_escape_text_and_keep_numbers() -> None:
    df = pd.DataFrame({"participant_id": ["CARE-0001", "=HYPERLINK(\"x\")"], "score": [-2.5, 3.0],
                       "n": [-1, 4], "=evil column": ["@x", "ok"]})
    text = frame_to_csv(df, None, index=False)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["participant_id", "score", "n", "'=evil column"]
    assert rows[1] == ["CARE-0001", "-2.5", "-1", "'@x"]
    assert rows[2] == ["'=HYPERLINK(\"x\")", "3.0", "4", "ok"]
    back = pd.read_csv(io.StringIO(text))
    assert back["score"].tolist() == [-2.5, 3.0] and back["n"].tolist() == [-1, 4]  # numbers stay numbers
    buf = io.StringIO()
    SafeWriter(buf).writerow(["-1", -1, "-1 day"])
    w = SafeDictWriter(buf, fieldnames=["a", "=b"])
    w.writeheader()
    w.writerow({"a": "=1+2", "=b": 5})
    assert buf.getvalue().splitlines() == ["-1,-1,'-1 day", "a,'=b", "'=1+2,5"]


def test_every_csv_and_xlsx_writer_goes_through_the_helper() -> None:
    """A new writer that bypasses securebase.cells fails here (mark a non-export with '# not a file' or
    '# not an export'; a call of a method that escapes: '# escaped by securebase.cells')."""
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "cells.py":
            continue
        text = path.read_text(encoding="utf-8")
        for n, line in enumerate(text.splitlines(), start=1):
            if WRITERS.search(line) and "frame_to_csv(" not in line and "def to_csv" not in line \
                    and not any(m in line for m in ("# not a file", "# not an export", "# escaped by securebase.cells")):
                offenders.append(f"{path.relative_to(SRC)}:{n}: {line.strip()}")
        if "openpyxl" in text:
            offenders += [f"{path.relative_to(SRC)}:{n}: {line.strip()} (use securebase.cells.xlsx_row)"
                          for n, line in enumerate(text.splitlines(), start=1) if SHEET_WRITES.search(line)]
    assert offenders == [], "\n".join(offenders)
