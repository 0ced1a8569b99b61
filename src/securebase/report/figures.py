"""Report figures (matplotlib, rendered to PNG and embedded as data URIs)."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

ARM_COLOURS = {"intervention": "#1d4e89", "usual_care": "#c8553d", "all": "#3a3a3a"}


def _plt():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def to_data_uri(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    _plt().close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def trajectories(visits: pd.DataFrame, outcome: str, label: str, *, by_arm: bool,
                 arm_labels: dict[str, str]) -> str:
    """Mean (95% CI) of an outcome at each visit, by arm or pooled."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    groups = visits.groupby("arm") if by_arm else [("all", visits)]
    for arm, g in groups:
        s = g.groupby("visit_month")[outcome].agg(["mean", "std", "count"]).dropna()
        half = 1.96 * s["std"] / np.sqrt(s["count"].clip(lower=1))
        ax.errorbar(s.index, s["mean"], yerr=half, marker="o", capsize=3, label=arm_labels.get(arm, "All participants"),
                    color=ARM_COLOURS.get(arm, "#555"))
    ax.set_xlabel("Months from randomisation")
    ax.set_ylabel(label)
    ax.set_xticks(sorted(visits["visit_month"].unique()))
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return to_data_uri(fig)


def cumulative_incidence(part: pd.DataFrame, *, by_arm: bool, arm_labels: dict[str, str]) -> str:
    """Aalen-Johansen cumulative incidence of unplanned placement ending (competing events: adoption, return home)."""
    from securebase.analysis.effectiveness.survival import aalen_johansen

    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    groups = part.groupby("arm") if by_arm else [("all", part)]
    for arm, g in groups:
        d = g.dropna(subset=["placement_end_time", "placement_end_event"])
        if d.empty:
            continue
        cif = aalen_johansen(d["placement_end_time"].to_numpy(float), d["placement_end_event"].to_numpy(int), cause=1)
        ax.step(np.r_[0, cif["time"]] / 30.4375, np.r_[0, cif["cumulative_incidence"]], where="post",
                label=arm_labels.get(arm, "All participants"), color=ARM_COLOURS.get(arm, "#555"))
    ax.set_xlabel("Months from randomisation")
    ax.set_ylabel("Cumulative incidence")
    ax.set_title("Unplanned placement ending (competing: adoption, return home)", fontsize=10)
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    ticks = [0, 3, 6, 9, 12]
    ax.set_xticks(ticks)
    ax.set_xlim(0, 12.5)
    risk = numbers_at_risk(part, groups=part.groupby("arm") if by_arm else [("all", part)], months=ticks)
    ax.text(-0.05, -0.30, "Number at risk", transform=ax.transAxes, ha="right", fontsize=8, fontweight="bold")
    for k, (arm, counts) in enumerate(risk.items()):
        y = -0.38 - 0.08 * k
        ax.text(-0.05, y, arm_labels.get(arm, "All participants"), transform=ax.transAxes, ha="right", fontsize=8,
                color=ARM_COLOURS.get(arm, "#555"))
        for t, n in zip(ticks, counts, strict=True):
            ax.text(t, y, str(n), transform=ax.get_xaxis_transform(), ha="center", fontsize=8)
    return to_data_uri(fig)


def numbers_at_risk(part: pd.DataFrame, *, groups: Any, months: Sequence[int]) -> dict[str, list[int]]:
    """Participants still at risk (no event or censoring before the time) at each month, per group."""
    out = {}
    for arm, g in groups:
        t = g["placement_end_time"].dropna().to_numpy(float) / 30.4375
        out[str(arm)] = [int((t >= m).sum()) for m in months]
    return out


def forest(rows: Sequence[dict[str, Any]], *, xlabel: str, favours: tuple[str, str] | None = None,
           null: float = 0.0) -> str:
    """Subgroup forest plot: estimate and CI per subgroup level (labelled with n per arm), the overall
    estimate, and which arm each side of no effect favours."""
    plt = _plt()
    rows = [r for r in rows if r.get("estimate") is not None]
    n = len(rows)
    fig, ax = plt.subplots(figsize=(6.8, 0.42 * n + 1.5))
    for i, r in enumerate(rows):
        yv = n - 1 - i
        ax.plot([r["ci_lower"], r["ci_upper"]], [yv, yv], color="#1d4e89")
        ax.plot(r["estimate"], yv, "s" if not r.get("overall") else "D", color="#1d4e89" if not r.get("overall") else "#000")
    ax.axvline(null, color="#999", lw=1, ls="--")
    ax.set_yticks(range(n))
    ax.set_yticklabels([f"{r['label']} (n = {r['n']})" if r.get("n") else r["label"] for r in reversed(rows)],
                       fontsize=8)
    ax.set_xlabel(xlabel)
    if favours:
        ax.annotate(f"\u2190 {favours[0]}", xy=(0.0, -0.16 - 0.25 / max(n, 1)), xycoords="axes fraction",
                    ha="left", va="top", fontsize=8, color="#333")
        ax.annotate(f"{favours[1]} \u2192", xy=(1.0, -0.16 - 0.25 / max(n, 1)), xycoords="axes fraction",
                    ha="right", va="top", fontsize=8, color="#333")
    ax.grid(axis="x", alpha=0.3)
    return to_data_uri(fig)


def file_to_data_uri(path: Any) -> str:
    with open(path, "rb") as fh:
        return "data:image/png;base64," + base64.b64encode(fh.read()).decode("ascii")
