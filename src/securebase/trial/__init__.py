"""Use cases: screen, consent, enrol, randomise, schedule, record, withdraw, unblind.

Each use case is one function taking a unit of work and an :class:`~securebase.trial.roles.Actor`.
"""

from securebase.trial.roles import BLINDED_ROLES, Actor, Role

__all__ = ["BLINDED_ROLES", "Actor", "Role"]
