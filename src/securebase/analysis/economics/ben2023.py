"""The Ben et al. (2023) tutorial layout: one row per participant, costs and utilities per 3-month period.

Columns ``id, age, sex, Tr`` (1 = intervention), ``C``/``E`` baseline cost and utility, ``Cm1..Cm4`` costs
of each 3-month period and ``Em1..Em4`` utilities at 3, 6, 9 and 12 months (Ben ÂJ et al., "Conducting
Trial-Based Economic Evaluations Using R: A Tutorial", PharmacoEconomics 2023;41:1403; data CC BY 4.0,
github.com/angelajben/R-Tutorial). Analysis: total cost = Cm1 + ... + Cm4; QALY by area under the curve
in quarter-year steps; SUR of ``Tcosts ~ Tr + C + age + sex`` and ``QALY ~ Tr + E + age + sex``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from securebase.analysis.economics.decision import DIRECTION, DecisionResult, decide
from securebase.analysis.economics.engine import JointCostQaly, JointResult
from securebase.analysis.economics.mi import PMMImputer
from securebase.analysis.economics.qaly import DAYS_PER_YEAR, auc_qaly
from securebase.analysis.economics.sur import SUR, SURResult
from securebase.cells import frame_to_csv
from securebase.errors import DataError

COLUMNS = ("id", "age", "sex", "Tr", "C", "E", "Cm1", "Em1", "Cm2", "Em2", "Cm3", "Em3", "Cm4", "Em4")
COSTS = ("Cm1", "Cm2", "Cm3", "Cm4")
UTILITIES = ("E", "Em1", "Em2", "Em3", "Em4")
FOLLOW_UP = ("Cm1", "Em1", "Cm2", "Em2", "Cm3", "Em3", "Cm4", "Em4")


def check(df: pd.DataFrame) -> pd.DataFrame:
    """Validate the layout: every column present, costs >= 0, utilities <= 1, Tr coded 0/1."""
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"the Ben et al. (2023) layout needs columns {list(COLUMNS)}; missing {missing}")
    for c in ("C", *COSTS):
        v = df[c].to_numpy(dtype=float)
        bad = np.flatnonzero(v < 0)
        if bad.size:
            raise DataError(f"cost '{c}' must be >= 0 (got {float(v[bad[0]])!r}) for participant id "
                            f"{df['id'].iloc[bad[0]]}; correct the data before the analysis")
    for c in UTILITIES:
        v = df[c].to_numpy(dtype=float)
        bad = np.flatnonzero(v > 1)
        if bad.size:
            raise DataError(f"utility '{c}' must be at most 1 (got {float(v[bad[0]])!r}) for participant id "
                            f"{df['id'].iloc[bad[0]]}; correct the data before the analysis")
    if not set(pd.unique(df["Tr"])) <= {0, 1}:
        raise DataError(f"'Tr' must be 1 (intervention) or 0 (usual care) (got {sorted(pd.unique(df['Tr']).tolist())})")
    return df


def derive(df: pd.DataFrame) -> pd.DataFrame:
    """Add ``Tcosts`` and ``QALY`` (AUC with linear interpolation, quarter-year steps, no discounting)."""
    out = df.copy()
    out["Tcosts"] = out[list(COSTS)].sum(axis=1, skipna=False)
    days = np.arange(5) * DAYS_PER_YEAR / 4
    out["QALY"] = auc_qaly(out[list(UTILITIES)].to_numpy(dtype=float), days, rate=0.0)
    return out


def estimator(*, m: int = 5, n_boot: int = 5000, seed: int = 1, batch_size: int = 1000,
              scheduler: str | None = None, workers: int = 1) -> JointCostQaly:
    """The tutorial's pipeline: PMM by arm (m sets; ``id`` and ``Tr`` not predictors), SUR, bootstrap."""
    return JointCostQaly("Tcosts", "QALY", "Tr", ("C", "age", "sex"), ("E", "age", "sex"), n_boot=n_boot,
                         seed=seed, batch_size=batch_size, imputer=PMMImputer(m=m), impute_columns=FOLLOW_UP,
                         impute_exclude=("id",), derive=derive, scheduler=scheduler, workers=workers)


def complete_case(df: pd.DataFrame) -> pd.DataFrame:
    d = derive(check(df))
    return d.dropna(subset=["Tcosts", "QALY"])


@dataclass(frozen=True)
class Ben2023Result:
    """Joint estimation (MI, SUR, bootstrap, Rubin) and decision outputs on the tutorial layout."""

    joint: JointResult
    decision: DecisionResult
    complete_case: SURResult
    n: int

    def to_dict(self) -> dict[str, Any]:
        return {"layout": "ben2023", "direction": DIRECTION, "n": self.n, "joint": self.joint.to_dict(),
                "complete_case_sur": self.complete_case.to_dict(), "decision": self.decision.to_dict()}

    def summary(self) -> str:
        return (f"Ben et al. (2023) layout, n = {self.n}, {self.joint.pooled.m} imputed set(s), "
                f"{self.joint.n_boot} bootstrap replicates each\n" + self.decision.summary())

    def write(self, out_dir: Path) -> list[Path]:
        from securebase.analysis.economics.plots import plot_all

        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = [out_dir / "economics.json", out_dir / "summary.txt", out_dir / "curves.csv"]
        paths[0].write_text(json.dumps(self.to_dict(), indent=1, default=float), encoding="utf-8")
        paths[1].write_text(self.summary() + "\n", encoding="utf-8")
        frame_to_csv(pd.DataFrame(self.decision.to_dict()["curves"]), paths[2], index=False)
        return paths + plot_all(self.decision, out_dir)


def analyse(df: pd.DataFrame, *, m: int = 5, n_boot: int = 5000, seed: int = 1, batch_size: int = 1000,
            wtp: Sequence[float] | None = None, thresholds: Sequence[float] = (20_000, 30_000),
            scheduler: str | None = None, workers: int = 1) -> Ben2023Result:
    """Run the tutorial's whole pipeline and the decision outputs on a data frame in its layout."""
    check(df)
    est = estimator(m=m, n_boot=n_boot, seed=seed, batch_size=batch_size, scheduler=scheduler, workers=workers)
    joint = est.fit(df)
    grid = list(wtp) if wtp is not None else [float(k) for k in range(0, 80_001, 1000)]
    dec = decide(joint.pooled.estimate, joint.pooled.total, joint.stacked, grid, thresholds)
    cc = SUR(est.equations).fit(complete_case(df))
    return Ben2023Result(joint, dec, cc, len(df))
