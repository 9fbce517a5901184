"""Everything the web page shows, as one JSON document: ``GET /api/v1/overview``.

The page draws itself from this document alone, and the live feed
(:mod:`vigil.api.live`) pushes a new one after each change, so what the page
shows is always one whole, consistent picture:

- ``status``: ``vigil status`` as data (nodes in the scheduler's words,
  resources with role and node, fail-counts with recoveries left, failed
  actions with exit reasons, the fence history, quorum, the controller);
- ``transitions``: the newest transitions (from the store's reports, the
  same on every node), each action with what it was told (its stop or start
  context) and, once it ran, its result from the operation log;
- ``graph``: the order graph of the newest transition that kept one;
- ``attributes``: each node's attributes, permanent (configuration) and
  transient (status), fail-counts left out (they have their own place);
- ``events``: this daemon's newest events (alerts, recovery exhausted,
  fencing, node changes, operation results).

Nothing here shows a parameter value, so it is a read anyone may make (as
``/api/v1/status``), see docs/security.md.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from typing import Any

from fastapi.encoders import jsonable_encoder

from vigil.admin import commands
from vigil.admin.commands import Admin
from vigil.api.context import ControllerView
from vigil.api.convert import stored_controller_info
from vigil.events.recent import RecentEvents
from vigil.model.activity import TransitionReport
from vigil.model.cluster import Cluster
from vigil.model.failcounts import failure_attribute
from vigil.model.nvsets import resolve_nvsets
from vigil.model.results import rc_word, status_label
from vigil.model.rule_eval import RuleContext
from vigil.model.stop_context import context_items
from vigil.output.history import is_failed, task_name
from vigil.store.base import LogEntry

# How many transitions the page lists, newest first.
TRANSITIONS_SHOWN = 5
# How many of the newest operation log entries are searched for those transitions' results.
LOG_SCANNED = 1000
# How many events the page lists.
EVENTS_SHOWN = 50

Json = dict[str, Any]


def transition_key_parts(key: str | None) -> tuple[int, int] | None:
    """(transition number, action index) of a record's ``N:I:RC:INSTANCE`` transition key."""
    if not key:
        return None
    parts = key.split(":")
    if len(parts) < 2 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    return int(parts[0]), int(parts[1])


def _entry_time(entry: LogEntry) -> int | None:
    record = entry.record
    return record.last_rc_change if record.last_rc_change is not None else record.last_run


def _result(entry: LogEntry) -> Json:
    record = entry.record
    return {"rc": record.rc, "rc_name": rc_word(record.rc), "status": status_label(record.op_status),
            "failed": is_failed(record),
            "exit_reason": record.exit_reason, "time": _entry_time(entry), "node": entry.node}


def _results_of(report: TransitionReport, log: Iterable[LogEntry], now: float) -> dict[int, LogEntry]:
    """The logged results of ``report``'s actions, by action index.

    A result belongs to the transition its key names, recorded while it ran:
    a recurring monitor's later results keep the key of the transition that
    started it, and are not this transition's.
    """
    earliest = math.floor(report.started) - 1
    latest = math.ceil(report.finished if report.finished is not None else now) + 1
    found: dict[int, LogEntry] = {}
    for entry in log:
        parts = transition_key_parts(entry.record.transition_key)
        when = _entry_time(entry)
        if parts is None or parts[0] != report.number or when is None or not earliest <= when <= latest:
            continue
        found.setdefault(parts[1], entry)  # the first result of an action (a monitor's start)
    return found


def parse_graph(text: str | None) -> Json | None:
    """A report's graph (vigil.output.graph), or None when it has none or it does not read."""
    if not text:
        return None
    try:
        graph = json.loads(text)
    except ValueError:
        return None
    return graph if isinstance(graph, dict) and isinstance(graph.get("actions"), list) else None


def _planned_actions(graph: Json, results: dict[int, LogEntry]) -> list[Json]:
    actions = []
    for action in graph["actions"]:
        if action.get("pseudo"):
            continue
        entry = results.get(action["id"])
        actions.append({"id": action["id"], "task": action["task"], "resource": action["resource"],
                        "node": action["node"], "interval_ms": action["interval"],
                        "context": dict(context_items(action.get("meta", {}))),
                        "result": _result(entry) if entry is not None else None})
    return actions


def _logged_actions(results: dict[int, LogEntry]) -> list[Json]:
    return [{"id": index, "task": task_name(entry.record.operation, entry.record.interval_ms),
             "resource": entry.resource, "node": entry.node, "interval_ms": entry.record.interval_ms,
             "context": dict(context_items(entry.meta)), "result": _result(entry)}
            for index, entry in sorted(results.items())]


def transition_entry(report: TransitionReport, log: Sequence[LogEntry], now: float) -> Json:
    """One transition for the page: what it was, and each action with its context and result.

    The actions are the planned ones when the report kept its graph (an
    action that never ran, in an aborted transition, is listed without a
    result), else the ones the operation log holds.
    """
    results = _results_of(report, log, now)
    graph = parse_graph(report.graph)
    return {"number": report.number, "trigger": report.trigger, "summary": list(report.summary),
            "started": report.started, "finished": report.finished, "outcome": report.outcome,
            "action_count": report.actions, "graph_kept": graph is not None,
            "actions": _planned_actions(graph, results) if graph is not None else _logged_actions(results)}


def last_graph(reports: Sequence[TransitionReport]) -> Json | None:
    """The newest report's graph, with its number; None when the newest kept none."""
    if not reports:
        return None
    newest = reports[-1]
    graph = parse_graph(newest.graph)
    if graph is None:
        return {"number": newest.number, "actions": [], "order": [], "kept": False}
    return {"number": newest.number, "actions": graph["actions"], "order": graph.get("order", []),
            "kept": True}


def node_attributes(cluster: Cluster, now: int) -> dict[str, list[Json]]:
    """Each node's attributes: permanent ones (the configuration's ``<nodes>``, rules applied at
    ``now``) and transient ones (the status), fail-counts and last-failures left out."""
    found: dict[str, list[Json]] = {}
    for node in cluster.config.nodes:
        permanent = resolve_nvsets(node.attributes, RuleContext(now=now))
        found[node.uname] = [{"name": name, "value": value, "lifetime": "forever"}
                             for name, value in sorted(permanent.items())]
    for state in cluster.status.nodes:
        entries = found.setdefault(state.uname, [])
        entries += [{"name": name, "value": value, "lifetime": "reboot"}
                    for name, value in sorted(state.attributes) if failure_attribute(name) is None]
    return found


async def build_overview(admin: Admin, controller: ControllerView, recent: RecentEvents | None) -> Json:
    """The document the page draws (see the module docstring)."""
    report = await commands.status(admin, await stored_controller_info(admin.store, controller))
    reports = await admin.store.transition_reports(limit=TRANSITIONS_SHOWN)
    log = await admin.store.operation_log(limit=LOG_SCANNED)
    snapshot = await admin.store.snapshot()
    return {
        "status": jsonable_encoder(report),
        "transitions": [transition_entry(r, log, report.now) for r in reversed(reports)],
        "graph": last_graph(reports),
        "attributes": node_attributes(snapshot.cluster, report.now),
        "events": [asdict(event) for event in recent.newest(EVENTS_SHOWN)] if recent is not None else None,
    }
