"""Outcome instruments: declarative definitions, validated responses, scoring, value sets, reliability.

Public API (used by the web forms, the store and the simulator)::

    inst = load_instrument("sdq_parent")
    clean = validate_responses(inst, {"1": 2, "2": 0, ...}, participant="CARE-014", visit="6 months")
    results = score(inst, responses)        # {scale name: ScoreResult(value | None, reason, band)}
"""

from securebase.instruments.model import Band, Constraint, Instrument, Item, MissingCodes, Scale
from securebase.instruments.registry import (
    list_instruments,
    load_instrument,
    load_instrument_file,
    load_wording,
    parse_instrument,
    register_instrument,
    unregister_instrument,
)
from securebase.instruments.reliability import (
    ICCResult,
    KappaResult,
    double_coding_sample,
    icc,
    paired_ratings,
    weighted_kappa,
)
from securebase.instruments.resource_use import ResourceUseRow, resource_use_rows
from securebase.instruments.scoring import ScoreResult, round_half_up, score, score_clean
from securebase.instruments.validation import (
    Missing,
    ResponseIssue,
    ResponseValidationError,
    validate_responses,
)
from securebase.instruments.value_sets import (
    ValueSet,
    get_value_set,
    list_value_sets,
    load_value_set,
    register_value_set,
    unregister_value_set,
)

__all__ = [
    "Band", "Constraint", "ICCResult", "Instrument", "Item", "KappaResult", "Missing", "MissingCodes",
    "ResourceUseRow", "double_coding_sample", "paired_ratings", "ResponseIssue", "ResponseValidationError", "Scale", "ScoreResult", "ValueSet", "get_value_set", "icc",
    "list_instruments", "list_value_sets", "load_instrument", "load_instrument_file", "load_wording", "load_value_set",
    "parse_instrument", "register_instrument", "register_value_set", "resource_use_rows", "round_half_up", "score",
    "score_clean", "unregister_instrument", "unregister_value_set", "validate_responses", "weighted_kappa",
]
