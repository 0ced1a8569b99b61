"""A cohort Markov model declared in YAML: states, transition rows, treatment effects, costs, utilities.

``load_model("ng26-placement")`` (``builtin/ng26-placement.yaml``) or a path. The file declares

* ``states`` (name, label), ``cycle_years``, ``cycles``, ``method`` (end, beginning, half_cycle),
  ``discount`` (3.5% costs and effects, NICE) and ``discount_sensitivity`` (1.5%);
* ``start``: the cohort's starting distribution per population (``care``, ``maltreatment``);
* ``transitions``: for each from-state, the Dirichlet parameter of its row (absorbing states: none);
* ``effects``: treatment effects in the intervention arm, each a relative-risk parameter multiplying the listed
  transitions for ``years`` cycles; the probability moved off a transition goes to the row's ``sink`` state
  (by default the state itself), so each row still sums to 1 (Briggs et al. 2006, ex. 2.5); a relative risk
  above 1 takes probability from the sink and never more than it holds, so no probability goes negative;
* ``state_costs``, ``state_utilities``: a parameter per state (annual cost; utility), and
  ``intervention_cost``: a parameter charged at time 0 in the intervention arm;
* ``parameters``: the parameters file (``parameters.py``), each with its distribution, group and source.

:meth:`MarkovModel.evaluate` runs both arms for any number of parameter samples at once (vectorised);
:meth:`MarkovModel.evaluate_loop` does the same sample by sample in plain Python (benchmark reference).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from securebase.analysis.economics.model.cohort import check_transitions, run_cohort
from securebase.analysis.economics.model.parameters import ParameterSet, parse_parameters
from securebase.errors import DataError, ProtocolError

BUILTIN_DIR = Path(__file__).parent / "builtin"
BUILTIN_MODELS = ("ng26-placement",)


class _M(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class State(_M):
    name: str
    label: str = ""


class Effect(_M):
    parameter: str
    transitions: tuple[tuple[str, str], ...]
    sink: dict[str, str] = Field(default_factory=dict, description="from-state -> state receiving avoided moves")
    years: float = Field(2, gt=0, description="cycles of effect in years (then usual-care transitions)")


class Discount(_M):
    costs: float = Field(0.035, ge=0, le=0.2)
    effects: float = Field(0.035, ge=0, le=0.2)


class ModelSpec(_M):
    name: str
    title: str = ""
    currency: str = "GBP"
    price_year: str = "2023/24"
    perspective: str = "NHS and personal social services (children's social care included)"
    states: tuple[State, ...]
    cycle_years: float = Field(1.0, gt=0)
    cycles: int = Field(10, ge=1)
    method: Literal["end", "beginning", "half_cycle"] = "half_cycle"
    discount: Discount = Discount()
    discount_sensitivity: Discount = Discount(costs=0.015, effects=0.015)
    start: dict[str, dict[str, float]]
    transitions: dict[str, str]
    effects: tuple[Effect, ...] = ()
    state_costs: dict[str, str]
    state_utilities: dict[str, str]
    intervention_cost: str
    notes: str = ""

    @model_validator(mode="after")
    def _names(self) -> ModelSpec:
        names = [s.name for s in self.states]
        for where, keys in (("start", [k for d in self.start.values() for k in d]),
                            ("transitions", list(self.transitions)), ("state_costs", list(self.state_costs)),
                            ("state_utilities", list(self.state_utilities)),
                            ("effects", [s for e in self.effects for t in e.transitions for s in t])):
            bad = [k for k in keys if k not in names]
            if bad:
                raise ValueError(f"{where}|names unknown state(s) {bad}; the states are {names}")
        for pop, dist in self.start.items():
            if abs(sum(dist.values()) - 1) > 1e-9:
                raise ValueError(f"start.{pop}|the starting distribution must sum to 1 (got "
                                 f"{sum(dist.values()):.6g}: {dist})")
        return self


@dataclass(frozen=True)
class ArmOutcomes:
    cost: np.ndarray
    qaly: np.ndarray
    trace: np.ndarray


class MarkovModel:
    def __init__(self, spec: ModelSpec, params: ParameterSet, file: str | None = None) -> None:
        self.spec, self.params = spec, params
        self.states = tuple(s.name for s in spec.states)
        self.index = {s: i for i, s in enumerate(self.states)}
        for row, pname in spec.transitions.items():
            p = params[pname]
            if p.dist != "dirichlet":
                raise ProtocolError(f"parameter '{pname}' must be a Dirichlet row (got {p.dist})", file=file,
                                    field=f"transitions.{row}")
            bad = [s for s in p.counts or {} if s not in self.index]
            if bad:
                raise ProtocolError(f"parameter '{pname}' (row '{row}') has counts for unknown state(s) {bad}",
                                    file=file, field=f"parameters.{pname}.counts")
        for pname in [*spec.state_costs.values(), *spec.state_utilities.values(), spec.intervention_cost,
                      *[e.parameter for e in spec.effects]]:
            if pname not in params.params:
                raise ProtocolError(f"the model refers to parameter '{pname}', which is not defined (defined: "
                                    f"{', '.join(sorted(params.params))})", file=file, field="parameters")
        # every row must sum to 1 at the means: a clear error for a malformed model
        try:
            check_transitions(self.matrix(params.points()), self.states,
                              what=f"model '{spec.name}' transition matrix")
        except DataError as err:
            raise ProtocolError(str(err), file=file, field="transitions") from None

    # -- building blocks -------------------------------------------------------------------------------------
    def matrix(self, values: dict[str, Any]) -> np.ndarray:
        """Usual-care transition matrix, (S, S) for point values or (N, S, S) for samples."""
        S = len(self.states)
        first = values[next(iter(self.spec.transitions.values()))] if self.spec.transitions else np.zeros(1)
        lead = np.asarray(first).shape[:-1]
        P = np.zeros((*lead, S, S))
        for s in self.states:
            i = self.index[s]
            if s not in self.spec.transitions:
                P[..., i, i] = 1.0  # absorbing
                continue
            pname = self.spec.transitions[s]
            row = np.asarray(values[pname], dtype=float)
            for k, to in enumerate(self.params[pname].counts or {}):
                P[..., i, self.index[to]] += row[..., k]
        return P

    def treated(self, P: np.ndarray, values: dict[str, Any]) -> np.ndarray:
        """Intervention-arm matrices per cycle, (..., T, S, S): effects applied for their years, then usual care."""
        T = self.spec.cycles
        out = np.broadcast_to(P[..., None, :, :], (*P.shape[:-2], T, *P.shape[-2:])).copy()
        t_years = np.arange(T) * self.spec.cycle_years
        for e in self.spec.effects:
            rr = np.asarray(values[e.parameter], dtype=float)[..., None]  # (..., 1) over cycles
            on = (t_years < e.years).astype(float)
            factor = 1 + (rr - 1) * on  # rr while the effect lasts, 1 after
            for a, b in e.transitions:
                i, j = self.index[a], self.index[b]
                sink = self.index[e.sink.get(a, a)]
                old = out[..., :, i, j].copy()
                new = np.minimum(old * factor, old + out[..., :, i, sink])  # cannot take more than the sink holds
                out[..., :, i, j] = new
                out[..., :, i, sink] = np.maximum(out[..., :, i, sink] + old - new, 0.0)
        return out

    def _payoffs(self, values: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        S = len(self.states)
        lead = np.asarray(values[self.spec.intervention_cost]).shape
        c, u = np.zeros((*lead, S)), np.zeros((*lead, S))
        for s, pn in self.spec.state_costs.items():
            c[..., self.index[s]] = np.asarray(values[pn]) * self.spec.cycle_years
        for s, pn in self.spec.state_utilities.items():
            u[..., self.index[s]] = np.asarray(values[pn]) * self.spec.cycle_years
        return c, u

    def start(self, population: str) -> np.ndarray:
        if population not in self.spec.start:
            raise DataError(f"the model has no starting distribution for population {population!r}; it has "
                            f"{sorted(self.spec.start)}")
        v = np.zeros(len(self.states))
        for s, p in self.spec.start[population].items():
            v[self.index[s]] = p
        return v

    # -- evaluation --------------------------------------------------------------------------------------------
    def evaluate(self, values: dict[str, Any], population: str, discount: Discount | None = None
                 ) -> dict[str, ArmOutcomes]:
        """Costs and QALYs per arm for point values (scalars) or N samples (arrays), all samples at once."""
        d = discount or self.spec.discount
        P = self.matrix(values)
        c, u = self._payoffs(values)
        kw = dict(states=self.states, cycles=self.spec.cycles, cycle_years=self.spec.cycle_years,
                  method=self.spec.method, discount={"cost": d.costs, "qaly": d.effects})
        init = self.start(population)
        usual = run_cohort(P[..., None, :, :], init, {"cost": c[..., None, :], "qaly": u[..., None, :]}, **kw)
        treat = run_cohort(self.treated(P, values), init, {"cost": c[..., None, :], "qaly": u[..., None, :]}, **kw)
        ic = np.asarray(values[self.spec.intervention_cost], dtype=float)
        return {"usual_care": ArmOutcomes(usual.totals["cost"], usual.totals["qaly"], usual.trace),
                "intervention": ArmOutcomes(treat.totals["cost"] + ic, treat.totals["qaly"], treat.trace)}

    def evaluate_loop(self, samples: dict[str, np.ndarray], population: str) -> dict[str, np.ndarray]:
        """The same model, one sample at a time in plain Python loops (no numpy in the inner loops)."""
        spec, S, T = self.spec, len(self.states), self.spec.cycles
        n = len(samples[spec.intervention_cost])
        init = list(self.start(population))
        rc, rq = 1 + spec.discount.costs, 1 + spec.discount.effects
        out = {k: [0.0] * n for k in ("cost_usual_care", "qaly_usual_care", "cost_intervention", "qaly_intervention")}
        rows = {s: (self.params[pn].counts or {}, samples[pn]) for s, pn in spec.transitions.items()}
        for k in range(n):
            P = [[0.0] * S for _ in range(S)]
            for s in self.states:
                i = self.index[s]
                if s not in rows:
                    P[i][i] = 1.0
                    continue
                names, arr = rows[s]
                for j, to in enumerate(names):
                    P[i][self.index[to]] += float(arr[k][j])
            cost = [0.0] * S
            util = [0.0] * S
            for s, pn in spec.state_costs.items():
                cost[self.index[s]] = float(samples[pn][k]) * spec.cycle_years
            for s, pn in spec.state_utilities.items():
                util[self.index[s]] = float(samples[pn][k]) * spec.cycle_years
            for arm in ("usual_care", "intervention"):
                m = init[:]
                tc = tq = 0.0
                prev_c = sum(m[i] * cost[i] for i in range(S))
                prev_q = sum(m[i] * util[i] for i in range(S))
                for t in range(T):
                    Pt = [r[:] for r in P]
                    if arm == "intervention":
                        for e in spec.effects:
                            if t * spec.cycle_years < e.years:
                                rr = float(samples[e.parameter][k])
                                for a, b in e.transitions:
                                    i, j = self.index[a], self.index[b]
                                    sink = self.index[e.sink.get(a, a)]
                                    old = Pt[i][j]
                                    new = min(old * rr, old + Pt[i][sink])
                                    Pt[i][j] = new
                                    Pt[i][sink] = max(Pt[i][sink] + old - new, 0.0)
                    m = [sum(m[i] * Pt[i][j] for i in range(S)) for j in range(S)]
                    dc, dq = rc ** -((t + 1) * spec.cycle_years), rq ** -((t + 1) * spec.cycle_years)
                    cur_c = sum(m[i] * cost[i] for i in range(S)) * dc
                    cur_q = sum(m[i] * util[i] for i in range(S)) * dq
                    if spec.method == "half_cycle":
                        tc += 0.5 * (prev_c + cur_c)
                        tq += 0.5 * (prev_q + cur_q)
                    elif spec.method == "end":
                        tc += cur_c
                        tq += cur_q
                    else:
                        tc += prev_c
                        tq += prev_q
                    prev_c, prev_q = cur_c, cur_q
                if arm == "intervention":
                    tc += float(samples[spec.intervention_cost][k])
                out[f"cost_{arm}"][k] = tc
                out[f"qaly_{arm}"][k] = tq
        return {k: np.array(v) for k, v in out.items()}


def parse_model(data: Any, file: str = "<model>") -> MarkovModel:
    if not isinstance(data, dict):
        raise ProtocolError("a model file must be a YAML mapping", file=file)
    data = dict(data)
    params = parse_parameters(data.pop("parameters", None), file=file)
    try:
        spec = ModelSpec.model_validate(data)
    except ValidationError as err:
        e = err.errors()[0]
        loc = ".".join(str(p) for p in e["loc"])
        msg = str(e["msg"]).removeprefix("Value error, ")
        if not loc and "|" in msg:  # a whole-model check names its own field
            loc, msg = msg.split("|", 1)
            raise ProtocolError(msg, file=file, field=loc) from None
        raise ProtocolError(f"{msg} (got {e.get('input')!r})", file=file, field=loc) from None
    return MarkovModel(spec, params, file=file)


def load_model(name_or_path: str | Path) -> MarkovModel:
    p = Path(name_or_path)
    if str(name_or_path) in BUILTIN_MODELS:
        p = BUILTIN_DIR / f"{name_or_path}.yaml"
    elif not p.exists():
        raise ProtocolError(f"no model file or built-in model named {str(name_or_path)!r}; built-in models: "
                            f"{', '.join(BUILTIN_MODELS)}", file=str(name_or_path))
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise ProtocolError(f"cannot read the model: {err}", file=str(p)) from None
    return parse_model(data, file=str(p))
