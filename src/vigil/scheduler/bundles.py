"""Bundles in the scheduler: what ties a bundle's implicit resources together.

A bundle is unpacked into ordinary resources (see
:mod:`vigil.model.bundle`): per replica an IP, a container and a guest
connection, and an inner clone whose instance N runs on replica N's guest
node.  They are placed as ordinary resources are; this module adds what
Pacemaker's bundle adds around them:

- a bundle's guest nodes run nothing but their own replica's inner instance;
- each IP goes with its container and starts before it (stops after it);
- the history of the inner resource on guest node N is instance N's.
"""

from __future__ import annotations

from vigil.model.scores import INFINITY
from vigil.scheduler.colocation import add_colocation
from vigil.scheduler.ordering import OrderSpec
from vigil.scheduler.working import Work
from vigil.scheduler.working_actions import Ord
from vigil.scheduler.working_nodes import WorkNode
from vigil.scheduler.working_resources import (
    WorkBundle,
    WorkColocation,
    WorkPrimitive,
    WorkReplica,
    WorkResource,
)


def restrict_guest_nodes(work: Work) -> None:
    """Stage 2: a bundle's guest node is for its replica's inner instance only,
    and that instance (and the inner clone) may run nowhere else."""
    guests = {replica.guest: replica for bundle in work.bundles.values() for replica in bundle.replicas
              if replica.guest is not None}
    if not guests:
        return
    inner_ids: set[int] = set()
    for bundle in work.bundles.values():
        child = bundle.child
        if child is None:
            continue
        own = {replica.guest for replica in bundle.replicas if replica.guest is not None}
        for name in work.nodes:
            child.allowed[name] = 0 if name in own else -INFINITY
        for replica in bundle.replicas:
            if replica.inner is None:
                continue
            inner_ids.add(id(replica.inner))
            for name in work.nodes:
                replica.inner.allowed[name] = 0 if name == replica.guest else -INFINITY
        for orphan in child.instances[len(bundle.replicas):]:
            for prim in orphan.primitives():
                inner_ids.add(id(prim))
                prim.allowed = dict.fromkeys(work.nodes, -INFINITY)
    for bundle in work.bundles.values():
        for replica in bundle.replicas:
            if replica.remote is None:
                continue
            # A connection runs on a cluster node (nested under a remote node's host).
            for name, node in work.nodes.items():
                if node.type == "remote":
                    replica.remote.allowed[name] = -INFINITY
    children = [b.child for b in work.bundles.values()]
    others: list[WorkResource] = [*work.rscs.values(), *work.groups.values(),
                                  *(c for c in work.clones.values() if all(c is not b for b in children)),
                                  *(b.containers for b in work.bundles.values())]
    for rsc in others:
        if id(rsc) in inner_ids:
            continue
        for guest in guests:
            rsc.allowed[guest] = -INFINITY


def nest_connections(work: Work, containers: WorkResource) -> None:
    """Once a bundle's containers are placed: a connection whose container is on a
    remote node must run where that node's own connection runs (Pacemaker Remote
    takes one connection at a time)."""
    bundle = next((b for b in work.bundles.values() if b.containers is containers), None)
    if bundle is None:
        return
    for replica in bundle.replicas:
        host = replica.container.assigned
        node = work.nodes.get(host) if host is not None else None
        if replica.remote is None or node is None or node.type != "remote" or node.remote_rsc is None:
            continue
        add_colocation(WorkColocation(id="#replica-remote-with-host-remote", dependent=replica.remote,
                                      primary=node.remote_rsc, score=INFINITY))


def replica_on_guest(work: Work, node: WorkNode, base: str) -> WorkReplica | None:
    """The replica whose guest node is ``node`` when ``base`` is its bundle's inner resource."""
    for bundle in work.bundles.values():
        if bundle.child is None or bundle.child.template_id != base:
            continue
        for replica in bundle.replicas:
            if replica.guest == node.name:
                return replica
    return None


def replica_guest(work: Work, instance: WorkResource) -> str | None:
    """The guest node of the replica whose inner instance is ``instance``, if any."""
    for bundle in work.bundles.values():
        for replica in bundle.replicas:
            if replica.inner is instance:
                return replica.guest
    return None


def add_bundle_colocations(work: Work) -> None:
    """Stage 4: each IP goes where its container goes."""
    for bundle in work.bundles.values():
        for replica in bundle.replicas:
            if replica.ip is not None:
                add_colocation(WorkColocation(id="#ip-with-container", dependent=replica.ip,
                                              primary=replica.container, score=INFINITY))


def bundle_orderings(work: Work) -> list[OrderSpec]:
    """Stage 7: each IP starts before its container and stops after it; each
    inner instance starts after its connection and stops before it."""
    specs: list[OrderSpec] = []
    for bundle in work.bundles.values():
        specs.extend(_bundle_with_inner_clone(bundle))
        for replica in bundle.replicas:
            ip: WorkPrimitive | None = replica.ip
            if ip is not None:
                specs.append(OrderSpec(ip, "start", replica.container, "start", Ord.RUNNABLE_LEFT))
                specs.append(OrderSpec(replica.container, "stop", ip, "stop", Ord.IMPLIES_FIRST))
            if replica.remote is not None and replica.inner is not None:
                # The inner instance runs in the container, through the connection: it
                # cannot start without either, starts again when the container does (as
                # Pacemaker orders a guest's starts after its container's), and stops
                # before the connection does.
                specs.append(OrderSpec(replica.container, "start", replica.inner, "start",
                                       Ord.RUNNABLE_LEFT | Ord.IMPLIES_THEN))
                specs.append(OrderSpec(replica.remote, "start", replica.inner, "start", Ord.RUNNABLE_LEFT))
                specs.append(OrderSpec(replica.inner, "stop", replica.remote, "stop", Ord.IMPLIES_FIRST))
    return specs


def _bundle_with_inner_clone(bundle: WorkBundle) -> list[OrderSpec]:
    """The bundle's own pseudo-actions frame its inner clone's (in the graph
    only: the bundle's flags are read from its parts)."""
    child = bundle.child
    if child is None:
        return []
    own = bundle.containers
    pairs = [("start", "start"), ("stop", "stop")]
    completions = [("running", "running"), ("stopped", "stopped")]
    if child.promotable:
        pairs += [("promote", "promote"), ("demote", "demote")]
        completions += [("promoted", "promoted"), ("demoted", "demoted")]
    specs = [OrderSpec(own, task, child, task, Ord.GRAPH_ONLY) for task, _ in pairs]
    specs += [OrderSpec(child, task, own, task, Ord.GRAPH_ONLY) for task, _ in completions]
    return specs
