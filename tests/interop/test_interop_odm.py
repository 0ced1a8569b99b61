"""CDISC ODM 1.3.2: export validates against the schema, and a round trip loses nothing."""

from __future__ import annotations

import pytest
from interop_compare import assert_same, snapshot
from interop_synth import add_edge_responses, build_trial
from lxml import etree

from securebase.errors import DataError, TrialLocked
from securebase.interop.odm_common import NS, schema, validate
from securebase.interop.odm_export import write_odm
from securebase.interop.odm_import import import_odm
from securebase.trial.lock import lock_trial
from securebase.trial.roles import Actor, Role

ADMIN = Actor("admin", "ng26-care", frozenset({Role.administrator}))
BLINDED = Actor("stat1", "ng26-care", frozenset({Role.blinded_statistician}))


def test_odm_round_trip_loses_nothing(care_trial, fresh_care, tmp_path) -> None:  # type: ignore[no-untyped-def]
    counts = build_trial(care_trial, n=3)
    counts["responses"] += add_edge_responses(care_trial)
    out = write_odm(care_trial, ADMIN, tmp_path / "trial.xml")
    assert out.validated and out.subjects == 3 and out.responses == counts["responses"]
    doc = etree.parse(str(out.path))
    assert schema().validate(doc)
    ns = {"o": NS}
    flagged = doc.xpath("//o:ItemData[o:Annotation/o:Flag/o:FlagType='missing_code']", namespaces=ns)
    n_missing = sum(1 for r in snapshot(care_trial)["responses"] if r["missing_code"])
    assert len(flagged) == n_missing >= counts["missing"] > 0  # one flag per response with a missing code
    assert sorted(f.get("IsNull") or f.get("Value") for f in flagged).count("Yes") == n_missing - 1
    assert len(doc.xpath("//o:AuditRecord", namespaces=ns)) == out.audit_records > counts["responses"]
    target = fresh_care("sqlite")
    result = import_odm(target, ADMIN, out.path)
    assert result.subjects == 3 and result.responses == counts["responses"]
    assert result.missing_codes == n_missing
    rows = assert_same(care_trial, target, ignore=("responses.entered_by",))
    assert rows["responses"] == counts["responses"] and rows["scores"] == counts["scores"]
    # who entered the rows here is the importing user (the source's users stay in the odm_audit events)
    assert {r["entered_by"] for r in snapshot(target)["responses"]} == {"admin"}
    assert rows["events"] == counts["events"] and rows["allocations"] == 3
    assert rows["resource_use"] == counts["resource_use"] > 0 and rows["intervention_sessions"] == counts["sessions"] > 0
    codes = {r["missing_code"] for r in snapshot(target)["responses"]}
    assert codes == {None, "not_answered", "not_applicable", "refused"}
    edge = {r["item"]: r for r in snapshot(target)["responses"] if r["entry"] == 3}
    assert (edge["1"]["value"], edge["1"]["missing_code"]) == ("3", "refused")
    assert (edge["2"]["value"], edge["2"]["missing_code"]) == (None, None)


def test_blinded_export_has_no_allocation_and_invalid_files_are_refused(fresh_care, tmp_path) -> None:  # type: ignore[no-untyped-def]
    care_trial = fresh_care("sqlite")
    build_trial(care_trial, n=2)
    out = write_odm(care_trial, BLINDED, tmp_path / "blind.xml")
    text = out.path.read_text()
    assert "FT.allocations" not in text and "T.allocations." not in text and "intervention_sessions" not in text
    assert '"table_name": "allocations"' not in text
    doc = etree.parse(str(out.path))
    item = doc.find(f".//{{{NS}}}ItemData")
    item.set("IsNull", "No")  # not an allowed value
    with pytest.raises(DataError, match="ODM 1.3.2 schema"):
        validate(doc)
    bad = tmp_path / "bad.xml"
    doc.write(str(bad))
    with pytest.raises(DataError, match="line"):
        import_odm(care_trial, ADMIN, bad)


def test_import_into_locked_trial_is_refused(fresh_care, tmp_path) -> None:  # type: ignore[no-untyped-def]
    care_trial = fresh_care("sqlite")
    build_trial(care_trial, n=1)
    out = write_odm(care_trial, ADMIN, tmp_path / "t.xml")
    target = fresh_care("sqlite")
    with target.unit_of_work(actor="admin") as uow:
        lock_trial(uow, ADMIN, "frozen for the test")
        uow.commit()
    with pytest.raises(TrialLocked, match="is locked"):
        import_odm(target, ADMIN, out.path)
    assert snapshot(target)["participants"] == []
