"""What if: the live cluster with one failure imagined, for the scheduler to plan from.

The web page's "what if" (``GET /api/v1/what-if``) asks what the cluster
would do after

- ``monitor``: a resource's operation (its monitor by default) fails on a
  node, recorded exactly as the controller records it, fail-count included
  (:func:`vigil.simulator.steps.inject_failure`, the machinery of
  ``vigil simulate --fail``);
- ``node-lost``: a node's membership is lost, recorded as the controller of
  a cluster records it (:func:`vigil.model.membership.lost_state`): unclean,
  to be fenced, with fencing enabled; down and clean without it, which the
  controller records only after the node's longest stop timeout (a note
  says so).  In a cluster, quorum is counted again without the node;
- ``standby``: a node is put in standby, as ``vigil node standby`` writes it.

The result is a :class:`~vigil.model.cluster.Cluster` like any other: the
caller schedules it.  Nothing is written anywhere; the store the cluster was
read from is not touched.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from vigil.admin import edits
from vigil.admin.errors import AdminError, NotFound
from vigil.admin.tree import node_names
from vigil.model.cluster import Cluster
from vigil.model.config import Primitive
from vigil.model.membership import has_quorum, lost_state
from vigil.model.options import unpack_options
from vigil.model.resources import find, resource_ids
from vigil.model.rule_eval import RuleContext
from vigil.simulator.failures import Failure
from vigil.simulator.steps import inject_failure

KINDS = ("monitor", "node-lost", "standby")
# The operations whose failure may be imagined (a recurring monitor is the usual one).
OPERATIONS = ("monitor", "start", "stop", "promote", "demote")


@dataclass(frozen=True)
class Imagined:
    """The cluster after the imagined failure, said in words, with what the plan does not show."""

    cluster: Cluster
    description: str
    notes: tuple[str, ...] = ()


def imagine(cluster: Cluster, kind: str, node: str, resource: str | None, operation: str | None, now: int,
            members: Mapping[str, int] | None = None) -> Imagined:
    """``cluster`` as it would be after the failure ``kind`` on ``node`` (see the module docstring).

    ``members`` is the membership of a cluster (None on one machine): a lost
    node then counts against quorum.  Raises :class:`AdminError` (nothing
    imagined) for an unknown kind, node, resource or operation.
    """
    if kind not in KINDS:
        raise AdminError(f"unknown failure {kind!r}: use one of {', '.join(KINDS)}")
    if kind == "monitor":
        return _operation_fails(cluster, node, resource, operation or "monitor", now)
    if resource is not None or operation is not None:
        raise AdminError(f"a {kind} failure names a node only, not a resource or an operation")
    if kind == "node-lost":
        return _node_lost(cluster, node, now, members)
    return _standby(cluster, node)


def _known_node(cluster: Cluster, node: str) -> None:
    known = sorted(set(node_names(cluster.config)) | {s.uname for s in cluster.status.nodes})
    if node not in known:
        raise NotFound("node", node, known)


def _operation_fails(cluster: Cluster, node: str, resource: str | None, operation: str,
                     now: int) -> Imagined:
    if resource is None:
        raise AdminError("a monitor failure names the resource that fails")
    task = operation.partition("_")[0]
    if task not in OPERATIONS:
        raise AdminError(f"unknown operation {operation!r}: use one of {', '.join(OPERATIONS)}")
    found = find(cluster.config, resource)
    if found is None:
        raise NotFound("resource", resource, resource_ids(cluster.config))
    if not isinstance(found.resource, Primitive):
        members = ", ".join(p.id for p in found.primitives)
        raise AdminError(f"{resource} is a {type(found.resource).__name__.lower()}: pick the primitive "
                         f"that fails ({members})")
    _known_node(cluster, node)
    if cluster.status.node(node) is None:
        raise AdminError(f"{node} has no status yet (it never joined): nothing of it can fail")
    failed = inject_failure(cluster, Failure(resource, node, operation), now)
    return Imagined(failed, f"{resource}'s {operation} fails on {node}")


def _node_lost(cluster: Cluster, node: str, now: int, members: Mapping[str, int] | None) -> Imagined:
    _known_node(cluster, node)
    state = cluster.status.node(node)
    if state is None:
        raise AdminError(f"{node} has no status yet (it never joined): it cannot be lost")
    options = unpack_options(cluster.config, RuleContext(now=now), cluster.status.have_quorum)
    lost = lost_state(state, fenced_by_cluster=options.stonith_enabled)
    membership = {name: getattr(lost, name) for name in ("in_ccm", "crmd", "join", "expected")}
    nodes = tuple(dataclasses.replace(other, **membership) if other.uname == node else other
                  for other in cluster.status.nodes)
    status = dataclasses.replace(cluster.status, nodes=nodes)
    notes: list[str] = []
    if members is not None:
        remaining = {name: incarnation for name, incarnation in members.items() if name != node}
        status = dataclasses.replace(status, have_quorum=has_quorum(cluster.config, remaining))
        if not status.have_quorum:
            notes.append(f"without {node} the cluster has no quorum: no-quorum-policy applies")
    if not options.stonith_enabled:
        notes.append(f"fencing is disabled: the controller first waits for {node}'s longest stop timeout "
                     "(it stops its resources by itself once it cannot renew its lease), then plans this")
    return Imagined(dataclasses.replace(cluster, status=status), f"{node} is lost (its membership lease "
                    "expires)", tuple(notes))


def _standby(cluster: Cluster, node: str) -> Imagined:
    config = edits.set_standby(cluster.config, node, True)  # NotFound for a node not configured
    return Imagined(dataclasses.replace(cluster, config=config), f"{node} is put in standby")
