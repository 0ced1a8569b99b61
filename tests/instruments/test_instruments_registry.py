"""Registry, user YAML definitions, value sets (built-in, loaded, MADE-UP tariffs) and resource use."""

from __future__ import annotations

from pathlib import Path

import pytest

from securebase.errors import NotFound, ProtocolError
from securebase.instruments import (
    get_value_set,
    list_instruments,
    list_value_sets,
    load_instrument,
    load_instrument_file,
    load_value_set,
    parse_instrument,
    register_value_set,
    score,
    unregister_instrument,
    unregister_value_set,
)

DATA = Path(__file__).parent / "data"
CHU = ["worried", "sad", "pain", "tired", "annoyed", "schoolwork", "sleep", "daily_routine", "activities"]
REQUIRED = {"sdq_parent", "sdq_teacher", "sdq_self", "eq5d_3l", "eq5d_5l", "eq5d_y_3l", "chu9d", "rpq", "kerns",
            "sensitivity_coding", "resource_use", "placement_record", "school_record", "maltreatment_record",
            "licensed_generic"}


def test_every_required_builtin_is_there_without_wording() -> None:
    names = {i.name for i in list_instruments()}
    assert REQUIRED <= names
    for inst in list_instruments():
        assert all(it.wording is None for it in inst.items), inst.name
        assert inst.source, inst.name


def test_sdq_scale_names_and_bands() -> None:
    for form in ("sdq_parent", "sdq_teacher", "sdq_self"):
        inst = load_instrument(form)
        assert [s.name for s in inst.scales] == ["emotional", "conduct", "hyperactivity", "peer", "prosocial",
                                                 "total", "externalising", "internalising", "impact"]
    assert load_instrument("sdq_parent").scale("total").bands[1].minimum == 14
    assert load_instrument("sdq_teacher").scale("peer").bands[1].maximum == 4
    assert not any(s.bands for s in load_instrument("sdq_self").scales)  # unconfirmed: none shipped
    assert load_instrument("sdq_teacher").scale("impact").maximum == 6


def test_user_yaml_file_is_loaded_and_wins(tmp_path: Path) -> None:
    text = (Path(__file__).parents[2] / "src/securebase/instruments/builtin/rpq.yaml").read_text()
    path = tmp_path / "rpq2.yaml"
    path.write_text(text.replace('version: "2026.1"', 'version: "2026.2"'))
    try:
        inst = load_instrument_file(path)
        assert load_instrument("rpq").version == "2026.2"
        assert load_instrument("rpq", "2026.1").version == "2026.1"
        assert inst in list_instruments()
    finally:
        unregister_instrument("rpq", "2026.2")
    assert load_instrument("rpq").version == "2026.1"
    with pytest.raises(NotFound, match="no version"):
        load_instrument("rpq", "9")
    with pytest.raises(NotFound, match="no instrument named"):
        load_instrument("nope")


def test_bad_definitions_are_refused_naming_the_field() -> None:
    base = "name: x\nversion: '1'\ntitle: X\nlabel: X\nconstruct: c\nrespondent: carer\n"
    with pytest.raises(ProtocolError, match="respondent"):
        parse_instrument(base.replace("carer", "parent") + "items: []\n", "x.yaml")
    with pytest.raises(ProtocolError, match="missing code"):
        parse_instrument(base + "items:\n  - {code: a, response_type: ordinal, allowed: [-99, 0]}\n", "x.yaml")
    with pytest.raises(ProtocolError, match="differ"):
        parse_instrument(base + "missing_codes: {not_answered: -9, not_applicable: -9, refused: -7}\n"
                         "items: []\n", "x.yaml")
    with pytest.raises(ProtocolError, match="unknown item"):
        parse_instrument(base + "items: []\nscales:\n  - {name: t, rule: sum, items: [q]}\n", "x.yaml")
    with pytest.raises(ProtocolError, match="line"):
        parse_instrument(base + "items: [\n", "x.yaml")


