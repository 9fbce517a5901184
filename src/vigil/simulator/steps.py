"""Play scenarios on a cluster without touching a real one, through the daemon's own machinery.

``inject_failure`` records a failed operation (and the fail-count it adds)
as the controller records a failed monitor; ``apply_transition`` runs every
action of a transition through the controller's graph runner and handlers
with a scripted executor whose agents all succeed.  Together they let
``vigil simulate --fail ... --steps K`` show an agent author the sequence of
transitions (and stop contexts) a real cluster would go through.

Both load the cluster into an in-memory store and run the controller's
:class:`~vigil.controller.actions.AgentActions` and
:class:`~vigil.controller.recording.Recorder` over it, so every record id,
transition key, digest, call id and fail-count is the one the daemon would
write: the simulator cannot drift from the daemon.  Only fencing is the
simulator's own handler (the fenced node goes down and is forgotten, with
no fence device run).  Time is a :class:`~vigil.testing.FakeClock` set to
``now`` that never moves; no process is started and no file is written.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Coroutine
from typing import Any

from vigil.controller.actions import AgentActions, TransitionRun
from vigil.controller.escalation import UNFENCED_ATTRIBUTE, record_fenced
from vigil.controller.graph import Handler, Handlers, run_graph
from vigil.controller.recording import Recorder
from vigil.controller.requests import ConfiguredPrimitives
from vigil.controller.settings import controller_options
from vigil.errors import InputError, Problem
from vigil.model.activity import ControllerStats
from vigil.model.cluster import Cluster
from vigil.model.config import Primitive
from vigil.model.results import OcfRc
from vigil.model.status import NodeState, ResourceHistory, Status
from vigil.model.transition import Action, Transition
from vigil.simulator.failures import Failure
from vigil.store.memory import MemoryStore
from vigil.testing import FakeClock, ScriptedExecutor

# The transition keys of simulated records end with this instead of a controller's id.
INSTANCE = "vigil-simulate"
# Simulated results are the simulation's output, not log lines: the recorder tells them to no one.
_RECORDS_LOG = logging.getLogger(__name__ + ".records")
_RECORDS_LOG.addHandler(logging.NullHandler())
_RECORDS_LOG.propagate = False


def inject_failure(cluster: Cluster, failure: Failure, now: int) -> Cluster:
    """The cluster after a failed operation of a resource on a node was recorded, with its fail-count."""
    return _run(_inject_failure(cluster, failure, now))


def apply_transition(cluster: Cluster, transition: Transition, now: int) -> Cluster:
    """The cluster after every action of ``transition`` succeeded, recorded as the controller records it.

    Actions on a node without status are left out, as there is no node to run them.
    """
    return _run(_apply_transition(cluster, transition, now))


def _run(play: Coroutine[Any, Any, Cluster]) -> Cluster:
    """Run ``play`` on an event loop of its own (no signal handlers: it never waits on anything real)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(play)
    finally:
        loop.close()


class _Sandbox:
    """A cluster in a memory store, with the controller's handlers and recorder over it."""

    def __init__(self, cluster: Cluster, now: int) -> None:
        self.cluster = cluster
        self.now = now
        self.store = MemoryStore.holding(cluster)
        self.executor = ScriptedExecutor()
        clock = FakeClock(start=now)
        self.recorder = Recorder(self.store, instance=INSTANCE, clock=clock, stats=ControllerStats(),
                                 logger=_RECORDS_LOG)
        self.actions = AgentActions(self.store, self.executor, self.recorder, clock)
        self.fenced: set[str] = set()
        self.loaded = cluster

    async def load(self) -> TransitionRun:
        """Read the store as the controller reads it at the start of a transition: the run its
        actions share (the call ids continue from the status's)."""
        config = self.cluster.config
        await self.recorder.resume()
        self.loaded = (await self.store.snapshot()).cluster
        options = controller_options(config, self.now)
        self.recorder.start_failure_is_fatal = options.start_failure_is_fatal
        return TransitionRun(0, ConfiguredPrimitives(config, self.now), self.loaded, options)

    def handlers(self, run: TransitionRun) -> Handlers:
        """The simulator's table: the controller's agent and cluster handlers, and a fencing
        that always works; nothing runs on a node without status."""

        async def fence(action: Action) -> bool:
            assert action.node is not None
            fence_action = dict(action.meta).get("stonith_action", "reboot")
            if fence_action == "on":
                # Unfencing resets nothing: the node is only marked unfenced.
                await self.store.set_node_attribute(action.node, UNFENCED_ATTRIBUTE, str(int(self.now)))
                return True
            await record_fenced(self.store, action.node, fence_action, at=self.now)
            self.fenced.add(action.node)
            return True

        table = Handlers(agent=lambda action: self.actions.run_agent_action(run, action), fencing=fence,
                         cluster=lambda action: self.actions.clear_failcount(run, action))

        def on_a_known_node(handler: Handler) -> Handler:
            async def guarded(action: Action) -> bool:
                if action.node is None or self.cluster.status.node(action.node) is None:
                    return True
                return await handler(action)
            return guarded

        return table.each(on_a_known_node)

    async def result(self) -> Cluster:
        """The cluster as it was, with what the store changed: see :func:`_merged`."""
        await self.actions.monitors.close()
        final = (await self.store.snapshot()).cluster
        status = _merged(self.cluster.status, self.loaded.status, final.status, self.fenced)
        return dataclasses.replace(self.cluster, status=status)


