"""A migration step is recorded as Pacemaker's controller records it.

``migrate_to`` is recorded as pending before it runs (the scheduler asks
for it with ``record_pending``): should the source be lost meanwhile, the
next plan knows the migration may have reached the target.  Its result then
replaces the pending record, under the step's own id, with both ends of the
migration.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.scheduler.test_migration import find, moving_vm
from tests.stop_context.cibs import NOW
from vigil.controller.actions import AgentActions, TransitionRun, cancels_recurring
from vigil.controller.recording import Recorder
from vigil.controller.requests import ConfiguredPrimitives
from vigil.controller.settings import controller_options
from vigil.executor.request import ActionRequest
from vigil.executor.results import ActionResult
from vigil.model.activity import ControllerStats
from vigil.model.results import ExecStatus, OcfRc
from vigil.model.status import OpRecord
from vigil.scheduler import schedule
from vigil.store.memory import MemoryStore
from vigil.testing import FakeClock


class Watching:
    """An executor that succeeds, noting what the store holds for the resource as each action runs."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.seen: list[dict[str, OpRecord]] = []

    async def run(self, request: ActionRequest) -> ActionResult:
        status = (await self.store.snapshot()).cluster.status.node(request.node_name)
        assert status is not None
        self.seen.append({op.id: op for history in status.resources for op in history.ops})
        return ActionResult(request, OcfRc.SUCCESS, ExecStatus.DONE)


def test_migrate_to_is_recorded_pending_while_it_runs_then_replaced_by_its_result() -> None:
    cluster = moving_vm()
    migrate_to = find(schedule(cluster, NOW), "migrate_to", "node1")

    async def go() -> dict[str, OpRecord]:
        store = MemoryStore.holding(cluster)
        executor = Watching(store)
        clock = FakeClock(start=NOW)
        recorder = Recorder(store, instance="test", clock=clock, stats=ControllerStats())
        actions = AgentActions(store, executor, recorder, clock)
        await recorder.resume()
        run = TransitionRun(1, ConfiguredPrimitives(cluster.config, NOW), cluster,
                            controller_options(cluster.config, NOW))
        assert await actions.run_agent_action(run, migrate_to)
        (during,) = executor.seen
        pending = during["vm_migrate_to_0"]
        assert (pending.call_id, pending.rc, pending.op_status) == (-1, OcfRc.UNKNOWN, ExecStatus.PENDING)
        assert (pending.migrate_source, pending.migrate_target) == ("node1", "node2")
        status = (await store.snapshot()).cluster.status.node("node1")
        assert status is not None
        return {op.id: op for history in status.resources for op in history.ops}

    after = asyncio.run(go())
    done = after["vm_migrate_to_0"]
    assert done.call_id > 0 and (done.rc, done.op_status) == (OcfRc.SUCCESS, ExecStatus.DONE)
    assert (done.migrate_source, done.migrate_target) == ("node1", "node2")
    assert "vm_last_0" in after  # the start before it keeps its own record


@pytest.mark.parametrize("task", ["migrate_to", "migrate_from"])
def test_a_migration_step_ends_the_recurring_monitors_first(task: str) -> None:
    """Like a stop or a start, each step changes the resource's state, so a
    monitor left running could report a failure that never happened."""
    assert cancels_recurring(task, 0)
