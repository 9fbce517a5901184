"""What the controller reports, as the admin layer's plain values."""

from __future__ import annotations

from vigil.api.context import ControllerView
from vigil.output.metrics import ActionFigures, ControllerFigures
from vigil.output.report import ControllerInfo, MonitorInfo, StoreProblem, TransitionInfo


def controller_info(controller: ControllerView) -> ControllerInfo:
    transitions = tuple(
        TransitionInfo(number=t.number, trigger=t.trigger, summary=tuple(t.summary), actions=t.actions,
                       started=t.started, outcome=t.outcome, finished=t.finished)
        for t in controller.transitions
    )
    monitors = tuple(MonitorInfo(k.resource, k.node, k.interval_ms) for k in controller.active_monitors())
    stats = controller.stats
    store = (StoreProblem(since=stats.store_failing_since, error=stats.store_error)
             if stats.store_failing_since is not None else None)
    return ControllerInfo(node=controller.node, transitions=transitions, monitors=monitors,
                          store_problem=store)


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
