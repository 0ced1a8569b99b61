"""Report tables: baseline characteristics (no p-values), outcome summaries."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

CONTINUOUS = (("age_years", "Age (years)"), ("sdq_total_0", "SDQ total difficulties, carer"),
              ("rpq_total_0", "RPQ total"), ("kerns_mean_0", "Kerns security (mean)"),
              ("sensitivity_0", "Carer sensitivity (coded)"), ("utility_0", "Child utility (CHU9D)"),
              ("carer_utility_0", "Carer utility (EQ-5D-5L)"))
CATEGORICAL = (("sex", "Sex"), ("age_band", "Age band"), ("care_status", "Care status"),
               ("maltreatment_type", "Main maltreatment type"), ("site", "Site"))


#: readable labels of coded levels, in the order a reader expects (codes not listed keep their code and
#: follow in natural order: "5-10" before "11-17")
LEVEL_LABELS: dict[str, dict[str, str]] = {
    "age_band": {"5-10": "5 to 10 years", "11-17": "11 to 17 years"},
    "care_status": {"adopted": "Adopted", "special_guardianship": "Special guardianship", "foster": "Foster care",
                    "kinship": "Kinship care", "residential": "Residential care"},
    "maltreatment_type": {"sexual": "Sexual abuse", "physical": "Physical abuse", "emotional": "Emotional abuse",
                          "neglect": "Neglect"},
    "sex": {"female": "Female", "male": "Male", "F": "Female", "M": "Male", "other": "Other", "unknown": "Not known"},
}


def _natural(level: str) -> tuple:
    import re

    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", level))


def ordered_levels(col: str, values: list[str]) -> list[str]:
    """Levels of ``col`` in the declared order (LEVEL_LABELS), the rest in natural order."""
    known = list(LEVEL_LABELS.get(col, {}))
    return [v for v in known if v in values] + sorted((v for v in values if v not in known), key=_natural)


def level_label(col: str, level: str) -> str:
    return LEVEL_LABELS.get(col, {}).get(level, level.replace("_", " "))


def _mean_sd(x: pd.Series) -> str:
    x = pd.to_numeric(x, errors="coerce").dropna()
    if x.empty:
        return "–"
    d = 3 if x.abs().max() <= 1.0 else 1  # utilities (at most 1) need three decimals to be informative
    return f"{x.mean():.{d}f} ({x.std(ddof=1):.{d}f}); n = {len(x)}" if len(x) > 1 else f"{x.mean():.{d}f}; n = 1"


def baseline_table(part: pd.DataFrame, *, by_arm: bool, arm_labels: dict[str, str]) -> dict[str, Any]:
    """Rows of characteristic × column (arms, or all). CONSORT: no significance tests at baseline."""
    groups: list[tuple[str, pd.DataFrame]] = ([(arm_labels.get(a, a), g) for a, g in part.groupby("arm")]
                                              if by_arm else [])
    groups.append(("All participants", part))
    header = ["Characteristic"] + [f"{name} (n = {len(g)})" for name, g in groups]
    rows: list[list[str]] = []
    for col, label in CONTINUOUS:
        if col in part.columns and part[col].notna().any():
            rows.append([f"{label}, mean (SD)"] + [_mean_sd(g[col]) for _, g in groups])
    for col, label in CATEGORICAL:
        if col not in part.columns or part[col].isna().all():
            continue
        rows.append([f"{label}, n (%)"] + [""] * len(groups))
        for level in ordered_levels(col, list(part[col].dropna().astype(str).unique())):
            cells = []
            for _, g in groups:
                k = int((g[col].astype(str) == level).sum())
                cells.append(f"{k} ({100 * k / max(len(g), 1):.0f}%)")
            rows.append([f"  {level_label(col, level)}"] + cells)
    return {"header": header, "rows": rows}


def pooled_outcomes(part: pd.DataFrame, outcomes: list[tuple[str, str]]) -> dict[str, Any]:
    """Open report: pooled mean (SD) and completeness of each outcome at each visit, no arms."""
    header = ["Outcome", "Baseline", "6 months", "12 months", "Complete at 12 months"]
    rows = []
    n = len(part)
    for stem, label in outcomes:
        cells = []
        for m in (0, 6, 12):
            col = f"{stem}_{m}"
            cells.append(_mean_sd(part[col]) if col in part.columns else "–")
        col12 = f"{stem}_12"
        done = int(part[col12].notna().sum()) if col12 in part.columns else 0
        rows.append([label] + cells + [f"{done}/{n} ({100 * done / max(n, 1):.0f}%)"])
    return {"header": header, "rows": rows, "notes": []}


def fmt(x: Any, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "–"
    if isinstance(x, (int, np.integer)):
        return str(x)
    return f"{x:.{digits}f}"


def fmt_p(p: Any) -> str:
    if p is None or (isinstance(p, float) and not np.isfinite(p)):
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"
