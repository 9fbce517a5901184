"""Stage 7 — probes: ask a node whether a resource runs there before relying on it.

A resource whose state on an online node is unknown (no history there) gets
a one-shot monitor on that node, ordered before any start, so the cluster
never starts a second copy of something already running.  A probe that
cannot run (the node is still joining) holds back the start of a resource
that is not running anywhere.
"""

from __future__ import annotations

from collections.abc import Callable

from vigil.scheduler.discovery import may_probe
from vigil.scheduler.ordering import OrderSpec
from vigil.scheduler.remote_probes import probe_node_usable, remote_probe
from vigil.scheduler.unfencing import order_vs_unfencing
from vigil.scheduler.variants import ProbeTargets
from vigil.scheduler.variants.primitive_actions import resource_action
from vigil.scheduler.working import Work
from vigil.scheduler.working_actions import Ord
from vigil.scheduler.working_resources import WorkPrimitive, WorkResource


def schedule_probes(work: Work) -> list[OrderSpec]:
    specs: list[OrderSpec] = []
    if not work.options.enable_startup_probes:
        return specs
    nodes = [node for node in work.nodes.values() if probe_node_usable(work, node)]
    if not nodes:
        return specs
    candidates = _candidates(work)
    # A bundle's inner instance can only be inside its own replica's container.
    own_guest = {id(replica.inner): replica.guest for bundle in work.bundles.values()
                 for replica in bundle.replicas if replica.inner is not None}
    for node in nodes:
        for top in work.top:
            for rsc, start_of in candidates(top, node.name):
                if rsc.orphan or node.name in rsc.known_on or not may_probe(work, rsc, node.name):
                    continue
                if own_guest.get(id(rsc), node.name) != node.name:
                    continue
                if not remote_probe(work, rsc, top, start_of, node, specs):
                    continue
                probe = resource_action(work, rsc, "monitor", node.name, optional=False)
                probe.optional = False  # even for an unmanaged resource
                probe.meta["op_target_rc"] = "7"
                order_vs_unfencing(work, rsc, node.name, probe, Ord.OPTIONAL)
                flags = Ord.OPTIONAL
                if not probe.runnable and not rsc.running_on:
                    flags |= Ord.RUNNABLE_LEFT
                specs.append(OrderSpec(rsc, "monitor", start_of, "start", flags, first_action=probe))
    return specs


Candidates = Callable[[WorkResource, str], list[tuple[WorkPrimitive, WorkResource]]]


def _candidates(work: Work) -> Candidates:
    """For a top-level resource and a node: the primitives to probe there,
    each with what its probe must precede (see its variant).  Worked out
    once per resource, before any probe is created (only a clone's depend on
    the node)."""
    targets: dict[WorkResource, ProbeTargets] = {top: top.variant.probe_targets(top) for top in work.top}

    def candidates(top: WorkResource, node: str) -> list[tuple[WorkPrimitive, WorkResource]]:
        return targets[top](node)

    return candidates
