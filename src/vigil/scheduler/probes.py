"""Probes: ask a node whether a resource runs there before relying on it.

A resource whose state on an online node is unknown (no history there) gets
a one-shot monitor on that node, ordered before any start, so the cluster
never starts a second copy of something already running.  A probe that
cannot run (the node is still joining) holds back the start of a resource
that is not running anywhere.
"""

from __future__ import annotations

from collections.abc import Callable

from vigil.scheduler.actions import resource_action
from vigil.scheduler.clone import probe_targets
from vigil.scheduler.instances import Instance, instance_number
from vigil.scheduler.ordering import OrderSpec
from vigil.scheduler.working import Ord, WClone, Work, WRes, WRsc


def schedule_probes(work: Work) -> list[OrderSpec]:
    specs: list[OrderSpec] = []
    if not work.options.enable_startup_probes:
        return specs
    nodes = [node for node in work.nodes.values() if node.online and not node.unclean]
    if not nodes:
        return specs
    clone_targets: dict[WClone, Callable[[str], list[Instance]]] = {}
    for top in work.top:
        if isinstance(top, WClone):
            # Instances are handled in number order from here on, as Pacemaker does.
            top.instances.sort(key=instance_number)
            clone_targets[top] = probe_targets(top)
    for node in nodes:
        for top in work.top:
            for rsc, start_of in _probe_candidates(top, node.name, clone_targets):
                if rsc.orphan or node.name in rsc.known_on:
                    continue
                probe = resource_action(work, rsc, "monitor", node.name, optional=False)
                probe.optional = False  # even for an unmanaged resource
                probe.meta["op_target_rc"] = "7"
                flags = Ord.OPTIONAL
                if not probe.runnable and not rsc.running_on:
                    flags |= Ord.RUNNABLE_LEFT
                specs.append(OrderSpec(rsc, "monitor", start_of, "start", flags, first_action=probe))
    return specs


def _probe_candidates(top: WRes, node: str, clone_targets: dict[WClone, Callable[[str], list[Instance]]],
                      ) -> list[tuple[WRsc, WRes]]:
    """The primitives to probe, each with what its probe must precede."""
    if isinstance(top, WClone):
        return [(prim, top) for instance in clone_targets[top](node) for prim in instance.primitives()]
    return [(prim, prim) for prim in top.primitives()]
