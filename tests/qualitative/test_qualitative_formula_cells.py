"""Formula injection in the framework matrix (issue 15, item 8): a code named ``=HYPERLINK("x")`` is a
column header, a cell's code and a row of the coded-segments sheet; in the workbook and the CSV it is
text, never a formula, and the numbers (offsets, ids) stay numbers."""

from __future__ import annotations

import csv

from openpyxl import load_workbook
from qual_synth import actor

from securebase.qualitative import apply_code
from securebase.qualitative.codebook import add_code
from securebase.qualitative.matrix import export_matrix
from securebase.store.tables import Transcript

EVIL = '=HYPERLINK("x")'


def test_code_named_like_a_formula_is_text_in_the_workbook_and_csv(qual_trial, tmp_path) -> None:  # type: ignore[no-untyped-def]
    store, ids, cb_id = qual_trial
    qa = actor(store, "qual1")
    with store.unit_of_work(actor="qual1") as uow:
        add_code(uow, qa, cb_id, EVIL, definition="a hostile code name")
        text = uow.session.get(Transcript, ids["CARE-0001"]).text
        start = text.index("The video feedback")
        apply_code(uow, qa, cb_id, ids["CARE-0001"], EVIL, start, start + len("The video feedback"))
        uow.commit()
    with store.unit_of_work(actor="qual1") as uow:
        xlsx = export_matrix(uow, qa, cb_id, tmp_path / "matrix.xlsx")
        csv_path = export_matrix(uow, qa, cb_id, tmp_path / "matrix.csv")
        uow.commit()
    wb = load_workbook(xlsx)
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"], "a formula in the workbook"
    assert not [c.value for c in cells if isinstance(c.value, str) and c.value.startswith("=")]
    header = [c.value for c in wb["Framework matrix"][1]]
    assert "'" + EVIL in header
    seg = wb["Coded segments"]
    row = next(r for r in seg.iter_rows(min_row=2, values_only=True) if r[6] == "'" + EVIL)
    assert isinstance(row[2], int) and isinstance(row[4], int) and isinstance(row[5], int)  # ids and offsets
    rows = list(csv.reader(csv_path.open(encoding="utf-8")))
    assert "'" + EVIL in rows[0] and EVIL not in rows[0]
    assert not [c for r in rows for c in r if c[:1] in ("=", "+", "@")]
