"""Group costing against a hand-worked example; flat per-session costs; unit costs from CSV with a declared index."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from securebase.analysis.economics.costing import intervention_costs
from securebase.analysis.economics.plan import BUILTIN_DIR, load_plan, parse_plan
from securebase.errors import DataError, ProtocolError
from securebase.instruments.unit_costs import load_unit_costs, parse_unit_costs

# A therapist hour of exactly 60 GBP at 2023/24 prices, so the example below can be worked by hand.
TABLE = parse_unit_costs({"currency": "GBP", "price_index": {"name": "flat", "values": {"2023/24": 100.0}},
                          "items": [{"key": "therapist_hour", "description": "facilitator hour", "unit": "hour",
                                     "amount": 60, "source": "hand-worked example", "source_year": 2024,
                                     "price_year": "2023/24", "category": "nhs"}]})


def _plan(**ic):
    data = yaml.safe_load(load_plan("ng26-care").to_yaml())
    data["intervention_cost"].update(ic)
    return parse_plan(data)


GROUP = dict(mode="group", facilitators_per_group=2, minutes_per_session=120, preparation_minutes_per_session=30,
             supervision_hours_per_group=2, materials_per_group=40, training_hours_per_therapist=10,
             training_fee_per_therapist=0, groups_run_per_training=6, materials_per_participant=5)
PEOPLE = pd.DataFrame({"participant_id": ["A", "B", "C", "D", "U"], "treat": [1, 1, 1, 1, 0],
                       "group_id": ["G1", "G1", "G1", "G1", None]})


def test_group_sessions_hand_worked_example():
    # Hand-worked: a session costs 2 facilitators x (120 + 30) min / 60 x 60 GBP = 300 GBP.
    #   session 1 attended by A, B, C, D -> 75 each; session 2 by A, B -> 150 each.
    # Group fixed: supervision 2 h x 60 = 120, materials 40, training 2 x 10 h x 60 = 1,200 over 6 groups = 200;
    #   360 over 4 members = 90 each. Plus materials 5 per participant.
    #   A = B = 75 + 150 + 90 + 5 = 320; C = D = 75 + 90 + 5 = 170; total 980 = 2 x 300 + 360 + 4 x 5.
    log = pd.DataFrame({"participant_id": ["A", "B", "C", "D", "A", "B", "C", "D"],
                        "group_id": ["G1"] * 8, "session": [1, 1, 1, 1, 2, 2, 2, 2],
                        "attended": [1, 1, 1, 1, 1, 1, 0, 0]})
    out = intervention_costs(PEOPLE, TABLE, _plan(**GROUP), log)
    assert out.to_dict() == pytest.approx({"A": 320.0, "B": 320.0, "C": 170.0, "D": 170.0, "U": 0.0})
    assert out.sum() == pytest.approx(980.0)


def test_group_without_log_shares_by_attendance():
    # no log: G1 ran max(sessions_attended) = 2 sessions costing 300 each (600); attendances 2+2+1+1 = 6,
    # so A's share is 2/6 x 600 = 200 and C's 100; fixed 90 and materials 5 as above.
    p = PEOPLE.assign(sessions_attended=[2, 2, 1, 1, 0])
    out = intervention_costs(p, TABLE, _plan(**GROUP))
    assert out.to_dict() == pytest.approx({"A": 295.0, "B": 295.0, "C": 195.0, "D": 195.0, "U": 0.0})
    assert out.sum() == pytest.approx(980.0)  # the same total as with the log


def test_group_mode_needs_group_ids():
    with pytest.raises(DataError, match="group_id"):
        intervention_costs(PEOPLE.drop(columns="group_id").assign(sessions_attended=1), TABLE, _plan(**GROUP))


def test_flat_cost_per_session():
    p = pd.DataFrame({"participant_id": ["A", "B"], "treat": [1, 0], "sessions_attended": [10, 0]})
    out = intervention_costs(p, TABLE, _plan(mode="flat", cost_per_session=50, materials_per_participant=5))
    assert out.to_dict() == {"A": 505.0, "B": 0.0}
    with pytest.raises(ProtocolError, match="intervention_cost.*cost_per_session"):
        _plan(mode="flat")


def test_individual_mode_without_sessions_or_therapist_says_what_is_missing():
    p = pd.DataFrame({"participant_id": ["A", "B"], "treat": [1, 0]})
    with pytest.raises(DataError, match="attended sessions are unknown for participant A.*sessions_attended"):
        intervention_costs(p, TABLE, load_plan("ng26-care"))
    # sessions from resource-use rows, no therapist column: costs computed, fixed costs over the caseload
    out = intervention_costs(p, TABLE, load_plan("ng26-care"), sessions=pd.Series({"A": 4.0}))
    ic = load_plan("ng26-care").intervention_cost
    assert out["A"] == pytest.approx(4 * 1.5 * 60 + (20 + 35) * 60 + ic.materials_per_participant)


CSV = """item,unit,cost,price_year,category,source
gp_visit,consultation,42,2021/22,nhs,Illustrative
foster_care_week,week,646,2016/17,childrens_social_care,PSSRU Unit Costs of Health and Social Care 2017
"""


def test_unit_costs_from_csv_with_declared_index(tmp_path: Path):
    f = tmp_path / "uc.csv"
    f.write_text(CSV)
    idx = tmp_path / "index.csv"
    idx.write_text("price_year,index\n2016/17,104.3\n2021/22,118.4\n2023/24,130.6\n")
    t = load_unit_costs(f, idx)
    assert t.amount("foster_care_week", "2023/24") == pytest.approx(646 * 130.6 / 104.3)
    # the index of a built-in YAML table can be reused
    t2 = load_unit_costs(f, BUILTIN_DIR / "unit_costs_example.yaml")
    assert t2.amount("gp_visit", "2023/24") == pytest.approx(42 * 130.6 / 118.4)
    assert t2.get("foster_care_week").category.value == "childrens_social_care"


@pytest.mark.parametrize("row,field,message", [
    ("gp_visit,consultation,42,,nhs,x", "price_year", "item 'gp_visit' has no price_year; give the financial year"),
    ("gp_visit,consultation,42,2021/22,,x", "category", "item 'gp_visit' has no category; give the payer"),
    ("gp_visit,consultation,42,2021/2022,nhs,x", "price_year", "a financial year like '2016/17'"),
    ("gp_visit,consultation,abc,2021/22,nhs,x", "cost", "cost of item 'gp_visit' must be a number"),
])
def test_bad_unit_cost_csv_names_line_and_column(tmp_path: Path, row, field, message):
    f = tmp_path / "uc.csv"
    f.write_text("item,unit,cost,price_year,category,source\n" + row + "\n")
    with pytest.raises(ProtocolError, match=rf"uc.csv, line 2, field '{field}': .*{message}"):
        load_unit_costs(f, BUILTIN_DIR / "unit_costs_example.yaml")


def test_csv_without_index_or_column_is_refused(tmp_path: Path):
    f = tmp_path / "uc.csv"
    f.write_text(CSV)
    with pytest.raises(ProtocolError, match="needs a declared price index"):
        load_unit_costs(f)
    f.write_text("item,unit,cost,category,source\ngp_visit,x,1,nhs,y\n")
    with pytest.raises(ProtocolError, match=r"field 'price_year'.*lacks column\(s\) \['price_year'\]"):
        load_unit_costs(f, BUILTIN_DIR / "unit_costs_example.yaml")
