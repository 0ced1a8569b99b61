"""The demo's linkage step: synthetic SSDA903 returns pass the DfE validator with no errors, and outcomes are
derived from the linked records."""

from __future__ import annotations

from pathlib import Path

import pytest
from trial_world import actor, build_world

from securebase.analysis.datasets import extract_datasets
from securebase.demo_linkage import run_linkage_demo


@pytest.mark.slow
def test_demo_extracts_pass_the_validator_and_give_outcomes(care_trial, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = care_trial
    build_world(store, n_per_site=2)
    got = run_linkage_demo(store, "ng26-care", tmp_path, seed=3, user="dm")
    assert got["ssda903_validator"].startswith("quality-lac-data-validator") and got["ssda903_rules_run"] > 100
    assert got["errors"] == 0 and got["records_linked"] > 0
    assert got["rates"]["pooled"]["ssda903"]["rate"] == 1.0 and "by_site_arm" not in got["rates"]  # dm is blinded
    assert sorted(p.name for p in (tmp_path / "linkage").glob("cin_*.xml")) == ["cin_LA01.xml", "cin_LA02.xml"]
    with store.read() as s:
        linked = extract_datasets(s, actor(store, "ustat")).participants
    assert linked["placement_end_time"].notna().all() and set(linked["placement_end_event"]) <= {0, 1, 2}
