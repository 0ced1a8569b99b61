"""Provenance: software versions, a hash of the data snapshot, seeds and plan versions."""

from __future__ import annotations

import hashlib
import platform
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import pandas as pd

PACKAGES = ("securebase", "numpy", "scipy", "pandas", "statsmodels", "SQLAlchemy", "matplotlib", "dask")


def frame_hash(*frames: pd.DataFrame) -> str:
    """sha256 of the analysis frames in a canonical CSV form (sorted columns and rows)."""
    h = hashlib.sha256()
    for f in frames:
        g = f.reindex(sorted(f.columns), axis=1)
        if "participant_id" in g.columns:
            g = g.sort_values([c for c in ("participant_id", "visit_month", "item", "period_start_days") if c in g.columns])
        h.update(g.to_csv(index=False, float_format="%.10g").encode("utf-8"))  # not a file: hashed only
    return h.hexdigest()


def software_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for p in PACKAGES:
        try:
            out[p] = version(p)
        except PackageNotFoundError:
            out[p] = "not installed"
    return out


def provenance(*, data_hash: str, seeds: dict[str, Any], plans: dict[str, str], trial: str,
               protocol_version: str) -> dict[str, Any]:
    return {"generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "trial": trial,
            "protocol_version": protocol_version, "data_snapshot_sha256": data_hash, "seeds": seeds,
            "plans": plans, "software": software_versions()}
