"""A lease outlives a frozen etcd member: its refreshes move to another member.

Found by the fault lab (docs/reliability.md, F6): SIGSTOP of the etcd member a
node's lease talked to kept that member's TCP connection open, so every
refresh went to it until gRPC's keepalive gave up (up to 7 s, longer than
the 3 s lease): the node self-fenced although two members answered.  Here a
real 3-member etcd (loopback), a lease of 3 s whose channel lists etcd1
first, etcd1 frozen for 6 s: the lease must stay clear of the self-fencing
threshold all along.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from vigil.controller.self_fencing import LeaseWatch
from vigil.store import open_store
from vigil.testing.cluster import INSTALL_HINT, LocalCluster, etcd_binary

needs_etcd = pytest.mark.skipif(etcd_binary() is None, reason=f"no etcd server binary: {INSTALL_HINT}")


@needs_etcd
def test_a_lease_is_refreshed_through_another_member_while_one_is_frozen(tmp_path: Path) -> None:
    with LocalCluster(None, start_nodes=False, workdir=tmp_path / "cluster") as cluster:
        url = cluster.store_url()

        async def scenario() -> float:
            async with open_store(url) as store:
                lease = await store.grant_lease(3)
                watch = LeaseWatch(lease)
                await asyncio.sleep(1)
                first = cluster.members[0]
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
