"""The scheduler's stages, run in order: ``schedule(cluster, now) -> Transition``.

``schedule()`` reads as the list of stages, in Pacemaker's order; each stage
module's docstring gives its number:

1. unpack the nodes (``unpack_nodes``);
2. unpack the resources (``unpack_resources``), each with its variant;
3. unpack the operation history (``unpack_history``);
4. node scores: health, colocations, locations, stickiness, failures
   (``location``, ``colocation``);
5. definition changes (``config_changes``);
6. assign each resource to a node (its variant's ``assign``), in an order
   of their own under a placement strategy (``utilization``);
7. the orderings to apply (``ordering``) and the probes (``probes``);
8. create the actions (its variant's ``create_actions``);
9. fence what must be fenced (``fencing``), unfence before what needs it
   (``unfencing``: its actions are created before stage 5);
10. apply the orderings and propagate "required" and "unrunnable"
    (``ordering``), then drop reloads of what restarts anyway;
11. the stop context of every stop and start (``context``);
12. the transition summary (``summary``).

No I/O, no clock, no randomness.
"""

from __future__ import annotations

from dataclasses import dataclass

from vigil.model.cluster import Cluster
from vigil.model.options import unpack_options
from vigil.model.rule_eval import RuleContext
from vigil.model.transition import Action, ClusterView, NodeView, ResourceView, SummaryLine, Transition
from vigil.scheduler.bundles import add_bundle_colocations, bundle_orderings
from vigil.scheduler.colocation import unpack_colocations
from vigil.scheduler.config_changes import (
    cancel_reloads_of_restarted,
    handle_config_changes,
    run_deferred_param_checks,
)
from vigil.scheduler.context import attach_stop_context
from vigil.scheduler.discovery import apply_exclusive_discovery
from vigil.scheduler.fencing import schedule_fencing
from vigil.scheduler.location import (
    apply_failure_thresholds,
    apply_locations,
    apply_node_health,
    apply_stickiness,
)
from vigil.scheduler.ordering import (
    apply_order_specs,
    config_orderings,
    internal_orderings,
    propagate,
    with_migration_equivalents,
)
from vigil.scheduler.orphans import clear_orphan_failcounts
from vigil.scheduler.probes import schedule_probes
from vigil.scheduler.recheck import next_failure_expiry
from vigil.scheduler.remote_nodes import avoid_remote_nodes
from vigil.scheduler.remote_ordering import remote_orderings
from vigil.scheduler.shutdown_lock import apply_shutdown_locks, mark_locked_stops, next_lock_expiry
from vigil.scheduler.summary import summarize_by_top
from vigil.scheduler.tickets import apply_tickets
from vigil.scheduler.unfencing import create_unfence_ops, order_restarts_vs_unfencing
from vigil.scheduler.unpack_history import unpack_history
from vigil.scheduler.unpack_nodes import unpack_nodes
from vigil.scheduler.unpack_resources import is_promotable_instance, unpack_resources
from vigil.scheduler.utilization import sort_for_placement
from vigil.scheduler.variants.group import add_group_colocations
from vigil.scheduler.working import Work
from vigil.scheduler.working_actions import Ord, OrdFlags, WorkAction
from vigil.scheduler.working_resources import Role, WorkPrimitive, WorkResource


def schedule(cluster: Cluster, now: int, *, sanitized: bool = False) -> Transition:
    """Plan the transition for ``cluster`` at time ``now`` (epoch seconds).

    ``sanitized`` says the CIB's secret parameters are masked, so that a
    difference only in them is not taken for a definition change.
    """
    return run_stages(cluster, now, sanitized=sanitized).transition


class Tracer:
    """Watches (and may steer) one run of the stages; the incremental
    scheduler uses it to record a run and to replay part of one.

    The default does nothing, so that ``schedule()`` stays a plain function.
    """

    def resources_unpacked(self, work: Work) -> None:
        """Called once the resources are unpacked, before their history."""

    def assign_all(self, work: Work) -> None:
        """Places every top-level resource, in order."""
        assign_all(work)


