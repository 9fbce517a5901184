"""Probes: ask a node whether a resource runs there before relying on it.

A resource whose state on an online node is unknown (no history there) gets
a one-shot monitor on that node, ordered before any start, so the cluster
never starts a second copy of something already running.  A probe that
cannot run (the node is still joining) holds back the start of a resource
that is not running anywhere.
"""

from __future__ import annotations

from vigil.scheduler.actions import resource_action
from vigil.scheduler.ordering import OrderSpec
from vigil.scheduler.working import Ord, Work


def schedule_probes(work: Work) -> list[OrderSpec]:
    specs: list[OrderSpec] = []
    if not work.options.enable_startup_probes:
        return specs
    for node in work.nodes.values():
        if not node.online or node.unclean:
            continue
        for rsc in [p for top in work.top for p in top.primitives()]:
            if rsc.orphan or node.name in rsc.known_on:
                continue
            probe = resource_action(work, rsc, "monitor", node.name, optional=False)
            probe.meta["op_target_rc"] = "7"
            flags = Ord.OPTIONAL
            if not probe.runnable and not rsc.running_on:
                flags |= Ord.RUNNABLE_LEFT
            specs.append(OrderSpec(rsc, "monitor", rsc, "start", flags, first_action=probe))
    return specs
