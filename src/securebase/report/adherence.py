"""Adherence and dose: sessions offered and attended, and compliance with the protocol's threshold.

Closed report: by arm (the intervention arm carries the sessions; usual care none by design).
Open report: pooled over the trial (total sessions delivered, attendance among the sessions offered),
with no number that splits the arms.
"""

from __future__ import annotations

from typing import Any

import pandas as pd


def _dist(x: pd.Series) -> str:
    x = pd.to_numeric(x, errors="coerce").dropna()
    if x.empty:
        return "–"
    q1, med, q3 = x.quantile([0.25, 0.5, 0.75])
    return f"{x.mean():.1f} ({x.std(ddof=1) if len(x) > 1 else 0:.1f}); median {med:.0f} (IQR {q1:.0f} to {q3:.0f})"


def adherence_section(part: pd.DataFrame, protocol: Any, *, closed: bool,
                      arm_labels: dict[str, str]) -> dict[str, Any] | None:
    """Rows of the adherence table; None when the frame has no session columns (a blinded extraction)."""
    if not {"sessions_offered", "sessions_attended"} <= set(part.columns):
        return None
    arm = protocol.intervention_arm
    threshold = arm.compliance_threshold_sessions
    planned = getattr(arm, "sessions", None)
    if closed and "arm" in part.columns:
        groups = [(arm_labels.get(a, a), g) for a, g in part.groupby("arm")]
        header = ["Measure"] + [f"{name} (n = {len(g)})" for name, g in groups]
        rows = [["Sessions offered, mean (SD)"] + [_dist(g["sessions_offered"]) for _, g in groups],
                ["Sessions attended, mean (SD)"] + [_dist(g["sessions_attended"]) for _, g in groups],
                ["Attended at least one session, n (%)"]
                + [f"{int((g['sessions_attended'] > 0).sum())} ({100 * (g['sessions_attended'] > 0).mean():.0f}%)"
                   for _, g in groups]]
        if threshold is not None and "complier" in part.columns:
            rows.append([f"Complied (attended at least {threshold} sessions), n (%)"]
                        + [f"{int(g['complier'].sum())} ({100 * g['complier'].mean():.0f}%)" for _, g in groups])
        note = ("Usual care has no trial sessions by design. Compliance defines the per-protocol set and the "
                "complier average causal effect.")
    else:
        offered, attended = int(part["sessions_offered"].sum()), int(part["sessions_attended"].sum())
        header = ["Measure", "All participants (pooled)"]
        rows = [["Intervention sessions offered, total", str(offered)],
                ["Sessions attended, total (% of offered)",
                 f"{attended} ({100 * attended / offered:.0f}%)" if offered else "0"]]
        note = "Pooled over the trial; adherence by arm is in the closed report."
    if planned:
        note += f" The protocol plans {planned} sessions."
    return {"header": header, "rows": rows, "note": note}
