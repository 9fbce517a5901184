"""The scheduler: a pure function from (cluster, now) to a transition.

This is its public interface; every other package imports from here, never
from a stage module.  ``schedule()`` runs the stages in Pacemaker's order
(:mod:`vigil.scheduler.stages`); :class:`IncrementalScheduler` gives the
daemon the same plans while re-planning only what a change touches.
"""

from __future__ import annotations

from vigil.scheduler.constraint_sets import plain_locations
from vigil.scheduler.incremental import IncrementalScheduler
from vigil.scheduler.stages import StagesRun, Tracer, run_stages, schedule, top_rank

__all__ = [
    "IncrementalScheduler", "StagesRun", "Tracer", "plain_locations", "run_stages", "schedule", "top_rank",
]
