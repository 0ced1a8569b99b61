"""Matplotlib figures (PNG): cost-effectiveness plane, CEAC (with CEAF) and EVPI curve.

Axes are labelled "intervention minus usual care" so the direction of every difference is on the figure.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from securebase.analysis.economics.decision import DIRECTION, DecisionResult


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_plane(res: DecisionResult, path: Path, title: str = "") -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 5))
    rep = res.replicates
    ax.scatter(rep[:, 1], rep[:, 0], s=3, alpha=0.15, color="tab:blue", label="bootstrap replicates")
    ax.scatter([res.incremental_qaly], [res.incremental_cost], color="tab:red", zorder=3, label="pooled estimate")
    ax.axhline(0, color="black", lw=0.8)
    ax.axvline(0, color="black", lw=0.8)
    lim = np.nanmax(np.abs(rep[:, 1])) * 1.1 if len(rep) else 1.0
    xs = np.array([-lim, lim])
    for k, ls in zip(res.thresholds, ("--", ":", "-."), strict=False):
        ax.plot(xs, k * xs, ls=ls, color="grey", label=f"{res.currency}{k:,.0f} per QALY")
    ax.set_xlim(-lim, lim)
    ax.set_xlabel(f"Incremental QALYs ({DIRECTION})")
    ax.set_ylabel(f"Incremental cost, {res.currency} ({DIRECTION})")
    ax.set_title(title or "Cost-effectiveness plane")
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_ceac(res: DecisionResult, path: Path, title: str = "") -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ax.plot(res.wtp, res.ceac_bootstrap, label="CEAC (bootstrap share)")
    ax.plot(res.wtp, res.ceac_normal, ls="--", label="CEAC (normal approximation, Rubin's rules)")
    ax.plot(res.wtp, res.ceaf, ls=":", color="black", label="CEAF (optimal option)")
    for k in res.thresholds:
        ax.axvline(k, color="grey", lw=0.6)
    ax.set_ylim(0, 1)
    ax.set_xlabel(f"Willingness to pay per QALY gained ({res.currency})")
    ax.set_ylabel("Probability the intervention is cost-effective")
    ax.set_title(title or f"Acceptability ({DIRECTION})")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_evpi(res: DecisionResult, path: Path, title: str = "") -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ax.plot(res.wtp, res.evpi, label="EVPI per person")
    for k in res.thresholds:
        ax.axvline(k, color="grey", lw=0.6)
    ax.set_xlabel(f"Willingness to pay per QALY gained ({res.currency})")
    ax.set_ylabel(f"EVPI per person ({res.currency})")
    if res.population_multiplier:
        sec = ax.secondary_yaxis("right", functions=(lambda y: y * res.population_multiplier,
                                                     lambda y: y / res.population_multiplier))
        sec.set_ylabel(f"Population EVPI ({res.currency})")
    ax.set_title(title or "Expected value of perfect information")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_all(res: DecisionResult, out_dir: Path, prefix: str = "") -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    return [plot_plane(res, out_dir / f"{prefix}ce_plane.png"), plot_ceac(res, out_dir / f"{prefix}ceac.png"),
            plot_evpi(res, out_dir / f"{prefix}evpi.png")]
