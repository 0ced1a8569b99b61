"""Property tests: valid responses score inside each scale's range; invalid ones are refused."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from instruments_strategies import responses

from securebase.instruments import (
    ResponseValidationError,
    ValueSet,
    list_instruments,
    load_instrument,
    score,
    validate_responses,
)
from securebase.instruments.ranges import scale_bounds
from securebase.instruments.validation import describe_allowed

BUILTINS = [i.name for i in list_instruments()]


def made_up_value_set(inst_name: str) -> ValueSet | None:
    """A MADE-UP additive value set so utility scales can be exercised (not a real tariff)."""
    inst = load_instrument(inst_name)
    vs_scales = [s for s in inst.scales if s.rule == "value_set"]
    if not vs_scales:
        return None
    dims = vs_scales[0].items
    levels = max(len(inst.item(d).allowed or ()) for d in dims)
    dec = {d: {lv: 0.02 * (lv - 1) * (k + 1) for lv in range(2, levels + 1)} for k, d in enumerate(dims)}
    return ValueSet(name="made_up", instrument=inst_name, kind="additive", dimensions=dims, levels=levels,
                    decrements=dec, made_up=True, source="MADE UP for tests")


@pytest.mark.parametrize("name", BUILTINS)
def test_valid_responses_score_inside_each_scale_range(name: str) -> None:
    inst = load_instrument(name)
    vs = made_up_value_set(name)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(responses(inst))
    def check(r: dict[str, Any]) -> None:
        results = score(inst, r, value_set=vs)
        assert set(results) == {s.name for s in inst.scales}
        for scale in inst.scales:
            res = results[scale.name]
            if res.value is None:
                assert res.reason, scale.name
                continue
            lo, hi = scale_bounds(inst, scale, vs)
            if lo is not None:
                assert res.value >= lo - 1e-12, (scale.name, res)
            if hi is not None:
                assert res.value <= hi + 1e-12, (scale.name, res)
            if scale.minimum is not None:
                assert res.value >= scale.minimum - 1e-12
            if scale.maximum is not None:
                assert res.value <= scale.maximum + 1e-12
            if scale.bands:
                assert res.band is not None

    check()


def _invalid(item: Any) -> st.SearchStrategy[Any]:
    if item.allowed is not None and item.response_type == "ordinal":
        return st.integers(-5, 20).filter(lambda v: v not in item.allowed and v not in (-99, -98, -97))
    if item.allowed is not None:
        return st.text(min_size=1, max_size=12).filter(
            lambda s: s.strip() != "" and s.strip() not in {str(a) for a in item.allowed}
            and s.strip() not in ("-99", "-98", "-97"))
    if item.response_type == "integer":
        return st.integers(int(item.maximum) + 1, int(item.maximum) + 1000)
    if item.response_type == "decimal":
        return st.floats(float(item.maximum) + 0.5, float(item.maximum) + 1e6, allow_nan=False)
    return st.sampled_from(["31/12/2020", "not a date", "2020-13-01"])


ITEMS = [(n, it.code) for n in BUILTINS for it in load_instrument(n).items if it.response_type != "free_text"]


@settings(max_examples=150, deadline=None)
@given(data=st.data(), participant=st.from_regex(r"[A-Z]{4}-[0-9]{3}", fullmatch=True),
       visit=st.sampled_from(["baseline", "6 months", "12 months"]))
def test_any_invalid_response_is_refused_with_the_standard_message(data: st.DataObject, participant: str,
                                                                   visit: str) -> None:
    name, code = data.draw(st.sampled_from(ITEMS))
    inst = load_instrument(name)
    item = inst.item(code)
    bad = data.draw(_invalid(item))
    good = data.draw(responses(inst, allow_missing=True))
    good[code] = bad
    # drop constraint partners so only the invalid value can fail
    for con in inst.constraints:
        if code in (con.left, con.right):
            good[con.right if code == con.left else con.left] = None
    with pytest.raises(ResponseValidationError) as info:
        validate_responses(inst, good, participant=participant, visit=visit)
    issues = info.value.issues
    assert len(issues) == 1
    shown = repr(bad) if isinstance(bad, str) else (str(int(bad)) if isinstance(bad, float) and bad.is_integer()
                                                    else str(bad))
    expected = (f"{inst.label} item {code} must be {describe_allowed(item)} (got {shown}) "
                f'in visit "{visit}" for participant {participant}')
    assert str(info.value) == expected
    assert issues[0].participant == participant and issues[0].visit == visit and issues[0].item == code


def test_example_message_from_the_issue() -> None:
    inst = load_instrument("sdq_parent")
    with pytest.raises(ResponseValidationError) as info:
        validate_responses(inst, {"7": 3}, participant="CARE-014", visit="6 months")
    assert str(info.value) == 'SDQ item 7 must be 0, 1 or 2 (got 3) in visit "6 months" for participant CARE-014'


def test_all_errors_are_collected_and_nothing_is_returned() -> None:
    inst = load_instrument("school_record")
    bad = {"sessions_possible": 100, "sessions_attended": 120, "permanent_exclusion": "maybe",
           "period_start": "2025-09-01", "period_end": "2025-07-01", "foo": 1}
    with pytest.raises(ResponseValidationError) as info:
        validate_responses(inst, bad, participant="MALT-001")
    msgs = [i.message for i in info.value.issues]
    assert len(msgs) == 4, msgs
    assert any("has no item foo" in m for m in msgs)
    assert any("item permanent_exclusion must be yes or no (got 'maybe')" in m for m in msgs)
    assert any("item sessions_attended must be <= item sessions_possible (100) (got 120)" in m for m in msgs)
    assert any("item period_start must be <= item period_end" in m for m in msgs)
    assert str(info.value).startswith("4 responses failed")


def test_missing_codes_are_kept_distinct() -> None:
    inst = load_instrument("kerns")
    clean = validate_responses(inst, {"1": -99, "2": -98, "3": -97, "4": 4})
    assert [str(clean[c]) for c in "123"] == ["not answered", "not applicable", "refused"]
    assert clean["5"].reason == "not_answered" and clean["4"] == 4
    res = score(inst, {str(i): 3 for i in range(1, 16)} | {"9": -97})
    assert res["security"].value is None and "item 9 refused" in (res["security"].reason or "")
    assert score(inst, {str(i): 3 for i in range(1, 16)})["security"].value == 3


def test_dates_and_decimals_parse() -> None:
    inst = load_instrument("placement_record")
    res = score(inst, {"placement_start": "2025-01-01", "placement_end": dt.date(2025, 3, 2),
                       "ending": "unplanned", "placement_type": "foster"})
    assert res["placement_days"].value == 60 and res["unplanned_ending"].value == 1
    ongoing = score(inst, {"placement_start": "2025-01-01", "ending": "ongoing"})
    assert ongoing["placement_days"].value is None and ongoing["unplanned_ending"].value == 0
