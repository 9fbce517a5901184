"""A new controller takes in what earlier controllers left in the store before it plans.

The previous controller may have died with work orders out.  An order of an
earlier term is never claimed again (the store checks the term it names), so
a ``pending`` one is simply removed.  A ``claimed`` one may be running right
now on a node that is still a member: a start in progress there means the
resource is running there, and a plan made before its result is recorded
would start it a second time elsewhere.  So the new controller waits until
every such order is ``done`` (its result recorded by the node, which is what
the scheduler then reads) or its node is lost (and then fenced before
anything of it is recovered), and removes them.  Everything else the old
controller knew is in the store: the operation history and fail-counts
(results are recorded by the nodes that ran them), the fence history, the
transition reports; the recurring monitors run on their nodes and never
stopped.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable

from vigil.store.base import ORDER_CLAIMED, Store, WorkOrder, WorkOrderConflict
from vigil.store.coord import Guard

log = logging.getLogger(__name__)

# How long a new controller waits, at most, for the orders of an earlier term still running
# (seconds): longer than any agent action should take; after it, it plans anyway (and says so).
TAKEOVER_WAIT_S = 120.0
# How often the wait looks again when the store does not change (seconds).
TAKEOVER_POLL_S = 0.5


async def outstanding_orders(store: Store, term: Guard, nodes: Iterable[str]) -> list[WorkOrder]:
    """Remove the finished or dead orders of earlier terms; those still running on a member."""
    members = await store.members()
    running: list[WorkOrder] = []
    for node in nodes:
        for order in await store.work_orders(node):
            if order.term == term.revision:
                continue
            if order.state == ORDER_CLAIMED and members.get(node) == order.incarnation:
                running.append(order)
                continue
            with contextlib.suppress(WorkOrderConflict):  # removed meanwhile
                await store.remove_work_order(node, order.id, guard=term)
    return running


async def settle_earlier_orders(store: Store, term: Guard, nodes: Iterable[str], *,
                                timeout_s: float = TAKEOVER_WAIT_S) -> None:
    """Until no order of an earlier term runs on a member (or ``timeout_s`` passed)."""
    names = sorted(set(nodes))
    deadline = time.monotonic() + timeout_s
    announced = False
    while True:
        revision = await store.revision()
        running = await outstanding_orders(store, term, names)
        if not running:
            if announced:
                log.info("every work order of the previous controller is finished")
            return
        if not announced:
            log.info("waiting for %d work order(s) of the previous controller to finish: %s", len(running),
                     ", ".join(f"{o.id} on {o.node}" for o in running))
            announced = True
        if time.monotonic() >= deadline:
            log.error("work orders of the previous controller still running after %.0f s (%s): planning "
                      "anyway", timeout_s, ", ".join(f"{o.id} on {o.node}" for o in running))
            return
        await store.wait_for_change(revision, timeout=TAKEOVER_POLL_S)
