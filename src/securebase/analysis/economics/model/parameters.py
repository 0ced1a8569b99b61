"""Model parameters with a distribution each, from a YAML parameters file.

Each parameter has a ``name``, a ``group`` (for EVPPI by group), a ``source`` and one distribution:

* ``beta`` (probabilities, utilities): ``mean``, ``se`` -> alpha = m k, beta = (1 - m) k, k = m(1-m)/se^2 - 1;
* ``gamma`` (costs): ``mean``, ``se`` -> shape = m^2/se^2, scale = se^2/m;
* ``lognormal`` (relative risks): ``mean`` (the point estimate, taken as the median) and ``ci`` [low, high]
  (95%) -> log-scale mean ln(mean), sd (ln high - ln low) / (2 x 1.96); or ``se`` of the log;
* ``normal``: ``mean``, ``se``;
* ``dirichlet`` (a row of transition probabilities): ``counts`` {to-state: count}; the mean is counts / total;
* ``fixed``: ``value`` (not sampled).

Briggs, Claxton & Sculpher (2006, ch. 4) give these choices. Deterministic analyses use the means; the
one-way (tornado) range of a scalar parameter is its 2.5th-97.5th percentile unless ``low``/``high`` are given.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from scipy import stats

from securebase.errors import ProtocolError

Dist = Literal["beta", "gamma", "lognormal", "normal", "dirichlet", "fixed"]


class Parameter(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    dist: Dist
    group: str = "other"
    label: str = ""
    source: str = ""
    illustrative: bool = False
    mean: float | None = None
    se: float | None = Field(None, gt=0)
    ci: tuple[float, float] | None = None
    value: float | None = None
    counts: dict[str, float] | None = None
    low: float | None = None
    high: float | None = None

    @model_validator(mode="after")
    def _complete(self) -> Parameter:
        d = self.dist
        if d == "fixed" and self.value is None:
            raise ValueError(f"parameter '{self.name}': a fixed parameter needs 'value'")
        if d == "dirichlet":
            if not self.counts or any(not (v > 0) for v in self.counts.values()):
                raise ValueError(f"parameter '{self.name}': a Dirichlet needs 'counts', each > 0 (got {self.counts})")
        if d in ("beta", "gamma", "normal") and (self.mean is None or self.se is None):
            raise ValueError(f"parameter '{self.name}': a {d} distribution needs 'mean' and 'se'")
        if d == "beta" and self.mean is not None and self.se is not None:
            if not 0 < self.mean < 1 or self.se ** 2 >= self.mean * (1 - self.mean):
                raise ValueError(f"parameter '{self.name}': a beta needs 0 < mean < 1 and se^2 < mean(1 - mean) "
                                 f"(got mean {self.mean}, se {self.se})")
        if d == "gamma" and self.mean is not None and not self.mean > 0:
            raise ValueError(f"parameter '{self.name}': a gamma needs mean > 0 (got {self.mean})")
        if d == "lognormal":
            if self.mean is None or not self.mean > 0 or (self.ci is None and self.se is None):
                raise ValueError(f"parameter '{self.name}': a lognormal needs mean > 0 and 'ci' [low, high] or 'se'")
            if self.ci is not None and not 0 < self.ci[0] < self.mean < self.ci[1]:
                raise ValueError(f"parameter '{self.name}': ci must satisfy 0 < low < mean < high (got {self.ci})")
        return self

    @property
    def scipy(self) -> Any:
        """The frozen scipy distribution of a scalar parameter (None for dirichlet/fixed)."""
        m, se = self.mean, self.se
        if self.dist == "beta":
            k = m * (1 - m) / se ** 2 - 1
            return stats.beta(m * k, (1 - m) * k)
        if self.dist == "gamma":
            return stats.gamma(m ** 2 / se ** 2, scale=se ** 2 / m)
        if self.dist == "lognormal":
            sd = se if self.ci is None else (np.log(self.ci[1]) - np.log(self.ci[0])) / (2 * 1.959963984540054)
            return stats.lognorm(sd, scale=m)
        if self.dist == "normal":
            return stats.norm(m, se)
        return None

    def point(self) -> float | np.ndarray:
        if self.dist == "fixed":
            return float(self.value)
        if self.dist == "dirichlet":
            c = np.array(list(self.counts.values()), dtype=float)
            return c / c.sum()
        return float(self.mean)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        if self.dist == "fixed":
            return np.full(n, float(self.value))
        if self.dist == "dirichlet":
            g = rng.gamma(np.array(list(self.counts.values()), dtype=float), size=(n, len(self.counts)))
            return g / g.sum(axis=1, keepdims=True)
        return self.scipy.rvs(size=n, random_state=rng)

    def range(self) -> tuple[float, float]:
        """Tornado range: (low, high) if given, else the 2.5th and 97.5th percentiles."""
        if self.dist in ("fixed", "dirichlet"):
            raise ValueError(f"parameter '{self.name}' has no one-way range ({self.dist})")
        d = self.scipy
        return (self.low if self.low is not None else float(d.ppf(0.025)),
                self.high if self.high is not None else float(d.ppf(0.975)))


class ParameterSet:
    """Named parameters; ``points()`` and ``sample(n)`` return name -> value (scalar/vector or (n,)/(n, k))."""

    def __init__(self, params: list[Parameter]) -> None:
        names = [p.name for p in params]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ProtocolError(f"parameter name(s) {sorted(dup)} appear more than once; names must be unique",
                                field="parameters")
        self.params = {p.name: p for p in params}

    def __getitem__(self, name: str) -> Parameter:
        if name not in self.params:
            raise ProtocolError(f"the model refers to parameter '{name}', which the parameters file does not define "
                                f"(defined: {', '.join(sorted(self.params))})", field="parameters")
        return self.params[name]

    def points(self) -> dict[str, Any]:
        return {n: p.point() for n, p in self.params.items()}

    def sample(self, n: int, seed: int | np.random.Generator = 1) -> dict[str, np.ndarray]:
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        return {name: p.sample(n, rng) for name, p in self.params.items()}

    def groups(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for p in self.params.values():
            if p.dist != "fixed":
                out.setdefault(p.group, []).append(p.name)
        return out

    def replace(self, **changes: Parameter) -> ParameterSet:
        return ParameterSet([changes.get(n, p) for n, p in self.params.items()])

    def to_list(self) -> list[dict[str, Any]]:
        return [p.model_dump(exclude_none=True) for p in self.params.values()]


def parse_parameters(items: Any, file: str = "<parameters>") -> ParameterSet:
    if not isinstance(items, list):
        raise ProtocolError("'parameters' must be a list of parameters", file=file, field="parameters")
    out = []
    for i, it in enumerate(items):
        try:
            out.append(Parameter.model_validate(it))
        except ValidationError as err:
            e = err.errors()[0]
            loc = ".".join(str(p) for p in e["loc"])
            name = it.get("name", f"number {i + 1}") if isinstance(it, dict) else f"number {i + 1}"
            raise ProtocolError(f"parameter {name!r}: {e['msg']} (got {e.get('input')!r})", file=file,
                                field=f"parameters.{i}" + (f".{loc}" if loc else "")) from None
    return ParameterSet(out)
