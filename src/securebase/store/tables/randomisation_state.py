"""The running state of a trial's minimisation: marginal totals per factor level and arm.

One row per trial, read and written inside the randomising transaction under the trial lock
(``SELECT ... FOR UPDATE`` on the trial row on PostgreSQL; ``BEGIN IMMEDIATE`` on SQLite), so the
next allocation reads the totals in O(1) instead of recounting every earlier allocation. The row is
derived data (the allocations themselves are audited), so it is not audited row by row; it records how
many allocations it counts (``allocations``), and :func:`securebase.trial.randomise.randomise` rebuilds
it by one recount whenever that disagrees with the trial's highest sequence number (a store written by
an earlier release, or allocations made by another route).
"""

from __future__ import annotations

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from securebase.store.tables.base import Base


class RandomisationState(Base):
    """Minimisation marginal totals of one trial: ``counts[factor][level]`` is a list of counts in the
    order of ``arms``; ``allocations`` is the sequence number of the last allocation counted."""

    __tablename__ = "randomisation_state"
    __audited__ = False

    trial_id: Mapped[str] = mapped_column(String(64), ForeignKey("trials.id"), primary_key=True)
    allocations: Mapped[int] = mapped_column(Integer, default=0)
    arms: Mapped[list] = mapped_column(JSON, default=list)
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
