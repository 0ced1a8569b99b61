"""Clinical-effectiveness estimators. Each takes its options in the constructor and the data in
``fit(data)``, returning an immutable :class:`EffectResult` (estimate, SE, CI, p-value, numbers
analysed per arm, warnings, ``to_dict()``, ``summary()``); direction: intervention minus usual care."""

from securebase.analysis.effectiveness._result import DIRECTION, EffectResult, Estimate
from securebase.analysis.effectiveness.ancova import Ancova
from securebase.analysis.effectiveness.cace import Cace
from securebase.analysis.effectiveness.counts import NegativeBinomial, Poisson
from securebase.analysis.effectiveness.logistic import Logistic
from securebase.analysis.effectiveness.mi import MultipleImputation, TippingPoint, rubin_pool
from securebase.analysis.effectiveness.mmrm import Mmrm
from securebase.analysis.effectiveness.multiplicity import adjust, rejected
from securebase.analysis.effectiveness.partially_nested import PartiallyNested
from securebase.analysis.effectiveness.survival import Cox, aalen_johansen, kaplan_meier

__all__ = [
    "DIRECTION", "EffectResult", "Estimate", "Ancova", "Cace", "NegativeBinomial", "Poisson", "Logistic",
    "MultipleImputation", "TippingPoint", "rubin_pool", "Mmrm", "adjust", "rejected", "PartiallyNested",
    "Cox", "aalen_johansen", "kaplan_meier",
]