def test_chu9d_scores_only_with_a_loaded_tariff() -> None:
    inst = load_instrument("chu9d")
    answers = dict(zip(CHU, [1, 2, 3, 4, 5, 1, 2, 3, 4], strict=True))
    res = score(inst, answers)["utility"]
    assert res.value is None and "chu9d_uk" in (res.reason or "")
    tariff = load_value_set(DATA / "MADE_UP_chu9d_tariff_NOT_REAL.yaml")
    assert tariff.made_up
    register_value_set(tariff)
    try:
        res = score(inst, answers)["utility"]
        # made-up tariff: 1 - 0.01 * sum((level - 1) * position)
        expected = 1 - 0.01 * sum((lv - 1) * (k + 1) for k, lv in enumerate(answers.values()))
        assert res.value == pytest.approx(expected, abs=1e-12)
        assert res.warnings and "made up" in res.warnings[0]
    finally:
        unregister_value_set("chu9d_uk")
    csv_tariff = load_value_set(DATA / "MADE_UP_chu9d_tariff_NOT_REAL.csv", name="chu9d_uk", instrument="chu9d",
                                dimensions=CHU, levels=5, made_up=True)
    assert csv_tariff.decrements == tariff.decrements
    assert score(inst, answers, value_set=csv_tariff)["utility"].value == pytest.approx(expected, abs=1e-12)


def test_eq5d_y_value_set_from_a_lookup_file() -> None:
    inst = load_instrument("eq5d_y_3l")
    dims = [s.items for s in inst.scales if s.rule == "value_set"][0]
    answers = dict(zip(dims, [1, 2, 3, 1, 2], strict=True))
    assert score(inst, answers)["utility"].value is None
    vs = load_value_set(DATA / "MADE_UP_eq5d_y_3l_lookup_NOT_REAL.csv", name="made_up_y", instrument="eq5d_y_3l",
                        dimensions=dims, levels=3, made_up=True)
    assert score(inst, answers, value_set=vs)["utility"].value == pytest.approx(1 - 0.05 * 4)
    assert load_instrument("eq5d_y_3l_proxy").respondent == "carer"


def test_value_sets_are_named_and_swappable() -> None:
    assert {"eq5d_3l_uk_dolan1997", "eq5d_5l_uk_rowen2026"} <= set(list_value_sets())
    dolan = get_value_set("eq5d_3l_uk_dolan1997")
    assert dolan.bounds() == pytest.approx((-0.594, 1.0))
    with pytest.raises(NotFound):
        get_value_set("chu9d_uk")
    with pytest.raises(NotFound):
        load_value_set(DATA / "absent.yaml")
    with pytest.raises(ProtocolError):
        load_value_set(DATA / "MADE_UP_chu9d_tariff_NOT_REAL.csv")


def test_resource_use_items_name_unit_cost_keys() -> None:
    inst = load_instrument("resource_use")
    quantity_items = [it for it in inst.items if it.response_type in ("integer", "decimal")]
    assert quantity_items and all(it.cost_key and it.unit for it in quantity_items)
    res = score(inst, {"period_start": "2026-01-01", "period_end": "2026-06-30", "gp_contacts": 2,
                       "practice_nurse_contacts": 0, "ae_attendances": 1, "camhs_contacts": 3})
    assert res["recall_days"].value == 180 and res["health_contacts"].value == 6


def test_routine_records() -> None:
    school = load_instrument("school_record")
    r = score(school, {"sessions_possible": 300, "sessions_attended": 271, "suspensions": 2,
                       "permanent_exclusion": "no"})
    assert r["attendance_rate"].value == pytest.approx(271 / 300)
    assert r["persistent_absence"].value == 0 and r["any_suspension"].value == 1
    assert r["permanently_excluded"].value == 0
    exactly_ten = score(school, {"sessions_possible": 190, "sessions_attended": 171})
    assert exactly_ten["persistent_absence"].value == 1  # 10% missed counts
    zero = score(school, {"sessions_possible": 0, "sessions_attended": 0})
    assert zero["attendance_rate"].value is None and "undefined" in (zero["attendance_rate"].reason or "")
    malt = load_instrument("maltreatment_record")
    m = score(malt, {"event_date": "2026-03-01", "event_type": "section_47_enquiry"})
    assert m["section_47_enquiry"].value == 1 and m["re_referral"].value == 0


