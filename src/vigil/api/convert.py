"""What the controller reports, as the admin layer's plain values."""

from __future__ import annotations

from collections.abc import Sequence

from vigil.api.context import ControllerView
from vigil.model.activity import TransitionReport
from vigil.output.metrics import ActionFigures, ControllerFigures
from vigil.output.report import ControllerInfo, MonitorInfo, StoreProblem, TransitionInfo
from vigil.store.base import Store


def controller_info(controller: ControllerView,
                    reports: Sequence[TransitionReport] | None = None) -> ControllerInfo:
    """What this node's controller view tells; ``reports`` instead of the transitions it keeps
    in memory (the store's, see :func:`stored_controller_info`)."""
    transitions = tuple(
        TransitionInfo(number=t.number, trigger=t.trigger, summary=tuple(t.summary), actions=t.actions,
                       started=t.started, outcome=t.outcome, finished=t.finished)
        for t in (controller.transitions if reports is None else reports)
    )
    monitors = tuple(MonitorInfo(k.resource, k.node, k.interval_ms) for k in controller.active_monitors())
    stats = controller.stats
    store = (StoreProblem(since=stats.store_failing_since, error=stats.store_error)
             if stats.store_failing_since is not None else None)
    return ControllerInfo(node=controller.node, transitions=transitions, monitors=monitors,
                          store_problem=store)


async def stored_controller_info(store: Store, controller: ControllerView) -> ControllerInfo:
    """:func:`controller_info` with the transitions the store keeps, whoever ran them.

    So `vigil status` on any node of a cluster shows the same transitions
    (the elected controller's, and its predecessors' after a takeover), and
    a single node the ones it stored before a restart.
    """
    return controller_info(controller, await store.transition_reports())


def controller_figures(controller: ControllerView) -> ControllerFigures:
    stats = controller.stats
    transitions = list(controller.transitions)
    last = transitions[-1] if transitions else None
    return ControllerFigures(
        transitions=stats.transitions,
        aborted_transitions=stats.aborted_transitions,
        actions=tuple(ActionFigures(task, a.count, a.failed, a.seconds)
                      for task, a in sorted(stats.actions.items())),
        last_transition=(last.finished or last.started) if last is not None else None,
        plans=tuple(sorted(stats.plans.items())),
        scheduling_seconds=stats.scheduling_seconds,
        store_failing_since=stats.store_failing_since,
        store_errors=stats.store_errors,
    )