@dataclass(eq=False)
class StagesRun:
    """One run of the stages: its working state and what came out of it."""

    work: Work
    transition: Transition
    # The summary lines of each top-level resource, in ``work.top`` order.
    summary_by_top: list[list[SummaryLine]]
    # For each action of the transition, the place of its top-level
    # resource in ``work.top`` (-1: an action of no resource).
    action_tops: list[int]


def run_stages(cluster: Cluster, now: int, *, sanitized: bool = False,
               tracer: Tracer | None = None) -> StagesRun:
    tracer = tracer or Tracer()
    panic = dict(cluster.cib_attributes).get("no-quorum-panic", "0") not in ("0", "", "false")
    options = unpack_options(cluster.config, RuleContext(now=now), cluster.status.have_quorum, panic)
    work = Work(cluster=cluster, options=options, now=now, have_quorum=cluster.status.have_quorum,
                sanitized=sanitized)
    unpack_nodes(work)                                   # 1
    unpack_resources(work)                               # 2
    tracer.resources_unpacked(work)
    unpack_history(work)                                 # 3
    view = _view(work)
    apply_node_health(work)                              # 4
    apply_shutdown_locks(work)
    unpack_colocations(work)
    add_group_colocations(work)
    add_bundle_colocations(work)
    apply_tickets(work)
    apply_locations(work)
    avoid_remote_nodes(work)
    apply_stickiness(work)
    apply_exclusive_discovery(work)
    apply_failure_thresholds(work)
    create_unfence_ops(work)
    handle_config_changes(work)                          # 5
    sort_for_placement(work)                             # 6
    tracer.assign_all(work)
    run_deferred_param_checks(work)
    specs = with_migration_equivalents(
        config_orderings(work) + internal_orderings(work) + bundle_orderings(work))  # 7
    specs += schedule_probes(work)
    specs += clear_orphan_failcounts(work)
    create_actions(work)                                 # 8
    specs += remote_orderings(work)
    schedule_fencing(work)                               # 9
    order_restarts_vs_unfencing(work)
    apply_order_specs(work, specs)                       # 10
    propagate(work)
    cancel_reloads_of_restarted(work)
    mark_locked_stops(work)
    create_notifications(work)
    attach_stop_context(work)                            # 11
    fence_lines, by_top = summarize_by_top(work)         # 12
    summary = fence_lines + [line for lines in by_top for line in lines]
    transition, action_tops = _transition(work, view, summary)
    return StagesRun(work, transition, by_top, action_tops)


def assign_all(work: Work) -> None:
    """Place every top-level resource, in placement order (see its variant)."""
    for rsc in placement_order(work):
        rsc.variant.assign(work, rsc, _preferred_node(rsc))


def _preferred_node(rsc: WorkResource) -> str | None:
    """A remote connection caught half way through a migration prefers its
    migration's target (as Pacemaker does), so that the migration can go on
    when that node is as good as any; every other resource prefers none."""
    if rsc.variant.collective:
        return None
    assert isinstance(rsc, WorkPrimitive)
    return rsc.partial_migration_target if rsc.is_remote_connection else None


def placement_order(work: Work) -> list[WorkResource]:
    """The top-level resources in the order they are placed: remote
    connections first (a remote node's availability depends on where its
    connection goes), then the rest, each group in ``work.top`` order."""
    if not work.have_remote_nodes:
        return list(work.top)
    # A bundle's connections are the bundle's own: placed after its containers.
    connection_ids = {rsc.id for rsc in work.rscs.values()
                      if rsc.is_remote_connection and rsc.bundle_id is None}
    connections = [r for r in work.top if r.id in connection_ids]
    return connections + [r for r in work.top if r.id not in connection_ids]


def create_actions(work: Work) -> None:
    """Each resource's own actions, then its parent's pseudo-actions (see
    its variant)."""
    for rsc in work.top:
        rsc.variant.create_actions(work, rsc)


def create_notifications(work: Work) -> None:
    """Once "required" and "unrunnable" have settled: the notifications of
    every clone that asks for them (see its variant)."""
    for rsc in work.top:
        rsc.variant.create_notifications(work, rsc)


