"""Event probabilities for time-to-event sample sizes: accrual, follow-up, competing events, dropout.

Exponential cause-specific hazards: event of interest ``lam``, competing event ``lam_c`` (adoption,
return home, a planned move to independence), loss to follow-up ``lam_d``; total ``L = lam + lam_c + lam_d``.
The probability of observing the event by follow-up time ``t`` is ``lam / L * (1 - exp(-L t))``; with
uniform accrual over ``A`` and further follow-up ``F`` after the last participant is recruited,
follow-up is uniform on ``[F, A + F]`` and

    P(event) = lam / L * (1 - (exp(-L F) - exp(-L (A + F))) / (L A))

(Collett, Modelling Survival Data in Medical Research, 3rd ed. 2015, section 10.2, extended to
competing risks by the cause-specific cumulative incidence ``lam / L (1 - exp(-L t))``).
"""

from __future__ import annotations

import math

from securebase.analysis.design.outcomes import SurvivalOutcome
from securebase.errors import FieldError


def hazard_from_probability(prob: float, time: float) -> float:
    """Constant hazard giving probability ``prob`` of the event by ``time`` (no competing events)."""
    if not 0 < prob < 1:
        raise FieldError("prob", prob, "a probability strictly between 0 and 1")
    if time <= 0:
        raise FieldError("time", time, "a positive time")
    return -math.log1p(-prob) / time


def event_probability(hazard: float, accrual: float, follow_up: float, competing_hazard: float = 0.0,
                      dropout_hazard: float = 0.0) -> float:
    """Probability that a participant's event of interest is observed (formula in the module docstring).

    Times in one unit (years, say): ``accrual`` the recruitment period, ``follow_up`` the minimum
    follow-up after the last participant is recruited.
    """
    for name, v in (("hazard", hazard), ("competing_hazard", competing_hazard), ("dropout_hazard", dropout_hazard),
                    ("accrual", accrual)):
        if v < 0:
            raise FieldError(name, v, "zero or positive")
    if hazard <= 0:
        raise FieldError("hazard", hazard, "a positive hazard")
    if follow_up <= 0:
        raise FieldError("follow_up", follow_up, "a positive follow-up time")
    total = hazard + competing_hazard + dropout_hazard
    if accrual == 0:
        frac = 1 - math.exp(-total * follow_up)
    else:
        frac = 1 - (math.exp(-total * follow_up) - math.exp(-total * (accrual + follow_up))) / (total * accrual)
    return hazard / total * frac


def survival_outcome(hazard_ratio: float, control_hazard: float, accrual: float, follow_up: float, *,
                     competing_hazard: float = 0.0, dropout_hazard: float = 0.0, method: str = "schoenfeld",
                     label: str = "the event") -> SurvivalOutcome:
    """A :class:`SurvivalOutcome` whose event probabilities come from hazards, accrual and follow-up.

    The intervention multiplies the cause-specific hazard of the event of interest by ``hazard_ratio``;
    competing and dropout hazards are the same in both arms.
    """
    p_ctl = event_probability(control_hazard, accrual, follow_up, competing_hazard, dropout_hazard)
    p_int = event_probability(control_hazard * hazard_ratio, accrual, follow_up, competing_hazard, dropout_hazard)
    return SurvivalOutcome(hazard_ratio, p_ctl, p_int, method, label)
