"""The CONSORT enrolment counts, now grouped in SQL, equal a tally of the whole screening log by hand
(outcomes, ineligibility reasons split at "; " and cut at ":", declining reasons, entries in error)."""

from __future__ import annotations

import sys
from collections import Counter
from datetime import date
from pathlib import Path

from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from scale_world import bulk_trial  # noqa: E402
from securebase.store.tables import ScreeningRecord  # noqa: E402
from securebase.trial import screening  # noqa: E402
from securebase.trial.audit_view import actor_for  # noqa: E402

OUTCOMES = ["enrolled", "ineligible", "declined", "not_approached", "consented", "entered_in_error"]
REASONS = ["Aged 5 to 17 at randomisation: age 4", "Adopted or in care: 'other'; Aged 5 to 17 at randomisation: age 19",
           "", "Safe to take part: no"]


def _by_hand(rows: list[dict]) -> dict:
    kept = [r for r in rows if r["outcome"] != "entered_in_error"]
    outcomes = Counter(r["outcome"] for r in kept)
    reasons: Counter[str] = Counter()
    for r in kept:
        if not r["eligible"]:
            for part in filter(None, (r["ineligible_reasons"] or "").split("; ")):
                reasons[part.split(":")[0]] += 1
    return {"assessed": len(kept), "ineligible": outcomes["ineligible"], "ineligible_reasons": dict(reasons),
            "not_approached": outcomes["not_approached"], "declined": outcomes["declined"],
            "consented": outcomes["consented"], "enrolled": outcomes["enrolled"],
            "declined_reasons": dict(Counter(r["declined_reason"] for r in kept if r["declined_reason"])),
            "entered_in_error": len(rows) - len(kept)}


def test_consort_counts_in_sql_equal_a_tally_by_hand(store) -> None:  # type: ignore[no-untyped-def]
    bulk_trial(store, 1)
    rows = []
    for i in range(97):
        outcome = OUTCOMES[i % len(OUTCOMES)]
        eligible = outcome != "ineligible" and i % 7 != 0
        rows.append({"trial_id": "ng26-care", "site_code": "LA01" if i % 2 else "LA02", "screening_number": f"S{i:05d}",
                     "screened_on": date(2026, 1 + i % 11, 1 + i % 27), "answers": {}, "eligible": eligible,
                     "ineligible_reasons": REASONS[i % len(REASONS)] if not eligible else "",
                     "approached": outcome != "not_approached", "outcome": outcome,
                     "declined_reason": ("too busy" if i % 4 else "moving away") if outcome == "declined" else None,
                     "screened_by": "recruiter"})
    with store.engine.begin() as conn:
        conn.execute(insert(ScreeningRecord), rows)
    with store.read() as s:
        got = screening.consort_counts(s, actor_for(s, "tm", "ng26-care"))
    assert got == _by_hand(rows)
    assert got["assessed"] == 97 - 16 and got["ineligible_reasons"]["Aged 5 to 17 at randomisation"] > 0
    assert got["declined_reasons"] == {"too busy": 8, "moving away": 8}
