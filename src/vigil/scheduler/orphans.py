"""Stage 7 (with probes): the fail-counts of resources gone from the configuration.

An orphan (a resource the history knows and the configuration does not) is
stopped wherever it runs; its fail-counts would otherwise stay behind on
every node, and count against a resource that is configured again under the
same name.  So, when orphans are stopped (``stop-orphan-resources``), each
online node where one has a fail-count that still counts clears it, before
the orphan stops (if it is managed: its actions would not run otherwise).
"""

from __future__ import annotations

from vigil.scheduler.failcounts import node_failures, recorded_failures
from vigil.scheduler.ordering import OrderSpec
from vigil.scheduler.working import Work
from vigil.scheduler.working_actions import Ord


def clear_orphan_failcounts(work: Work) -> list[OrderSpec]:
    specs: list[OrderSpec] = []
    if not work.options.stop_orphan_resources:
        return specs
    for rsc in list(work.rscs.values()):
        if not rsc.orphan or rsc.parent is not None or not rsc.managed:
            # An orphaned clone instance is the clone's business; nothing is
            # done for an unmanaged one (as when fencing has no device).
            continue
        for node in work.nodes.values():
            if not node.online or node.name in rsc.failcount_cleared_on:
                continue
            # An orphan is its own resource: only fail-counts under its very id
            # count (not an anonymous clone's it shares a base name with), and
            # it has no failure-timeout.
            found = recorded_failures(node_failures(node), True, rsc.id)
            if found is None or found[0] <= 0:
                continue
            rsc.failcount_cleared_on.add(node.name)
            clear = work.new_action(rsc, "clear_failcount", node.name, optional=False)
            specs.append(OrderSpec(rsc, "clear_failcount", rsc, "stop", Ord.OPTIONAL, first_action=clear))
    return specs
