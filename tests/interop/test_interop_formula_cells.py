"""Formula injection in exports (issue 15, item 8): a participant-derived string that a spreadsheet would
run as a formula is escaped in the REDCap records CSV and the analysis CSV export; numbers stay numbers;
the REDCap round trip gives the original text back."""

from __future__ import annotations

import csv
from datetime import date

from interop_synth import TRIAL, build_trial
from sqlalchemy import select

from securebase.interop.exports import AnalysisExport
from securebase.interop.redcap_records import read_csv, write_redcap
from securebase.store.tables import Participant, Withdrawal
from securebase.trial.roles import Actor, Role

ADMIN = Actor("admin", TRIAL, frozenset({Role.administrator}))
EVIL = '=HYPERLINK("http://example.invalid/x","open")'


def test_participant_text_is_escaped_in_the_redcap_and_analysis_csv(fresh_care, tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = fresh_care("sqlite")
    build_trial(store, n=3)
    with store.unit_of_work(actor="tm1") as uow:
        p = uow.session.execute(select(Participant).order_by(Participant.id)).scalars().first()
        uow.session.add(Withdrawal(trial_id=TRIAL, participant_pk=p.id, level="follow_up",
                                   withdrawn_on=date(2026, 3, 2), reason=EVIL))
        uow.commit()
    result = write_redcap(store, ADMIN, tmp_path / "redcap")
    records = next(f for f in result.files if f.name.endswith("_Records.csv"))
    cells = [c for row in csv.reader(records.open(encoding="utf-8")) for c in row]
    assert "'" + EVIL in cells and EVIL not in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "@") or (c[:1] == "-" and not _number(c))]
    assert any(EVIL == v for r in read_csv(records, "records file") for v in r.values())  # read back: the text
    out = AnalysisExport(formats=("csv",), allocation="arms").write(store, ADMIN, tmp_path / "analysis")
    for f in out.files:
        if f.suffix == ".csv":
            for row in csv.reader(f.open(encoding="utf-8")):
                assert not [c for c in row if c[:1] in ("=", "+", "@") or (c[:1] == "-" and not _number(c))], (f, row)


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
