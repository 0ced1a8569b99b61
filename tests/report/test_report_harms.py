"""The harms section: by arm with Bang's index in the closed report, pooled (no arm, no relatedness) in the
open report, safeguarding concerns as counts only."""

from __future__ import annotations

from datetime import date

from securebase.protocol import load_protocol
from securebase.report.harms import harms_tables
from securebase.store.tables import AdverseEvent, BlindingGuess, ProtocolDeviation, SafeguardingConcern

PROTO = load_protocol("ng26-care")
ARM_OF = {1: "intervention", 2: "intervention", 3: "usual_care", 4: "usual_care"}
N = {"intervention": 2, "usual_care": 2}


def _ae(i: int, pk: int, category: str, serious: bool, crit: list[str], related: str | None = None) -> AdverseEvent:
    due = date(2028, 2, 29) if serious and related == "probably" else None
    return AdverseEvent(id=i, participant_pk=pk, category=category, description="MARKER text", onset_on=date(2028, 2, 1),
                        aware_on=date(2028, 2, 14), serious=serious, seriousness=crit, relatedness=related,
                        expectedness="unexpected" if related else None, outcome="ongoing", report_due_on=due,
                        reported_on=None)


def _inputs() -> tuple:  # type: ignore[type-arg]
    aes = [_ae(1, 1, "self_harm", True, ["hospitalisation"], "probably"), _ae(2, 1, "self_harm", False, []),
           _ae(3, 3, "missing_episode", True, ["missing_over_24h"], "unrelated"), _ae(4, 4, "other", False, [])]
    concerns = [SafeguardingConcern(participant_pk=1, what_seen_or_said="MARKER disclosure", status="signed_off",
                                    referral_made=True),
                SafeguardingConcern(participant_pk=3, what_seen_or_said="MARKER disclosure", status="open")]
    devs = [ProtocolDeviation(category="blinding", serious_breach=False, unblinded_assessor="assessor1"),
            ProtocolDeviation(category="consent", serious_breach=True, unblinded_assessor=None)]
    guesses = ([BlindingGuess(participant_pk=1, guess="intervention"), BlindingGuess(participant_pk=2, guess="dont_know"),
                BlindingGuess(participant_pk=3, guess="intervention"), BlindingGuess(participant_pk=4, guess="usual_care")])
    return aes, concerns, devs, guesses


def test_closed_report_by_arm_with_blinding_index() -> None:
    aes, concerns, devs, guesses = _inputs()
    h = harms_tables(PROTO, aes, ARM_OF, N, concerns, devs, guesses)
    rows = {r[0]: r[1:] for r in h["by_category"]["rows"]}
    assert rows["Self-harm"] == ["2 events; 1 (50.0%) children", "0 events; 0 (0.0%) children",
                                 "2 events; 1 (25.0%) children"]
    assert rows["Missing from placement"][1] == "1 events; 1 (50.0%) children"
    assert rows["Any adverse event"][2] == "4 events; 3 (75.0%) children"
    assert h["listing"]["header"][1] == "Arm" and [r[0] for r in h["listing"]["rows"]] == ["AE-0001", "AE-0003"]
    assert h["listing"]["rows"][0][6:8] == ["probably", "unexpected"]
    assert h["reportable"] == {"n": 1, "reported": 0, "late": 0, "days": 15}
    assert h["safeguarding"]["rows"][0] == ["Raised", "1", "1", "2"]
    assert h["safeguarding"]["rows"][1] == ["Referred to the local authority", "1", "0", "1"]
    assert "MARKER" not in str(h)
    bi = h["blinding"]["table"]["rows"]
    # intervention: 1 correct, 0 wrong, 1 don't know -> (1 - 0)/2 = 0.50; usual care: 1 correct, 1 wrong -> 0.00
    assert [r[1:5] for r in bi] == [[2, 1, 0, 1], [2, 1, 1, 0]]
    assert bi[0][5].startswith("0.50 (") and bi[1][5].startswith("0.00 (")
    assert h["deviations"]["unblinded_assessors"] == 1
    assert ["Consent or assent", "1", "1"] in h["deviations"]["rows"]


def test_open_report_is_pooled() -> None:
    aes, concerns, devs, guesses = _inputs()
    h = harms_tables(PROTO, aes, None, {"all": 4}, concerns, devs, guesses)
    text = str(h)
    for word in ("intervention", "Intervention", "usual_care", "Usual care", "probably", "unexpected", "MARKER"):
        assert word not in text, word
    assert h["by_category"]["header"] == ["Category", "All participants (n = 4)"]
    assert h["blinding"]["table"] is None and h["blinding"]["guesses"] == 4
    assert h["safeguarding"]["rows"][0] == ["Raised", "2"]
    from securebase.report.builder import _env

    html = _env().get_template("_harms.html.j2").render(harms=h)
    assert "Bang's blinding index is by arm and appears in the closed report" in html and "AE-0003" in html
