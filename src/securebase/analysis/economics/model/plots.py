"""PNG figures of a model analysis: state diagram, CEAC (with CEAF), tornado, EVPPI by parameter group."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from securebase.analysis.economics.decision import DIRECTION
from securebase.analysis.economics.model.analysis import ModelAnalysis
from securebase.analysis.economics.plots import _plt


def plot_structure(a: ModelAnalysis, path: Path) -> Path:
    plt = _plt()
    st = a.structure["states"]
    n = len(st)
    ang = np.pi / 2 - 2 * np.pi * np.arange(n) / n
    pos = {s["name"]: (np.cos(t) * 3.2, np.sin(t) * 2.4) for s, t in zip(st, ang, strict=False)}
    fig, ax = plt.subplots(figsize=(8, 6))
    treated = {(a_, b) for e in a.structure["effects"] for a_, b in e["transitions"]}
    for e in a.structure["transitions"]:
        if e["from"] == e["to"]:
            continue
        (x0, y0), (x1, y1) = pos[e["from"]], pos[e["to"]]
        col = "tab:red" if (e["from"], e["to"]) in treated else "grey"
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops=dict(
            arrowstyle="-|>", color=col, lw=0.6 + 4 * e["p"], shrinkA=28, shrinkB=28, connectionstyle="arc3,rad=0.12"))
    for s in st:
        x, y = pos[s["name"]]
        ax.text(x, y, s["name"].replace("_", "\n"), ha="center", va="center", fontsize=8,
                bbox=dict(boxstyle="round,pad=0.5", fc="white", ec="black"))
    ax.set_xlim(-4.3, 4.3)
    ax.set_ylim(-3.2, 3.2)
    ax.axis("off")
    ax.set_title(f"Model states ({a.structure['cycles']} cycles of {a.structure['cycle_years']:g} year); "
                 "red: transitions the intervention changes; width: annual probability", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_model_ceac(a: ModelAnalysis, path: Path) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    ax.plot(a.wtp, a.ceac, label="P(intervention cost-effective)")
    ax.plot(a.wtp, a.ceaf, ls="--", color="black", lw=0.9, label="CEAF (optimal option)")
    for k in a.thresholds:
        ax.axvline(k, color="grey", ls=":", lw=0.8)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("Willingness to pay per QALY (£)")
    ax.set_ylabel("Probability cost-effective")
    ax.set_title(f"Model CEAC ({a.n_samples:,} PSA samples; {DIRECTION})", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_tornado(a: ModelAnalysis, path: Path, top: int = 12) -> Path:
    plt = _plt()
    rows = a.tornado[:top][::-1]
    fig, ax = plt.subplots(figsize=(6.5, 0.35 * len(rows) + 1.4))
    base = rows[0]["base_inmb"] if rows else 0.0
    for i, r in enumerate(rows):
        lo, hi = r["inmb_low"], r["inmb_high"]
        ax.barh(i, lo - base, left=base, color="tab:blue", alpha=0.8, label="at the 2.5th percentile" if i == 0 else None)
        ax.barh(i, hi - base, left=base, color="tab:orange", alpha=0.8, label="at the 97.5th percentile" if i == 0 else None)
    ax.axvline(base, color="black", lw=0.8)
    ax.set_yticks(range(len(rows)), [r["parameter"] for r in rows], fontsize=7)
    ax.set_xlabel(f"INMB at £{a.thresholds[0]:,.0f}/QALY (£; {DIRECTION})")
    ax.set_title("One-way sensitivity (tornado)", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_evppi(a: ModelAnalysis, path: Path) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    ks = list(a.evppi)
    groups = list(a.evppi[ks[0]]) if ks else []
    w = 0.8 / max(len(ks), 1)
    for j, k in enumerate(ks):
        ax.bar(np.arange(len(groups)) + j * w, [a.evppi[k][g] for g in groups], width=w, label=f"£{float(k):,.0f}/QALY")
    ax.set_xticks(np.arange(len(groups)) + w * (len(ks) - 1) / 2, groups, fontsize=8)
    ax.set_ylabel("EVPPI per person (£)")
    ax.set_title("EVPPI by parameter group (GAM regression, Strong et al. 2014)", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_model_all(a: ModelAnalysis, out: Path) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    return {"structure": plot_structure(a, out / "model_structure.png"),
            "ceac": plot_model_ceac(a, out / "model_ceac.png"),
            "tornado": plot_tornado(a, out / "model_tornado.png"),
            "evppi": plot_evppi(a, out / "model_evppi.png")}
