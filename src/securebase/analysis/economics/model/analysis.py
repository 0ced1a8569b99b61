"""Run a decision model: deterministic results, PSA, CEAC, tornado, EVPI, EVPPI by group and EVSI.

Every difference is intervention minus usual care. ``analyse_model(model, "care")`` returns a
:class:`ModelAnalysis` (``to_dict()`` for JSON; ``write_model_outputs`` for CSV/PNG).

* deterministic: parameters at their means, with the NICE 3.5% and the 1.5% sensitivity discount rates;
* PSA: ``n_samples`` joint draws from every parameter's distribution (Briggs et al. 2006, ch. 4), all run at
  once; CEAC = P(INB(k) > 0); CEAF for the two options (the CEAC of the option with the larger expected
  net benefit); EVPI(k) per person and for the population (``sum_{t<years} N/(1+r)^t``);
* one-way sensitivity (tornado): each scalar parameter at its 2.5th and 97.5th percentile, the others at
  their means, the INMB at the first threshold;
* EVPPI per parameter group by GAM regression (``voi.evppi``, Strong et al. 2014) at each threshold;
* EVSI of a proposed two-arm study of n per arm observing one-year placement disruption from a stable
  placement (events ~ Binomial(n, p) per arm; regression on the observed proportions, Strong et al. 2015).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from securebase.analysis.economics.decision import DIRECTION, population_multiplier
from securebase.analysis.economics.model.markov import MarkovModel
from securebase.analysis.economics.model.voi import evpi, evppi_groups, evsi


@dataclass(frozen=True)
class ModelAnalysis:
    model: str
    population: str
    deterministic: dict[str, Any]
    wtp: np.ndarray
    thresholds: tuple[float, ...]
    psa_inc_cost: np.ndarray = field(repr=False)
    psa_inc_qaly: np.ndarray = field(repr=False)
    ceac: np.ndarray = field(repr=False)
    ceaf: np.ndarray = field(repr=False)
    evpi: np.ndarray = field(repr=False)
    tornado: list[dict[str, Any]] = field(default_factory=list)
    evppi: dict[str, dict[str, float]] = field(default_factory=dict)
    evsi: list[dict[str, Any]] = field(default_factory=list)
    population_multiplier: float | None = None
    structure: dict[str, Any] = field(default_factory=dict)
    n_samples: int = 0
    seed: int = 0

    def at(self, k: float) -> dict[str, float]:
        i = int(np.argmin(np.abs(self.wtp - k)))
        inb = k * self.psa_inc_qaly - self.psa_inc_cost
        out = {"wtp": float(self.wtp[i]), "inmb_mean": float(inb.mean()), "prob_cost_effective": float(self.ceac[i]),
               "evpi_per_person": float(self.evpi[i])}
        if self.population_multiplier:
            out["evpi_population"] = float(self.evpi[i] * self.population_multiplier)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "population": self.population, "direction": DIRECTION,
                "n_samples": self.n_samples, "seed": self.seed, "deterministic": self.deterministic,
                "psa": {"incremental_cost_mean": float(self.psa_inc_cost.mean()),
                        "incremental_qaly_mean": float(self.psa_inc_qaly.mean()),
                        "thresholds": {f"{k:.0f}": self.at(k) for k in self.thresholds}},
                "curves": {"wtp": self.wtp.tolist(), "ceac": self.ceac.tolist(), "ceaf": self.ceaf.tolist(),
                           "evpi": self.evpi.tolist()},
                "tornado": self.tornado, "evppi": self.evppi, "evsi": self.evsi,
                "population_multiplier": self.population_multiplier, "structure": self.structure}


def _inc(res: dict) -> tuple[np.ndarray, np.ndarray]:
    return (np.asarray(res["intervention"].cost - res["usual_care"].cost),
            np.asarray(res["intervention"].qaly - res["usual_care"].qaly))


def structure(model: MarkovModel) -> dict[str, Any]:
    """States and the transitions allowed (from the Dirichlet rows), with the effects, for diagrams."""
    P = model.matrix(model.params.points())
    edges = [{"from": a, "to": b, "p": float(P[i, j])} for i, a in enumerate(model.states)
             for j, b in enumerate(model.states) if P[i, j] > 0]
    return {"states": [{"name": s.name, "label": s.label} for s in model.spec.states], "transitions": edges,
            "effects": [{"parameter": e.parameter, "transitions": [list(t) for t in e.transitions],
                         "years": e.years} for e in model.spec.effects],
            "cycles": model.spec.cycles, "cycle_years": model.spec.cycle_years, "method": model.spec.method,
            "discount": model.spec.discount.model_dump(), "perspective": model.spec.perspective}


def analyse_model(model: MarkovModel, population: str, *, n_samples: int = 5000, seed: int = 1,
                  wtp: Sequence[float] | None = None, thresholds: Sequence[float] = (20_000, 30_000),
                  annual_population: float | None = None, years: int = 10, evsi_sizes: Sequence[int] = (),
                  evppi_samples: int | None = None) -> ModelAnalysis:
    grid = np.union1d(np.asarray(wtp if wtp is not None else np.arange(0, 100_001, 1000), dtype=float),
                      np.asarray(thresholds, dtype=float))
    pts = model.params.points()
    det = {}
    for label, disc in (("base", model.spec.discount), ("discount_1_5", model.spec.discount_sensitivity)):
        r = model.evaluate(pts, population, discount=disc)
        dc, dq = (float(v) for v in _inc(r))
        det[label] = {"discount": disc.model_dump(), "cost_usual_care": float(r["usual_care"].cost),
                      "cost_intervention": float(r["intervention"].cost), "qaly_usual_care": float(r["usual_care"].qaly),
                      "qaly_intervention": float(r["intervention"].qaly), "incremental_cost": dc,
                      "incremental_qaly": dq, "icer": dc / dq if dq != 0 else None}
    samples = model.params.sample(n_samples, seed)
    dc, dq = _inc(model.evaluate(samples, population))
    ib = grid[:, None] * dq[None, :] - dc[None, :]
    ceac = (ib > 0).mean(axis=1)
    ceaf = np.where(ib.mean(axis=1) > 0, ceac, 1 - ceac)
    evpi_k = np.array([evpi(row) for row in ib])
    k0 = float(thresholds[0])
    tornado = []
    base_inmb = k0 * det["base"]["incremental_qaly"] - det["base"]["incremental_cost"]
    for name, p in model.params.params.items():
        if p.dist in ("fixed", "dirichlet"):
            continue
        lo, hi = p.range()
        vals = []
        for v in (lo, hi):
            c, q = _inc(model.evaluate({**pts, name: v}, population))
            vals.append(float(k0 * q - c))
        tornado.append({"parameter": name, "group": p.group, "low": lo, "high": hi, "inmb_low": vals[0],
                        "inmb_high": vals[1], "swing": abs(vals[1] - vals[0])})
    tornado.sort(key=lambda r: -r["swing"])
    for r in tornado:
        r["base_inmb"] = float(base_inmb)
    m = evppi_samples or min(n_samples, 3000)
    groups = model.params.groups()
    ev = {f"{k:.0f}": evppi_groups(k * dq[:m] - dc[:m], {n: samples[n][:m] for n in samples}, groups)
          for k in thresholds}
    mult = population_multiplier(annual_population, years, model.spec.discount.costs) if annual_population else None
    evsi_rows = []
    if evsi_sizes:
        P = model.matrix(samples)
        i = model.index["stable_placement"]
        bad = [model.index[s] for s in ("placement_moves", "residential") if s in model.index]
        p0 = np.clip(P[:, i, bad].sum(axis=1), 0, 1)
        rr = np.asarray(samples[model.spec.effects[0].parameter]) if model.spec.effects else np.ones(n_samples)
        p1 = np.clip(p0 * rr, 0, 1)
        rng = np.random.default_rng(seed + 1)
        for n in evsi_sizes:
            x = np.column_stack([rng.binomial(n, p0[:m]) / n, rng.binomial(n, p1[:m]) / n])
            row = {"n_per_arm": int(n)}
            for k in thresholds:
                v = evsi(k * dq[:m] - dc[:m], x)
                row[f"{k:.0f}"] = v
                if mult:
                    row[f"{k:.0f}_population"] = v * mult
            evsi_rows.append(row)
    return ModelAnalysis(model.spec.name, population, det, grid, tuple(float(t) for t in thresholds), dc, dq, ceac,
                         ceaf, evpi_k, tornado, ev, evsi_rows, mult, structure(model), n_samples, seed)
