"""Allocation methods (pure domain: numpy only; no database, web or Dask imports).

Stratified permuted blocks, Pocock–Simon minimisation (with Han et al.'s biased coin for unequal
ratios) and simple randomisation, each returning a :class:`Decision` diagnostic record; seeded
streams so every allocation can be replayed; and the properties report by simulation.
"""

from securebase.randomisation.blocks import BlockEntry, PermutedBlocks, block_end_balanced
from securebase.randomisation.core import (
    Decision,
    allocation_rng,
    list_rng,
    parse_stratum_key,
    stable_hash,
    stratum_key,
)
from securebase.randomisation.design import Scheme, factor_levels, scheme_for
from securebase.randomisation.minimisation import (
    Minimisation,
    SimpleRandomisation,
    han_probabilities,
    imbalance_of,
)

__all__ = [
    "BlockEntry", "Decision", "Minimisation", "PermutedBlocks", "Scheme", "SimpleRandomisation", "allocation_rng",
    "block_end_balanced", "factor_levels", "han_probabilities", "imbalance_of", "list_rng", "parse_stratum_key",
    "scheme_for", "stable_hash", "stratum_key",
]