def _view(work: Work) -> ClusterView:
    nodes = []
    for node in work.nodes.values():
        if node.unclean:
            state = "unclean-online" if node.online else "unclean-offline"
        elif not node.online:
            state = "offline"
        elif node.pending:
            state = "pending"
        elif node.shutdown:
            state = "shutting-down"
        elif node.maintenance:
            state = "maintenance"
        elif node.standby:
            state = "standby-with-resources" if any(
                node.name in r.running_on for r in work.rscs.values()
            ) else "standby"
        else:
            state = "online"
        nodes.append(NodeView(node.name, state))
    resources = []
    for rsc in _document_order(work):
        role = rsc.role.text if rsc.role != Role.UNKNOWN else "Stopped"
        if not rsc.running_on:
            role = "Stopped"
        elif rsc.role == Role.STARTED and is_promotable_instance(rsc):
            role = Role.UNPROMOTED.text  # an active instance of a promotable clone
        resources.append(ResourceView(
            id=rsc.id, agent=rsc.agent, role=role, nodes=tuple(rsc.running_on),
            failed=rsc.failed, managed=rsc.managed, blocked=rsc.blocked, orphan=rsc.orphan,
            disabled=rsc.meta.get("target-role", "").lower() == "stopped", parent=rsc.prim.parent,
        ))
    return ClusterView(tuple(nodes), tuple(resources), work.have_quorum)


def _next_recheck(work: Work) -> int | None:
    """When the plan changes with time alone: a failure or a shutdown lock expires."""
    times = [t for t in (next_failure_expiry(work), next_lock_expiry(work)) if t is not None]
    return min(times, default=None)


def _document_order(work: Work) -> list[WorkPrimitive]:
    order = {p.id: i for i, p in enumerate(work.cluster.config.primitives())}
    return sorted(work.rscs.values(), key=lambda r: order.get(r.id, len(order)))


def _is_scheduled(action: WorkAction) -> bool:
    return not action.optional and (action.runnable or action.pseudo)


def _migration_makes_moot(before: WorkAction, flags: OrdFlags) -> bool:
    """An ordering that only holds when ``before`` is not part of a live
    migration, and it is (as Pacemaker leaves such inputs out of its graph)."""
    if not before.migratable:
        return False
    if flags & Ord.IF_FIRST_UNMIGRATABLE:
        return True
    return flags == Ord.OPTIONAL and before.task == "stop"


def top_rank(work: Work) -> dict[int, int]:
    """Each primitive, group and clone (by ``id()``) -> the place of its
    top-level resource in ``work.top``."""
    rank: dict[int, int] = {}
    for position, top in enumerate(work.top):
        rank[id(top)] = position
        for child in top.children():
            rank[id(child)] = position
            for member in child.children():
                rank[id(member)] = position
    return rank


def _transition(work: Work, view: ClusterView,
                summary: list[SummaryLine]) -> tuple[Transition, list[int]]:
    # Actions are listed by top-level resource (in placement order), each
    # resource's in the order they were made; actions of no resource
    # (fencing) first.  Every top-level resource's actions are thus one run
    # of the list, which the incremental scheduler relies on.
    rank = top_rank(work)
    ranked = sorted(
        ((rank.get(id(a.rsc), -1) if a.rsc is not None else -1, a.id, a)
         for a in work.actions if _is_scheduled(a)),
        key=lambda item: (item[0], item[1]),
    )
    chosen = [a for _, _, a in ranked]
    index = {id(a): i for i, a in enumerate(chosen)}
    actions = tuple(
        Action(
            index=i,
            task=a.task,
            resource=a.rsc.id if a.rsc is not None else None,
            node=a.node,
            interval_ms=a.interval_ms,
            pseudo=a.pseudo,
            meta=tuple(sorted(a.meta.items())),
        )
        for i, a in enumerate(chosen)
    )
    edges = set()
    for a in chosen:
        for before, flags in a.befores:
            if id(before) in index and not _migration_makes_moot(before, flags):
                edges.add((index[id(before)], index[id(a)]))
    transition = Transition(
        actions=actions,
        order=tuple(sorted(edges)),
        summary=tuple(summary),
        notes=tuple(work.notes),
        view=view,
        recheck_by=_next_recheck(work),
    )
    return transition, [position for position, _, _ in ranked]
