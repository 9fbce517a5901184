"""``vigil simulate --fail/--steps`` records what the daemon records: it runs the controller's machinery.

The same failure and recovery, once through the controller in-process
(scripted agents, fake clock) and once through the simulator's
``inject_failure`` and ``apply_transition``, must leave the same records:
the same ids, operations, exit codes, digests, expected results and
fail-counts.  Only what names a run (call ids, the instance in transition
keys) and the times may differ.
"""

from __future__ import annotations

import asyncio

from tests.controller.scripted import NODE, scripted_controller
from vigil.model.cluster import Cluster
from vigil.model.failcounts import is_failure_attribute
from vigil.model.results import OcfRc
from vigil.model.status import NodeState
from vigil.scheduler import schedule
from vigil.simulator.steps import Failure, apply_transition, inject_failure

CONFIG = """
options:
  stonith-enabled: false
resources:
  - id: web
    agent: ocf:heartbeat:Dummy
    params: {state: /run/web.state}
    meta: {migration-threshold: 3}
    ops:
      - {name: monitor, interval: 10s, timeout: 20s}
"""


def records(state: NodeState) -> list[tuple[str, str, int, int, int, str | None, str]]:
    return sorted((op.id, op.operation, op.interval_ms, op.rc, op.op_status, op.op_digest,
                   (op.transition_key or "").split(":")[2])
                  for history in state.resources for op in history.ops)


def failcounts(state: NodeState) -> list[tuple[str, str]]:
    return sorted((name, value) for name, value in state.attributes
                  if is_failure_attribute(name) and name.startswith("fail-count-"))


def test_a_simulated_failure_and_recovery_leave_the_records_the_controller_leaves() -> None:
    async def in_the_controller() -> tuple[Cluster, int, NodeState]:
        async with scripted_controller(CONFIG) as cluster:
            settled = (await cluster.store.snapshot()).cluster
            now = int(cluster.clock.time())
            cluster.executor.script("web", "monitor", interval_ms=10_000, rc=OcfRc.NOT_RUNNING, times=1)
            await cluster.advance(10)
            await cluster.until("web recovered", lambda: len(cluster.ran("web", "start")) == 2)
            await cluster.settle()
            return settled, now, await cluster.node()

    settled, now, daemon = asyncio.run(in_the_controller())
    failed = inject_failure(settled, Failure("web", NODE), now)
    transition = schedule(failed, now)
    assert [line.render() for line in transition.summary] == ["* Recover web ( node1 )"]
    simulated = apply_transition(failed, transition, now).status.node(NODE)
    assert simulated is not None
    assert records(simulated) == records(daemon)
    assert failcounts(simulated) == failcounts(daemon) == [("fail-count-web#monitor_10000", "1")]
