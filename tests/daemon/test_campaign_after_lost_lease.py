"""A campaign won after the node's membership was declared lost is never led on.

Found by the fault lab (docs/reliability.md, F14): with etcd's raft leader frozen for 4.2 s,
node1's lease watch declared its membership lost while a campaign was already on its way to
the store; the campaign then won, and node1 led on a lease it had given up, so the cluster
never settled.  Here the store holds the won campaign back until the lease has expired and
the node's lease watch has seen it (what the frozen raft leader did), then hands it over.
The node must give the term up and join again under a new lease before it leads.  A memory
store (leases and the leader key behave as etcd's) and a node with nothing to run; real time,
about four seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from vigil.admin.intake import install, parse_config, with_node
from vigil.daemon.roles import LEASE_CHECK_S, ClusterNode
from vigil.executor.process import Spawner
from vigil.fencing.agent import FenceAgents
from vigil.fencing.fencer import Fencer
from vigil.store.coord import Guard, Lease
from vigil.store.memory import MemoryStore
from vigil.testing import ScriptedExecutor

CONFIG = "options:\n  stonith-enabled: false\nresources: []\n"


class CampaignHeldBack(MemoryStore):
    """A store whose first won campaign reaches the candidate only when the test says so."""

    def __init__(self) -> None:
        super().__init__()
        self.won = asyncio.Event()
        self.release = asyncio.Event()
        self.held: Guard | None = None

    async def campaign(self, candidate: str, lease: Lease, timeout: float | None = None) -> Guard | None:
        term = await super().campaign(candidate, lease, timeout=timeout)
        if term is not None and self.held is None:
            self.held = term
            self.won.set()
            await self.release.wait()
        return term


async def until(what: str, condition: Callable[[], bool], timeout: float = 10.0,
                interval: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(interval)


def test_a_campaign_won_on_an_expired_membership_is_given_up_and_the_node_joins_again() -> None:
    asyncio.run(scenario(release_when="expired"))


def test_a_campaign_won_after_the_node_self_fenced_is_given_up() -> None:
    """The same race a moment earlier (the fault lab's CI run, seed 72069967, step 2): the campaign
    is handed over after the node self-fenced, before its lease expired.  A node that stopped its
    resources by itself must not lead on the membership it is about to lose."""
    asyncio.run(scenario(release_when="self-fenced"))


async def scenario(release_when: str) -> None:
    """Hold node1's first won campaign until ``release_when`` (its lease "expired", or it
    "self-fenced"), then hand it over: node1 must lead only under a later term and lease."""
    store = CampaignHeldBack()
    config, _ = parse_config(CONFIG.encode(), "test.yaml")
    await install(store, with_node(config, "node1"))
    first_lease = await store.grant_lease(2)
    incarnation = await store.join("node1", first_lease)
    node = ClusterNode(store, ScriptedExecutor(), "node1", first_lease, incarnation,
                       fencer=lambda: Fencer(FenceAgents(Spawner())))
    led_on: list[tuple[int, Lease]] = []
    lead = node._lead

    async def recording_lead(term: Guard) -> bool:
        led_on.append((term.revision, node.lease))
        return await lead(term)

    node._lead = recording_lead  # type: ignore[method-assign]
    running = asyncio.create_task(node.run())
    try:
        await asyncio.wait_for(store.won.wait(), 10)
        first_lease.suspend_keepalive()  # the node stays put while its membership runs out
        if release_when == "expired":
            await until("the first lease to expire", lambda: not first_lease.alive)
            await asyncio.sleep(5 * LEASE_CHECK_S)  # the lease watch has seen it
        else:
            await until("node1 to self-fence", lambda: node._self_stopped, timeout=10, interval=0.005)
            assert first_lease.alive
        store.release.set()
        await until("node1 to lead again", lambda: node.term is not None)
        held = store.held
        assert held is not None
        assert all(revision != held.revision for revision, _ in led_on), led_on
        assert all(lease is not first_lease for _, lease in led_on), "led on the expired lease"
        assert node.lease is not first_lease and node.lease.alive
        leader = await store.leader()
        assert leader is not None and node.term is not None
        assert leader.revision == node.term.revision != held.revision
    finally:
        store.release.set()
        await node.stop(leave_running=True)
        await asyncio.wait_for(running, 10)
        await store.close()
