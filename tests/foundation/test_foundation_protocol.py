"""Built-in protocols, NG26 outcome coverage, eligibility, and loader error messages."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from securebase.errors import ProtocolError
from securebase.protocol import (
    builtin_names,
    check_eligibility,
    load_protocol,
    load_protocol_file,
    protocol_from_yaml_text,
    visit_windows,
)

NG26_DOMAINS_BOTH = {"attachment", "parental_sensitivity", "placement_disruption", "educational_performance",
                     "behavioural_problems", "quality_of_life", "resource_use", "qualitative"}


def test_builtins_validate() -> None:
    assert builtin_names() == ["ng26-care", "ng26-maltreatment"]
    for name in builtin_names():
        p = load_protocol(name)
        assert p.id == name
        assert {v.month for v in p.visits} >= {0, 6, 12}


@pytest.mark.parametrize("name,extra", [("ng26-care", set()), ("ng26-maltreatment", {"ongoing_maltreatment"})])
def test_every_ng26_outcome_has_a_measure(name: str, extra: set[str]) -> None:
    p = load_protocol(name)
    domains = {o.domain: o for o in p.outcomes.all}
    for d in NG26_DOMAINS_BOTH | extra:
        assert d in domains, f"{name} lacks {d}"
        assert domains[d].measure, f"{name}: {d} has no measure"
    assert ("ongoing_maltreatment" in domains) == (name == "ng26-maltreatment")
    assert p.qualitative_interview


def test_maltreatment_components_cover_every_type() -> None:
    p = load_protocol("ng26-maltreatment")
    types = {c.maltreatment_type for c in p.intervention_arm.components}
    assert types == {"sexual", "physical", "emotional", "neglect"}
    assert p.factor_names == ("site", "age_band", "maltreatment_type")
    assert load_protocol("ng26-care").factor_names == ("site", "age_band", "care_status")


def test_eligibility_reasons() -> None:
    p = load_protocol("ng26-care")
    ok = check_eligibility(p, {"date_of_birth": "2015-03-01", "assessment_date": "2026-11-26", "care_status": "foster",
                               "carer_available": True, "placement_ending_planned": False})
    assert ok.eligible, ok.summary()
    young = check_eligibility(p, {"date_of_birth": date(2022, 1, 1), "assessment_date": date(2026, 11, 26),
                                  "care_status": "living_with_birth_family", "carer_available": True,
                                  "placement_ending_planned": True})
    assert not young.eligible
    assert any("under 5" in r for r in young.reasons)
    assert any("living_with_birth_family" in r for r in young.reasons)
    assert any("exclusion" in r for r in young.reasons)
    eighteen = check_eligibility(p, {"age_years": 18, "care_status": "adopted", "carer_available": True,
                                     "placement_ending_planned": False})
    assert any("not under 18" in r for r in eighteen.reasons)
    m = load_protocol("ng26-maltreatment")
    res = check_eligibility(m, {"age_years": 9, "maltreatment_status": "at_risk", "maltreatment_types": ["neglect"],
                                "safe_to_take_part": True})
    assert res.eligible
    missing = check_eligibility(m, {"age_years": 9})
    assert not missing.eligible and len(missing.missing) == 3


def test_visit_windows_from_randomisation() -> None:
    p = load_protocol("ng26-care")
    w = {x.visit_id: x for x in visit_windows(p, date(2026, 1, 15))}
    assert w["baseline"].due == date(2026, 1, 15)
    assert w["m6"].due == date(2026, 7, 17)  # 6 x 30.4375 = 182.6 -> 183 days
    assert (w["m12"].closes - w["m12"].due).days == 28


def test_yaml_round_trip() -> None:
    for name in builtin_names():
        p = load_protocol(name)
        again = protocol_from_yaml_text(yaml.safe_dump(p.to_dict()))
        assert again == p


BASE = (Path(__file__).parents[2] / "src/securebase/protocol/builtin/ng26-care.yaml").read_text()


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    assert old in BASE
    f = tmp_path / "broken.yaml"
    f.write_text(BASE.replace(old, new, 1))
    return f


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize("old,new,field,needle,words", [
    ("  - id: intervention\n    name:", "  - id: Intervention!\n    name:", "arms[0].id", "id: Intervention!", "pattern"),
    ("    ratio: 1\n    intervention: true", "    ratio: 0\n    intervention: true", "arms[0].ratio", "ratio: 0", "greater than or equal to 1"),
    ("  probability: 0.8", "  probability: 1.4", "stratification.probability", "probability: 1.4", "less than or equal to 1"),
    ("  - {id: m6, label: 6 months, month: 6,", "  - {id: m6, label: 6 months, month: six,", "visits[1].month", "month: six", "valid integer"),
    ("target_sample_size: 330", "target_sampel_size: 330", "target_sampel_size", "target_sampel_size", "unknown field"),
    ("    kind: in_set\n    field: care_status", "    kind: in_list\n    field: care_status", "eligibility[1].kind", "kind: in_list", "Input should be"),
])
def test_broken_protocols_name_file_line_and_field(tmp_path: Path, old: str, new: str, field: str, needle: str,
                                                   words: str) -> None:
    f = _broken(tmp_path, old, new)
    with pytest.raises(ProtocolError) as info:
        load_protocol_file(f)
    err = info.value
    assert err.file == str(f)
    assert err.field == field
    assert err.line == _line_of(f.read_text(), needle)
    assert words in str(err)
    assert str(f) in str(err) and f"line {err.line}" in str(err)


def test_missing_field_and_bad_yaml(tmp_path: Path) -> None:
    f = _broken(tmp_path, "population: >-", "populace: >-")
    with pytest.raises(ProtocolError) as info:
        load_protocol_file(f)
    assert "populace" in str(info.value) or "population" in str(info.value)
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\narms: [\n  - a\n")
    with pytest.raises(ProtocolError) as info2:
        load_protocol_file(bad)
    assert info2.value.line is not None and "not valid YAML" in str(info2.value)
    visit = _broken(tmp_path, "  - {visit: m12, instrument: kerns, respondent: child}",
                    "  - {visit: m18, instrument: kerns, respondent: child}")
    with pytest.raises(ProtocolError, match="m18"):
        load_protocol_file(visit)
