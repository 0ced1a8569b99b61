"""Demo step: the decision model beyond the trial, run on the demo trial (synthetic data only).

The closed report runs the model linked to the trial (``report.from_store.run_model_for_report``) and
writes ``<out>/economics_model/``; :func:`model_summary` prints what it found. :func:`run_on_demo_data` runs
it again from the demo's analysis datasets (``<out>/data/participants.csv``) without the store, e.g.
``python -m securebase.demo_econ demo-output``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
from rich.console import Console


def model_summary(out: Path, console: Console) -> dict | None:
    f = out / "economics_model" / "model.json"
    if not f.exists():
        console.print("Decision model: not run (no economics_model/model.json)")
        return None
    d = json.loads(f.read_text(encoding="utf-8"))
    base = d["deterministic"]["base"]
    t = d["psa"]["thresholds"].get("20000", {})
    ev = d["evppi"].get("20000", {})
    top = max(ev, key=ev.get) if ev else "-"
    console.print(f"Decision model ({d['model']}, {d['n_samples']:,} PSA samples; {d['direction']}): incremental "
                  f"cost £{base['incremental_cost']:,.0f}, QALYs {base['incremental_qaly']:.4f}; at £20,000/QALY "
                  f"P(cost-effective) {t.get('prob_cost_effective', float('nan')):.2f}, EVPI £"
                  f"{t.get('evpi_per_person', float('nan')):,.0f} per child; largest EVPPI: {top}. "
                  f"Files in {f.parent}")
    return d


def run_on_demo_data(out: Path, seed: int = 1, n_samples: int = 2000, console: Console | None = None):
    from securebase.analysis.economics.model.trial_link import run_trial_model

    console = console or Console()
    part = pd.read_csv(out / "data" / "participants.csv")
    a = run_trial_model(part, out / "economics_model", seed=seed, n_samples=n_samples)
    model_summary(out, console)
    return a


if __name__ == "__main__":  # pragma: no cover - manual use
    run_on_demo_data(Path(sys.argv[1] if len(sys.argv) > 1 else "demo-output"))
