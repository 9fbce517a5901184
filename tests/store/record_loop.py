"""The child of the kill -9 test: records failures in a loop and reports each commit.

Usage: ``python record_loop.py URL``.  After each ``record_operation``
returns, prints ``REVISION CALL_ID`` and flushes: a line on stdout means
the commit was reported to the caller, so it must survive a SIGKILL.
Each call records a failure of ``rsc1``'s 10 s monitor (fail-count +1)
under one of several op ids, so after any crash the fail-count must equal
the newest call id recorded.
"""

from __future__ import annotations

import asyncio
import sys

from vigil.model.status import OpRecord
from vigil.store import ResourceRef, open_store

RESOURCE = ResourceRef(id="rsc1", cls="ocf", provider="pacemaker", type="Dummy")
OP_IDS = 5


async def main(url: str) -> None:
    store = open_store(url)
    node = (await store.snapshot()).cluster.status.node("node1")
    call_id = max((r.call_id for h in node.resources for r in h.ops), default=0) if node else 0
    print("ready", flush=True)
    while True:
        call_id += 1
        record = OpRecord(
            id=f"rsc1_monitor_10000_{call_id % OP_IDS}",
            operation="monitor",
            interval_ms=10_000,
            rc=1,
            op_status=0,
            call_id=call_id,
            last_rc_change=call_id,
        )
        revision = await store.record_operation(
            "node1", RESOURCE, record, failcount_delta=1, attributes={"last-call": str(call_id)}
        )
        print(revision, call_id, flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
