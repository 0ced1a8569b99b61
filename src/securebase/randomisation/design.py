"""Building an allocation method from a protocol's ``stratification`` section."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from securebase.protocol.models import Protocol
from securebase.randomisation.blocks import PermutedBlocks
from securebase.randomisation.minimisation import Minimisation, SimpleRandomisation

Method = Minimisation | PermutedBlocks | SimpleRandomisation


@dataclass(frozen=True)
class Scheme:
    """A protocol's allocation scheme: the method, the factors with their levels, the arms."""

    method: Method
    factors: tuple[str, ...]
    levels: tuple[tuple[str, ...], ...]
    arms: tuple[str, ...]
    ratios: tuple[int, ...]

    @property
    def name(self) -> str:
        return self.method.method

    def strata(self) -> list[dict[str, str]]:
        """Every combination of factor levels (the strata of a permuted-block list)."""
        combos: list[dict[str, str]] = [{}]
        for f, lv in zip(self.factors, self.levels, strict=True):
            combos = [{**c, f: v} for c in combos for v in lv]
        return combos


def factor_levels(protocol: Protocol, site_codes: Sequence[str] | None = None) -> tuple[tuple[str, ...], ...]:
    """Levels of each stratification factor; a factor named ``site`` with no levels takes the sites."""
    sites = tuple(site_codes) if site_codes is not None else tuple(s.code for s in protocol.sites)
    out = []
    for f in protocol.stratification.factors:
        out.append(tuple(f.levels) if f.levels else (sites if f.name == "site" else ()))
        if not out[-1]:
            raise ValueError(f"stratification factor '{f.name}' has no levels; list them in the protocol")
    return tuple(out)


def scheme_for(protocol: Protocol, site_codes: Sequence[str] | None = None, *, method: str | None = None,
               p: float | None = None, imbalance: str | None = None, initial_random: int | None = None,
               block_sizes: Sequence[int] | None = None, ratios: Sequence[int] | None = None) -> Scheme:
    """The protocol's scheme; keyword options override the protocol (for the properties report)."""
    s = protocol.stratification
    arms = tuple(a.id for a in protocol.arms)
    rat = tuple(ratios) if ratios is not None else tuple(a.ratio for a in protocol.arms)
    factors = tuple(f.name for f in s.factors)
    levels = factor_levels(protocol, site_codes)
    name = method or s.method
    m: Method
    if name == "minimisation":
        m = Minimisation(arms, rat, factors, levels, [f.weight for f in s.factors],
                         p=s.probability if p is None else p,
                         imbalance=(imbalance or s.imbalance),  # type: ignore[arg-type]
                         initial_random=s.initial_random if initial_random is None else initial_random)
    elif name == "permuted_blocks":
        sizes = tuple(block_sizes) if block_sizes else (s.block_sizes or (2 * sum(rat), 3 * sum(rat)))
        m = PermutedBlocks(arms, rat, sizes)
    elif name == "simple":
        m = SimpleRandomisation(arms, rat)
    else:
        raise ValueError(f"method must be minimisation, permuted_blocks or simple (got {name!r})")
    return Scheme(m, factors, levels, arms, rat)
