"""Trial design: closed-form sample size and power, a trial simulator, and power by simulation.

Modules
    outcomes     outcome specifications (continuous, binary, time to event, counts) with power functions
    closed_form  sample size and power for a specification, with allocation, clustering, attrition
                 and multiplicity adjustments; results carry a sentence fit for a protocol
    survival     event probabilities from accrual, follow-up and competing hazards
    simulate     the NG26 trial simulator producing the analysis-dataset frames
    power        power by simulation with the batched kernels
"""

from securebase.analysis.design.closed_form import (
    Clustering,
    MultipleOutcomeResult,
    PowerResult,
    SampleSizeResult,
    plan_several,
    power,
    sample_size,
)
from securebase.analysis.design.outcomes import (
    BinaryOutcome,
    ContinuousOutcome,
    CountOutcome,
    SurvivalOutcome,
)

__all__ = [
    "BinaryOutcome", "Clustering", "ContinuousOutcome", "CountOutcome", "MultipleOutcomeResult",
    "PowerResult", "SampleSizeResult", "SurvivalOutcome", "plan_several", "power", "sample_size",
]