async def _inject_failure(cluster: Cluster, failure: Failure, now: int) -> Cluster:
    sandbox = _Sandbox(cluster, now)
    run = await sandbox.load()
    placement = run.primitives.find(failure.resource)
    if placement is None:
        raise InputError([Problem("--fail", f"no resource {failure.resource!r} in the configuration")])
    if cluster.status.node(failure.node) is None:
        known = ", ".join(n.uname for n in cluster.status.nodes) or "none"
        raise InputError([Problem("--fail", f"node {failure.node!r} has no status (known: {known})")])
    task, _, interval_text = failure.operation.partition("_")
    primitive = placement.primitive
    promoted = _is_promoted(cluster, failure.resource, failure.node)
    interval_ms = (int(interval_text) if interval_text.isdigit()
                   else _monitor_interval(primitive, task, promoted))
    prepared = sandbox.actions.prepare(run, Action(0, task, failure.resource, failure.node, interval_ms))
    assert prepared is not None  # configured
    # A recurring monitor finds the resource stopped (a promoted instance:
    # failed while promoted); anything else (a probe included) fails.
    recurring = task == "monitor" and interval_ms > 0
    if recurring:
        sandbox.executor.script(rc=OcfRc.FAILED_PROMOTED if promoted else OcfRc.NOT_RUNNING)
    else:
        sandbox.executor.script(rc=OcfRc.ERR_GENERIC)
    result = await sandbox.executor.run(prepared.request)
    key = sandbox.recorder.transition_key(0, 0, task, interval_ms)
    await sandbox.recorder.record(prepared, result, {}, key)
    return await sandbox.result()


def _monitor_interval(primitive: Primitive, task: str, promoted: bool = False) -> int:
    """The interval a failed ``monitor`` is taken from: the most frequent
    recurring monitor of the role the instance has (a promoted instance runs
    its Promoted-role monitor; otherwise the others)."""
    if task != "monitor":
        return 0
    promoted_roles = ("promoted", "master")
    intervals = sorted(
        op.interval_ms for op in primitive.ops
        if op.name == "monitor" and op.interval_ms > 0
        and ((op.role or "").lower() in promoted_roles) == promoted
        and (op.role or "").lower() != "stopped"
    )
    if not intervals:
        intervals = sorted(op.interval_ms for op in primitive.ops
                           if op.name == "monitor" and op.interval_ms > 0)
    return intervals[0] if intervals else 0


def _is_promoted(cluster: Cluster, resource: str, node: str) -> bool:
    """Whether the status shows ``resource`` (an instance of a promotable
    clone, by its own or its recorded name) promoted on ``node``: its
    latest role change is a promote, or a monitor found it promoted."""
    state = cluster.status.node(node)
    if state is None:
        return False
    base = resource.rsplit(":", 1)[0] if ":" in resource else resource
    promoted = False
    for history in state.resources:
        if history.id not in (resource, base) and history.id.rsplit(":", 1)[0] != base:
            continue
        for op in sorted(history.ops, key=lambda record: record.call_id):
            if op.operation == "promote" and op.rc == OcfRc.SUCCESS:
                promoted = True
            elif op.operation in ("demote", "stop", "start") and op.rc == OcfRc.SUCCESS:
                promoted = False
            elif op.operation == "monitor" and op.rc in (OcfRc.RUNNING_PROMOTED, OcfRc.FAILED_PROMOTED):
                promoted = True
    return promoted


async def _apply_transition(cluster: Cluster, transition: Transition, now: int) -> Cluster:
    sandbox = _Sandbox(cluster, now)
    run = await sandbox.load()
    # One action at a time, in graph order: the records' call ids follow the graph.
    await run_graph(transition, sandbox.handlers(run), limit=1)
    return await sandbox.result()


def _merged(original: Status, loaded: Status, final: Status, fenced: set[str]) -> Status:
    """``original`` with the changes from ``loaded`` to ``final`` (the store's view before and after).

    What did not change keeps its object and its place (the store sorts what
    it holds; a CIB need not be sorted), so the incremental scheduler and the
    printers see the cluster as it was but for what the actions did.  What
    the store does not keep (a history without operations, a shutdown lock)
    is kept from ``original`` unless the node was fenced.
    """
    nodes = []
    for state in original.nodes:
        before, after = loaded.node(state.uname), final.node(state.uname)
        if after is None or before is None:
            nodes.append(state)
            continue
        nodes.append(_merged_node(state, before, after, state.uname in fenced))
    return dataclasses.replace(original, nodes=tuple(nodes))


def _merged_node(state: NodeState, before: NodeState, after: NodeState, fenced: bool) -> NodeState:
    if before == after and not fenced:
        return state
    membership = {field.name: getattr(after, field.name) for field in dataclasses.fields(after)
                  if field.name not in ("attributes", "resources")}
    attributes = state.attributes
    if before.attributes != after.attributes:
        now, then = dict(after.attributes), dict(before.attributes)
        changed = {name for name in now.keys() | then.keys() if now.get(name) != then.get(name)}
        attributes = (*((k, v) for k, v in state.attributes if k not in changed),
                      *((k, v) for k, v in after.attributes if k in changed))
    kept_before = {history.id: history for history in before.resources}
    now_there = {history.id: history for history in after.resources}
    resources: list[ResourceHistory] = []
    for history in state.resources:
        if history.id not in kept_before:  # not held by the store (no operations)
            if not fenced:
                resources.append(history)
            continue
        changed_to = now_there.get(history.id)
        if changed_to is None:
            continue
        if changed_to == kept_before[history.id]:
            resources.append(history)
        else:
            resources.append(changed_to._replace(shutdown_lock=history.shutdown_lock))
    known = {history.id for history in state.resources}
    resources += [history for history in after.resources if history.id not in known]
    return dataclasses.replace(state, **membership, attributes=attributes, resources=tuple(resources))


__all__ = ["Failure", "apply_transition", "inject_failure"]