def test_sdq_impact_rules() -> None:
    inst = load_instrument("sdq_parent")
    assert score(inst, {"overall": 0})["impact"].value == 0
    assert score(inst, {"overall": -97})["impact"].value is None  # no impact items answered either
    full = {"overall": 2, "distress": 3, "impact_home": 2, "impact_friends": 1, "impact_classroom": 0,
            "impact_leisure": 3}
    assert score(inst, full)["impact"].value == 2 + 1 + 0 + 0 + 2
    assert score(inst, dict(full, overall=None))["impact"].value == 5  # answered items still count
    part = dict(full, impact_leisure=None)
    res = score(inst, part)["impact"]
    assert res.value is None and "impact_leisure not answered" in (res.reason or "")


def test_wording_is_attached_not_shipped() -> None:
    inst = load_instrument("licensed_generic").with_wording({"1": "licensed text"})
    assert inst.item("1").wording == "licensed text"
    assert load_instrument("licensed_generic").item("1").wording is None
    assert inst.without_wording().item("1").wording is None
    with pytest.raises(KeyError):
        inst.with_wording({"99": "x"})


def test_resource_use_rows_carry_cost_keys_and_never_invent_quantities() -> None:
    from securebase.instruments import resource_use_rows

    inst = load_instrument("resource_use")
    rows = resource_use_rows(inst, {"period_start": "2026-01-01", "period_end": "2026-06-30", "gp_contacts": 2,
                                    "foster_care_weeks": 4.5, "camhs_contacts": -98})
    assert [(r.item, r.unit, r.quantity) for r in rows] == [("gp_visit", "consultation", 2.0),
                                                             ("foster_care_week", "week", 4.5)]
    assert rows[0].period_end is not None and rows[0].period_end.isoformat() == "2026-06-30"


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_yaml_round_trip(name: str) -> None:
    import yaml

    inst = load_instrument(name)
    assert parse_instrument(yaml.safe_dump(inst.to_dict(), sort_keys=False)) == inst


def test_integer_item_keys_are_accepted() -> None:
    res = score(load_instrument("sdq_parent"), {3: 2, 8: 2, 13: 2})
    assert res["emotional"].value == 10


@pytest.mark.parametrize(("items", "scales", "match"), [
    ("  - {code: a, response_type: category, allowed: [x, y]}\n", "  - {name: t, rule: sum, items: [a]}\n",
     "needs numeric"),
    ("  - {code: a, response_type: integer}\n", "  - {name: t, rule: sum, items: [a]}\n", "bounded"),
    ("  - {code: a, response_type: integer, reverse: true}\n", "", "bounded"),
    ("  - {code: a, response_type: date, minimum: 0, maximum: 5}\n", "", "dates"),
    ("  - {code: a, response_type: ordinal, allowed: [0, 1], score_map: {'0': 0}}\n", "", "score_map"),
    ("  - {code: a, response_type: integer, minimum: 0, maximum: 9}\n", "  - {name: t, rule: date_diff, items: [a, a]}\n",
     "date"),
])
def test_rules_refuse_items_they_cannot_score(items: str, scales: str, match: str) -> None:
    text = ("name: x\nversion: '1'\ntitle: X\nlabel: X\nconstruct: c\nrespondent: carer\nitems:\n" + items
            + ("scales:\n" + scales if scales else ""))
    with pytest.raises(ProtocolError, match=match):
        parse_instrument(text, "x.yaml")
