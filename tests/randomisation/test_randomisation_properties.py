"""Properties by simulation (unequal ratios without drift, predictability facts) and the CLI.

Monte Carlo tolerances: shares within 4.5 standard errors of the simulated mean; the drift check
allows the mean overall imbalance at n to exceed that at n/2 by at most 0.35 (a drifting scheme grows
like sqrt(n): simple randomisation's grows by about 40%, several units, in the same setting).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from randomisation_fixtures import enrol, make_trial

from securebase.cli import main
from securebase.protocol import load_protocol
from securebase.randomisation import scheme_for
from securebase.randomisation.properties import simulate_properties
from securebase.trial.roles import Role

MC_Z = 4.5


@settings(max_examples=5, deadline=None)
@given(p=st.sampled_from([0.7, 0.8, 0.9, 1.0]), how=st.sampled_from(["range", "variance", "marginal"]),
       seed=st.integers(0, 2**31 - 1))
def test_two_to_one_gives_two_to_one_without_drift(p, how, seed) -> None:
    proto = load_protocol("ng26-care")
    scheme = scheme_for(proto, ratios=[2, 1], p=p, imbalance=how, initial_random=0)
    n, sims = 200, 400
    res = simulate_properties(scheme, n, sims, np.random.default_rng(seed))
    share = res.final_share[:, 0]
    se = max(share.std(ddof=1), 1e-3) / np.sqrt(sims)
    assert abs(share.mean() - 2 / 3) < MC_Z * se + 1 / n  # 1/n: the last allocation's granularity
    assert np.all(np.abs(res.share_trajectory[n // 2:, 0] - 2 / 3) < 0.01)
    assert res.trajectory_mean[-1] - res.trajectory_mean[n // 2 - 1] < 0.35


def test_simple_randomisation_drifts_by_comparison() -> None:
    proto = load_protocol("ng26-care")
    res = simulate_properties(scheme_for(proto, method="simple", ratios=[2, 1]), 200, 400, np.random.default_rng(3))
    assert res.trajectory_mean[-1] - res.trajectory_mean[99] > 1.0


def test_predictability_facts() -> None:
    proto = load_protocol("ng26-care")
    rng = np.random.default_rng(8)
    simple = simulate_properties(scheme_for(proto, method="simple"), 120, 200, rng)
    assert all(np.allclose(g, 0.5) for g in simple.guess.values())  # nothing to learn from the past
    blocks = simulate_properties(scheme_for(proto, method="permuted_blocks", block_sizes=[2, 4]), 120, 200, rng)
    # 1:1 blocks: every earlier block is balanced, so the convergence guess is always right at a block end
    assert blocks.blocks["correct guess at block end (stratum convergence)"] == pytest.approx(1.0)
    assert 0 < blocks.blocks["certain, sizes known (start known)"] < blocks.blocks["certain, block size known"] < 1
    det = simulate_properties(scheme_for(proto, p=1.0, initial_random=0), 120, 200, rng)
    pref = det.guess["preferred arm (knows all)"]
    assert pref.min() >= 0.5 and pref.mean() > 0.85  # p = 1: certain except when arms tie


def test_cli_simulate_writes_table_json_and_plots(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "props"
    code = main(["randomisation", "simulate", "--protocol", "ng26-care", "--method", "minimisation", "--p", "0.8",
                 "--n", "60", "--sims", "50", "--seed", "1", "--out", str(out)])
    assert code == 0
    for name in ("properties.csv", "properties.json", "imbalance_overall.png", "imbalance_levels.png",
                 "predictability.png", "drift.png"):
        assert (out / name).stat().st_size > 0
    data = json.loads((out / "properties.json").read_text())
    assert data["seed"] == 1 and data["options"]["p"] == 0.8
    assert main(["randomisation", "simulate", "--method", "permuted_blocks", "--block-sizes", "3", "--n", "10",
                 "--sims", "5", "--out", str(out)]) == 2  # not a multiple of the ratio sum: a clear input error


def test_cli_randomise_and_unblind(tmp_path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from securebase.cli._common import console
    from securebase.store import open_store

    monkeypatch.setattr(console, "width", 200)

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = open_store(url)
    proto = load_protocol("ng26-care")
    make_trial(store, proto, users={"rec": (Role.site_recruiter, None), "assessor": (Role.outcome_assessor, None),
                                    "manager": (Role.trial_manager, None)})
    with store.unit_of_work(actor="rec") as uow:
        ids = enrol(uow, proto, 3)
        uow.commit()
    store.dispose()
    assert main(["randomise", ids[0], "--as", "rec", "--db", url, "--on", "2026-11-20"]) == 0
    shown = capsys.readouterr().out
    assert ids[0] in shown and "due 2027-05-22" in shown
    assert main(["randomisation", "show", ids[0], "--as", "assessor", "--db", url]) == 4
    err = capsys.readouterr()
    assert "blinded" in err.err and "intervention" not in err.err.lower() and "usual" not in err.err.lower()
    assert main(["unblind", "request", ids[0], "--as", "assessor", "--db", url, "--reason",
                 "Serious adverse event needs the allocation"]) == 0
    assert main(["unblind", "approve", "1", "--as", "manager", "--db", url]) == 0
    capsys.readouterr()
    assert main(["unblind", "reveal", "1", "--as", "assessor", "--db", url]) == 0
    assert ids[0] + " allocated to" in capsys.readouterr().out
    assert main(["unblind", "report", "--as", "manager", "--db", url]) == 0
    assert "approved" in capsys.readouterr().out
    assert main(["audit", "verify", "--db", url]) == 0
