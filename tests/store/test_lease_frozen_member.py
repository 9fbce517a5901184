"""A frozen etcd member holds neither a lease nor the store's calls: both move to another member.

Found by the fault lab (docs/reliability.md, F6): SIGSTOP of the etcd member a
node's lease talked to kept that member's TCP connection open, so every
refresh went to it until gRPC's keepalive gave up (up to 7 s, longer than
the 3 s lease): the node self-fenced although two members answered.  Here a
real 3-member etcd (loopback), a lease of 3 s whose channel lists etcd1
first, etcd1 frozen for 6 s: the lease must stay clear of the self-fencing
threshold all along.  The frozen member is one of etcd's followers: freezing
the raft leader stops every refresh until the others elect a new one (F1's
trade-off, which the fault lab's kill-etcd and pause-etcd of the leader
exercise), whatever the client does.  The store's own channel had the same fault: an
operator's command given to a node whose store channel was on the frozen
member failed with UNAVAILABLE after up to 7 s.  Its reads now move on after
READ_TRY_S, and the data watch with them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

import pytest

from vigil.controller.self_fencing import LeaseWatch
from vigil.store import open_store
from vigil.store.etcd import READ_TRY_S
from vigil.testing.cluster import INSTALL_HINT, EtcdMember, LocalCluster, etcd_binary, wait_until

T = TypeVar("T")

needs_etcd = pytest.mark.skipif(etcd_binary() is None, reason=f"no etcd server binary: {INSTALL_HINT}")


def follower_first(cluster: LocalCluster) -> tuple[EtcdMember, list[str]]:
    """A member to freeze that is not etcd's raft leader, and every member's endpoint, it first."""
    wait_until("etcd to have a leader", lambda: cluster.leader() is not None, timeout=10)
    leader = cluster.leader()
    index = next(i for i, member in enumerate(cluster.members) if member is not leader)
    ordered = cluster.members[index:] + cluster.members[:index]
    return ordered[0], [member.endpoint for member in ordered]


@needs_etcd
def test_a_lease_is_refreshed_through_another_member_while_one_is_frozen(tmp_path: Path) -> None:
    with LocalCluster(None, start_nodes=False, workdir=tmp_path / "cluster") as cluster:
        first, endpoints = follower_first(cluster)
        url = f"etcd://{','.join(endpoints)}/{cluster.cluster_name}"

        async def scenario() -> float:
            async with open_store(url) as store:
                lease = await store.grant_lease(3)
                watch = LeaseWatch(lease)
                await asyncio.sleep(1)
                first.pause()
                lowest = watch.remaining_s()
                try:
                    deadline = time.monotonic() + 6
                    while time.monotonic() < deadline:
                        lowest = min(lowest, watch.remaining_s())
                        await asyncio.sleep(0.05)
                finally:
                    first.resume()
                return lowest

        lowest = asyncio.run(scenario())
        assert lowest > 0.3, f"the lease ran down to {lowest:.2f} s while one member of three was frozen"


@needs_etcd
def test_store_calls_move_to_another_member_while_one_is_frozen(tmp_path: Path) -> None:
    """Reads answer, a write lands and the watch delivers it, a lease is granted: all within a bound."""
    with LocalCluster(None, start_nodes=False, workdir=tmp_path / "cluster") as cluster:
        frozen, members = follower_first(cluster)
        url = f"etcd://{','.join(members)}/{cluster.cluster_name}"
        # The other client lists another member first: a write already in flight to a member that
        # freezes still waits for gRPC's keepalive (docs/reliability.md, F6); reads and watches do not.
        other_url = f"etcd://{','.join(members[1:] + members[:1])}/{cluster.cluster_name}"
        bound = READ_TRY_S + 2.0

        async def timed(what: str, call: Awaitable[T], timings: dict[str, float]) -> T:
            began = time.monotonic()
            result = await call
            timings[what] = time.monotonic() - began
            return result

        async def scenario() -> dict[str, float]:
            timings: dict[str, float] = {}
            async with open_store(url) as store, open_store(other_url) as other:
                await store.set_node_attribute("n1", "before", "1")
                revision = (await store.snapshot()).revision
                frozen.pause()
                try:
                    await timed("first read", store.members(), timings)
                    await timed("configuration", store.get_config(), timings)
                    written = await timed(
                        "write", store.set_node_attribute("n1", "during", "1"), timings)
                    assert written > revision
                    # Another client's write reaches this one through its (moved) data watch.
                    theirs = await timed(
                        "other's write", other.set_node_attribute("n1", "theirs", "1"), timings)
                    change = await timed("watch", store.wait_for_change(written, timeout=bound), timings)
                    assert change is not None and change.revision >= theirs
                    snapshot = await timed("snapshot", store.snapshot(), timings)
                    node = next(state for state in snapshot.cluster.status.nodes if state.uname == "n1")
                    assert {"before", "during", "theirs"} <= {name for name, _ in node.attributes}
                    lease = await timed("lease", store.grant_lease(3), timings)
                    assert lease.valid_until > time.monotonic() + 1
                finally:
                    frozen.resume()
            return timings

        timings = asyncio.run(scenario())
        slow = {what: round(took, 2) for what, took in timings.items() if took > bound}
        assert not slow, f"calls waited on the frozen member (bound {bound} s): {slow} of {timings}"


@needs_etcd
def test_a_read_reaches_a_live_member_when_the_channel_sits_on_another_than_it_names(tmp_path: Path) -> None:
    """Through a node's link proxies (which accept at once, whatever the member behind does, as
    in the fault lab): the store's channel names etcd1 first but connected to etcd2, etcd1's link
    being down then; etcd1's link is back and etcd2 freezes.  A read still answers within two
    tries (docs/reliability.md, F10: a read that failed on both its tries in the long run; each
    member is now tried in turn)."""
    with LocalCluster(None, start_nodes=False, workdir=tmp_path / "cluster") as cluster:
        first, second = cluster.members[0], cluster.members[1]
        bound = 2 * READ_TRY_S + 2.0

        async def scenario() -> float:
            cluster.cut("node1", "drop", member=first.name)
            async with open_store(cluster.store_url("node1")) as store:
                await store.set_node_attribute("n1", "before", "1")  # through etcd2
                cluster.heal("node1", member=first.name)
                second.pause()
                try:
                    began = time.monotonic()
                    members = await store.members()
                    took = time.monotonic() - began
                finally:
                    second.resume()
                assert isinstance(members, dict)
                return took

        took = asyncio.run(scenario())
        assert took < bound, f"the read took {took:.2f} s (bound {bound} s) with one member of three frozen"
