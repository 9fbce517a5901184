"""Probes: ask a node whether a resource runs there before relying on it.

A resource whose state on an online node is unknown (no history there) gets
a one-shot monitor on that node, ordered before any start, so the cluster
never starts a second copy of something already running.
"""

from __future__ import annotations

from vigil.model.scores import INFINITY
from vigil.scheduler.working import Ord, Work, order


def schedule_probes(work: Work) -> None:
    if not work.options.enable_startup_probes:
        return
    for node in work.nodes.values():
        if not node.online or node.unclean or node.pending or node.shutdown:
            continue
        for rsc in work.rscs.values():
            if rsc.orphan or node.name in rsc.known_on:
                continue
            if rsc.allowed.get(node.name, 0) <= -INFINITY and not work.options.symmetric_cluster:
                continue
            probe = work.new_action(rsc, "monitor", node.name, 0, optional=False)
            probe.meta["op_target_rc"] = "7"
            for start in [a for a in rsc.actions if a.task == "start"]:
                order(probe, start, Ord.OPTIONAL)
