"""A controller deposed while its leader key outlives it never leads under that term again.

Found by the fault lab (docs/reliability.md, F13): node3, the controller, had a write refused
during an etcd member's restart, self-fenced, and its lease was renewed in time; campaigning
again it found its own leader key still there and led under the same term.  Its new
transitions were numbered from 1 again under that term, so the store's latest transition report
stayed the deposed controller's aborted one (the cluster looked unsettled for ever) and its work
order ids could collide with the ones the deposed controller wrote.  Now the deposed term is
given up and a new one campaigned for.  A memory store (its leases and leader key behave as
etcd's) and a node with nothing to run; real time, a few hundred milliseconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from vigil.admin.intake import install, parse_config, with_node
from vigil.daemon.roles import ClusterNode
from vigil.executor.process import Spawner
from vigil.fencing.agent import FenceAgents
from vigil.fencing.fencer import Fencer
from vigil.store.coord import GuardLost
from vigil.store.memory import MemoryStore
from vigil.testing import ScriptedExecutor

CONFIG = "options:\n  stonith-enabled: false\nresources: []\n"


async def until(what: str, condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


def test_a_deposed_controller_campaigns_for_a_new_term_rather_than_reusing_its_key() -> None:
    async def scenario() -> None:
        store = MemoryStore()
        config, _ = parse_config(CONFIG.encode(), "test.yaml")
        await install(store, with_node(config, "node1"))
        lease = await store.grant_lease(3)
        incarnation = await store.join("node1", lease)
        node = ClusterNode(store, ScriptedExecutor(), "node1", lease, incarnation,
                           fencer=lambda: Fencer(FenceAgents(Spawner())))
        running = asyncio.create_task(node.run())
        try:
            await until("node1 to lead", lambda: node.controller is not None and node.term is not None)
            first = node.term
            assert first is not None and node.controller is not None
            node.controller._deposed(GuardLost(first))  # its leader key stays: the lease lives on
            await until("node1 to lead under a new term",
                        lambda: node.term is not None and node.term.revision != first.revision)
            assert node.term is not None and node.term.revision > first.revision
            leader = await store.leader()
            assert leader is not None and leader.revision == node.term.revision
        finally:
            await node.stop(leave_running=True)
            await asyncio.wait_for(running, 10)
            await store.close()

    asyncio.run(scenario())
