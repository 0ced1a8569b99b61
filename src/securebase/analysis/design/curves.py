"""Power curves over a grid of scenarios: a table and a PNG plot.

Each grid point is a :class:`~securebase.analysis.design.power.PowerScenario` with some parameters
replaced; every point uses the same seed (common random numbers), so differences between points are not
blurred by independent Monte Carlo noise. ``effect_d`` in a grid means the effect (SD units) of the
analysed outcome; other keys are fields of :class:`SimulationParameters` (``n_participants``,
``placement_hr``, ``maltreatment_or``, ``retention_12``, ``therapist_icc``, ...).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from securebase.analysis.design.outcomes import ContinuousOutcome
from securebase.analysis.design.parameters import SimulationParameters
from securebase.analysis.design.power import PowerScenario, simulate_power
from securebase.errors import FieldError


def parse_grid(text: str) -> dict[str, list[float]]:
    """``"n_participants=200,300,400;effect_d=0.2,0.3"`` -> {name: values}."""
    grid: dict[str, list[float]] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, sep, values = part.partition("=")
        if not sep:
            raise FieldError("grid", part, "NAME=v1,v2,... with entries separated by ';'",
                             "e.g. --grid 'n_participants=200,300,400'")
        try:
            grid[name.strip()] = [float(v) for v in values.split(",") if v.strip()]
        except ValueError:
            raise FieldError(f"grid {name.strip()}", values, "comma-separated numbers") from None
    return grid


def apply_point(base: PowerScenario, point: dict[str, float]) -> PowerScenario:
    """The scenario with the grid point's values put in."""
    params = base.params
    upd: dict[str, Any] = {}
    for name, value in point.items():
        if name == "effect_d":
            if base.analysis not in ("ancova", "ttest"):
                raise FieldError("grid", name, "used with ancova or ttest only")
            outs = dict(params.outcomes)
            outs[base.outcome] = outs[base.outcome].model_copy(update={"effect_d": value})
            upd["outcomes"] = outs
        elif name in SimulationParameters.model_fields:
            ann = SimulationParameters.model_fields[name].annotation
            upd[name] = int(value) if ann is int else value
        else:
            raise FieldError("grid", name, "effect_d or a simulator parameter", "see docs/design.md")
    new = SimulationParameters.model_validate({**params.model_dump(), **upd})
    return base.model_copy(update={"params": new})


def _closed_form(sc: PowerScenario) -> float | None:
    """Approximate closed-form ANCOVA/t-test power with the expected 12-month completers (ignores clustering
    and rounding); None for the other analyses."""
    if sc.analysis not in ("ancova", "ttest"):
        return None
    p = sc.params
    o = p.outcomes[sc.outcome]
    if o.effect_points == 0:
        return sc.alpha
    n_int = round(p.n_participants * p.allocation_ratio / (1 + p.allocation_ratio))
    keep = p.retention_12 if p.missing_mechanism != "none" else 1.0
    rho = o.rho if sc.analysis == "ancova" else 0.0
    spec = ContinuousOutcome(o.effect_points, o.sd, rho, ancova="exact")
    return spec.power(n_int * keep, (p.n_participants - n_int) * keep, sc.alpha)


@dataclass(frozen=True)
class PowerCurve:
    """One row per grid point: the grid values, power with its interval, type I error, bias, coverage."""

    table: pd.DataFrame
    grid: dict[str, list[float]]

    def summary(self) -> str:
        return self.table.to_string(index=False, float_format=lambda x: f"{x:.4g}")

    def to_dict(self) -> dict[str, Any]:
        return {"grid": self.grid, "rows": self.table.to_dict(orient="records")}

    def plot(self, path: Path | str, title: str = "Power by simulation") -> Path:
        """Power against the first grid variable, one line per combination of the others (PNG)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        keys = list(self.grid)
        x = keys[0]
        fig, ax = plt.subplots(figsize=(6.5, 4.2))
        groups = self.table.groupby(keys[1:]) if len(keys) > 1 else [((), self.table)]
        for label, g in groups:
            g = g.sort_values(x)
            err = [g["power"] - g["power_lo"], g["power_hi"] - g["power"]]
            name = ", ".join(f"{k}={v:g}" for k, v in zip(keys[1:], label if isinstance(label, tuple) else (label,),
                                                          strict=False)) or "simulated"
            ax.errorbar(g[x], g["power"], yerr=err, marker="o", capsize=3, label=name)
            if g["closed_form"].notna().any():
                ax.plot(g[x], g["closed_form"], ls="--", color="grey", lw=1)
        ax.axhline(0.8, color="lightgrey", lw=0.8)
        ax.axhline(0.9, color="lightgrey", lw=0.8)
        ax.set_xlabel(x)
        ax.set_ylabel("power")
        ax.set_ylim(0, 1)
        ax.set_title(title)
        ax.legend(fontsize=8)
        fig.tight_layout()
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=120)
        plt.close(fig)
        return out


def power_curve(base: PowerScenario, grid: dict[str, list[float]], *, n_sims: int = 1000, seed: int = 20261126,
                batch_size: int = 500, scheduler: str | None = None, workers: int = 1, progress: bool = False,
                cache_dir: Any = None) -> PowerCurve:
    """Simulated power at every point of the grid's Cartesian product."""
    if not grid:
        raise FieldError("grid", grid, "at least one NAME=values entry")
    rows = []
    for values in itertools.product(*grid.values()):
        point = dict(zip(grid, values, strict=True))
        sc = apply_point(base, point)
        r = simulate_power(sc, n_sims=n_sims, seed=seed, batch_size=batch_size, scheduler=scheduler,
                           workers=workers, progress=progress, cache_dir=cache_dir)
        cf = _closed_form(sc)
        rows.append({**point, "power": r.power, "power_lo": r.power_ci[0], "power_hi": r.power_ci[1],
                     "type_one_error": r.type_one_error, "bias": r.bias, "coverage": r.coverage,
                     "closed_form": cf if cf is not None else float("nan"), "n_sims": r.n_sims})
    return PowerCurve(pd.DataFrame(rows), grid)
