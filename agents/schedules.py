"""Schedules for hyper-parameters that change during training (epsilon, learning rate, ...).

A schedule is a pure function of progress: it keeps no state, so the agent only has to
checkpoint its own counters (steps, episodes) to resume a schedule exactly.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LinearSchedule:
    """Linear interpolation from ``start`` to ``end`` over ``duration``, constant afterwards.

    ``progress`` and ``duration`` share one unit chosen by the caller: environment steps,
    episodes, or the fraction of the training budget used (``Budget.fraction``) with
    ``duration`` in (0, 1].

    >>> LinearSchedule(1.0, 0.1, 0.5)(0.25)
    0.55
    """

    start: float  # value at progress 0 [same unit as the scheduled quantity]
    end: float  # value once progress >= duration [same unit as the scheduled quantity]
    duration: float  # progress over which the value moves from start to end [caller's unit]; <= 0 means always end

    def __call__(self, progress: float) -> float:
        if self.duration <= 0:
            return float(self.end)
        fraction = min(max(progress / self.duration, 0.0), 1.0)
        return float(self.start + fraction * (self.end - self.start))
