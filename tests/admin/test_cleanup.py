"""``vigil resource cleanup`` is one transaction: a crash in the middle leaves no half cleanup (issue 14, 6).

Before, the command cleared the fail-counts in one commit and forgot the
history in another: a crash between the two left the history (what ran)
with no fail-count, or the reverse.  The store's fault hook raises where a
crash would happen; over a real SQLite file and the memory store.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from vigil.admin import commands
from vigil.admin.commands import Admin
from vigil.model.failcounts import failcount_attribute
from vigil.model.status import OpRecord
from vigil.store import ResourceRef, Store, open_store

WEB = ResourceRef("web", "ocf", "heartbeat", "Dummy")


def _failed_monitor(call_id: int) -> OpRecord:
    return OpRecord(id="web_last_failure_0", operation="monitor", interval_ms=10_000, rc=7, op_status=0,
                    call_id=call_id, last_rc_change=1_700_000_000, operation_key="web_monitor_10000")


def _crash_after_the_fail_counts(step: str) -> None:
    # The old command's second commit (forget_resource) and the new one's midpoint.
    if step in ("forget_resource", "cleanup_resource:failcount"):
        raise OSError("the process died here")


@pytest.mark.parametrize("url", ["memory://", "sqlite"])
def test_a_crash_during_cleanup_leaves_neither_half(tmp_path: Path, url: str) -> None:
    async def main() -> None:
        store: Store = open_store(url if url == "memory://" else f"sqlite://{tmp_path / 'vigil.db'}")
        async with store:
            await store.record_operation("n1", WEB, _failed_monitor(1), failcount_delta=1)
            before = await store.snapshot()
            admin = Admin(store=store, poke=lambda reason: None, clock=lambda: 1_700_000_100.0, node="n1")
            store.fault_hook = _crash_after_the_fail_counts
            with pytest.raises(OSError, match="died here"):
                await commands.cleanup(admin, "web", None)
            store.fault_hook = None
            after = await store.snapshot()
            assert after.revision == before.revision and after.cluster == before.cluster
            # Done again, it does the whole of it.
            result = await commands.cleanup(admin, "web", None)
            assert result.changed and "web on n1" in result.message
            node = (await store.snapshot()).cluster.status.node("n1")
            assert node is None or (node.resources == () and
                                    node.attribute(failcount_attribute("web", "monitor", 10_000)) is None)

    asyncio.run(main())
