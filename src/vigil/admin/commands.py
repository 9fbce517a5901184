"""The operator's commands against the store: read, edit by compare-and-set, poke the controller.

Every command changes the *store* and then asks the controller to plan
again (``poke``); the controller decides what to run.  Configuration edits
are the pure functions of :mod:`vigil.admin.edits`, applied to the
configuration just read and written back only if its revision has not
moved (else read again and reapply, a few times, then a
:class:`~vigil.admin.errors.Conflict`).  Status commands (cleanup, clearing
fail-counts) use the store's own single-transaction methods.

An error raised here (:class:`~vigil.admin.errors.AdminError`) means nothing
was changed, except for ``restart``, which documents what it leaves behind.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from vigil.admin import edits
from vigil.admin.errors import AdminError, Conflict, NotFound
from vigil.admin.tree import find_resource, node_names
from vigil.model.cluster import Cluster
from vigil.model.config import Config
from vigil.model.failcounts import failure_attribute
from vigil.model.membership import as_planned
from vigil.model.resources import TARGET_ROLE, belongs_to, instance_base, resource_ids
from vigil.model.transition import ClusterView
from vigil.output.failcounts import FailCount, failcounts
from vigil.output.history import HistoryEntry, history_entries
from vigil.output.report import ControllerInfo, FencingInfo, StatusReport, build_report
from vigil.output.transition import render_json, render_pacemaker, render_text
from vigil.scheduler import schedule
from vigil.store.base import RevisionConflict, Snapshot, Store

# How often a configuration edit is reapplied when another writer got in first.
CAS_ATTEMPTS = 5
# How long `resource restart` waits by default, and at most.
RESTART_TIMEOUT_S = 60.0
RESTART_TIMEOUT_MAX_S = 600.0


@dataclass(frozen=True)
class Admin:
    """What the commands need: the store, the controller's poke, the clock, and this node's name."""

    store: Store
    poke: Callable[[str], None]
    clock: Callable[[], float]
    node: str


@dataclass(frozen=True)
class CommandResult:
    """What a command did, for the operator."""

    message: str
    changed: bool
    # The store revision after the command (the config revision for configuration edits).
    revision: int
    notes: tuple[str, ...] = ()


# -- configuration edits -------------------------------------------------------------------------


async def edit_config(admin: Admin, edit: Callable[[Config], Config],
                      reason: str) -> tuple[Config, bool, int]:
    """Apply ``edit`` to the stored configuration by compare-and-set, then poke the controller.

    Returns (the configuration it was applied to, whether it changed anything,
    the config revision).  ``edit`` may raise :class:`AdminError`: nothing is written.
    """
    for _ in range(CAS_ATTEMPTS):
        config, revision = await admin.store.get_config()
        changed = edit(config)
        if changed == config:
            return config, False, revision
        try:
            new_revision = await admin.store.put_config(changed, revision)
        except RevisionConflict:
            continue
        admin.poke(reason)
        return config, True, new_revision
    raise Conflict(f"the configuration kept changing while {reason!r} was applied "
                   f"({CAS_ATTEMPTS} attempts); nothing was changed: try again")


async def set_target_role(admin: Admin, rsc: str, role: str | None, verb: str) -> CommandResult:
    """start (Started), stop (Stopped), enable (None), disable (Stopped)."""
    before, changed, revision = await edit_config(
        admin, lambda config: edits.set_target_role(config, rsc, role), f"resource {verb} {rsc}")
    was = edits.meta_value(before, rsc, TARGET_ROLE)
    shown = f"target-role={role}" if role is not None else "no target-role"
    message = (f"{rsc}: {shown} (was {'target-role=' + was if was else 'unset'})" if changed
               else f"{rsc}: already {shown}, nothing changed")
    notes: list[str] = []
    if role is None or role.lower() != "stopped":
        config, _ = await admin.store.get_config()
        notes += [f"{rsc} stays stopped while {parent} has target-role=Stopped: "
                  f"`vigil resource start {parent}` starts it"
                  for parent in edits.stopped_ancestors(config, rsc)]
    return CommandResult(message, changed, revision, tuple(notes))


async def set_maintenance(admin: Admin, rsc: str, on: bool) -> CommandResult:
    _, changed, revision = await edit_config(
        admin, lambda config: edits.set_maintenance(config, rsc, on),
        f"resource maintenance {rsc} {'on' if on else 'off'}")
    what = ("in maintenance: the cluster neither starts, stops nor monitors it (maintenance=true)" if on
            else "managed again (maintenance=false)")
    return CommandResult(f"{rsc} is {what}", changed, revision)


async def cluster_view(admin: Admin) -> tuple[Snapshot, ClusterView, int]:
    """One snapshot and the scheduler's view of it now."""
    snapshot = await admin.store.snapshot()
    now = int(admin.clock())
    transition = await asyncio.to_thread(schedule, snapshot.cluster, now)
    return snapshot, transition.view or ClusterView(), now


def active_nodes(config: Config, view: ClusterView, rsc: str, *, promoted: bool = False) -> list[str]:
    """Where the primitives of ``rsc`` (or their clone instances) are active (with ``promoted``:
    promoted), in view order."""
    primitives = {p.id for p in find_resource(config, rsc).primitives}
    nodes: list[str] = []
    for found in view.resources:
        if promoted and found.role != "Promoted":
            continue
        if any(belongs_to(found.id, prim) for prim in primitives):
            nodes.extend(node for node in found.nodes if node not in nodes)
    return nodes


async def _where_it_runs(admin: Admin, rsc: str, verb: str, *, promoted: bool = False) -> str:
    snapshot, view, _ = await cluster_view(admin)
    nodes = active_nodes(snapshot.cluster.config, view, rsc, promoted=promoted)
    active = "promoted" if promoted else "active"
    if not nodes:
        raise Conflict(f"{rsc} is not {active} on any node: give the node to {verb} it from")
    if len(nodes) > 1:
        raise Conflict(f"{rsc} is {active} on {len(nodes)} nodes ({', '.join(nodes)}): give the node to "
                       f"{verb} it from")
    return nodes[0]


def _ban_note(rsc: str, node: str, promoted: bool = False) -> str:
    what = f"{rsc}'s promoted role" if promoted else rsc
    return (f"{edits.ban_id(rsc, node)} (-INFINITY) keeps {what} off {node} until it is removed: "
            f"`vigil resource clear {rsc}`")


async def move(admin: Admin, rsc: str, node: str | None, *, promoted: bool = False) -> CommandResult:
    """``crm_resource --move [--promoted]``: prefer NODE; without NODE, ban the node it runs
    (is promoted) on."""
    what = f"the promoted role of {rsc}" if promoted else rsc
    if node is None:
        current = await _where_it_runs(admin, rsc, "move", promoted=promoted)
        result = await ban(admin, rsc, current, promoted=promoted)
        return CommandResult(f"{what} is moving away from {current}", result.changed, result.revision,
                             result.notes)
    _, changed, revision = await edit_config(
        admin, lambda config: edits.move_to(config, rsc, node, promoted=promoted),
        f"resource move {rsc} {node}{' --promoted' if promoted else ''}")
    note = (f"{edits.prefer_id(rsc)} (INFINITY on {node}{', role Promoted' if promoted else ''}) stays "
            f"until it is removed: `vigil resource clear {rsc}`")
    return CommandResult(f"{what} is moving to {node}", changed, revision, (note,))


async def ban(admin: Admin, rsc: str, node: str | None, *, promoted: bool = False) -> CommandResult:
    """``crm_resource --ban [--promoted]``: ``cli-ban-RSC-on-NODE`` -INFINITY (NODE: where it runs,
    or is promoted)."""
    target = node if node is not None else await _where_it_runs(admin, rsc, "ban", promoted=promoted)
    _, changed, revision = await edit_config(
        admin, lambda config: edits.ban_from(config, rsc, target, promoted=promoted),
        f"resource ban {rsc} {target}{' --promoted' if promoted else ''}")
    what = f"the promoted role of {rsc}" if promoted else rsc
    return CommandResult(f"{what} is banned from {target}", changed, revision,
                         (_ban_note(rsc, target, promoted),))


async def clear(admin: Admin, rsc: str, node: str | None) -> CommandResult:
    """``crm_resource --clear``: remove the cli-prefer and cli-ban constraints of ``rsc``."""
    before, changed, revision = await edit_config(
        admin, lambda config: edits.clear_constraints(config, rsc, node), f"resource clear {rsc}")
    removed = [loc.id for loc in edits.cli_constraints(before, rsc, node)] if changed else []
    message = (f"removed {', '.join(removed)}" if removed
               else f"{rsc} has no move or ban constraints{' on ' + node if node else ''}")
    return CommandResult(message, changed, revision)


async def set_node_standby(admin: Admin, node: str, on: bool) -> CommandResult:
    """``pcs node standby|unstandby``: the permanent attribute in the configuration.

    ``online`` also removes a transient ``standby`` (the one the
    ``on-recovery-exhausted=standby`` policy sets, or ``crm_standby
    --lifetime reboot``), or the node would stay in standby.
    """
    _, changed, revision = await edit_config(
        admin, lambda config: edits.set_standby(config, node, on),
        f"node {'standby' if on else 'online'} {node}")
    if not on:
        before = await admin.store.revision()
        revision = await admin.store.set_node_attribute(node, "standby", None)
        if revision != before:
            changed = True
            admin.poke(f"node online {node}")
    message = (f"{node} is in standby: its resources move away or stop" if on
               else f"{node} is online: it may run resources again")
    return CommandResult(message, changed, revision)


async def set_node_maintenance(admin: Admin, node: str, on: bool) -> CommandResult:
    _, changed, revision = await edit_config(
        admin, lambda config: edits.set_node_maintenance(config, node, on),
        f"node maintenance {node} {'on' if on else 'off'}")
    message = (f"{node} is in maintenance: its resources are left as they are, unmonitored" if on
               else f"{node} is out of maintenance: the cluster manages its resources again")
    return CommandResult(message, changed, revision)


# -- restart -------------------------------------------------------------------------------------------


async def _wait_for(admin: Admin, rsc: str, done: Callable[[list[str]], bool], deadline: float) -> bool:
    """Wait until ``done(active nodes of rsc)`` holds, re-checking at each store change."""
    loop = asyncio.get_running_loop()
    while True:
        snapshot, view, _ = await cluster_view(admin)
        try:
            nodes = active_nodes(snapshot.cluster.config, view, rsc)
        except NotFound:
            raise Conflict(f"{rsc} was removed from the configuration during the restart") from None
        if done(nodes):
            return True
        remaining = deadline - loop.time()
        if remaining <= 0:
            return False
        await admin.store.wait_for_change(snapshot.revision, timeout=min(remaining, 1.0))


def _count_active(config: Config, view: ClusterView, rsc: str) -> int:
    primitives = {p.id for p in find_resource(config, rsc).primitives}
    return sum(len(v.nodes) for v in view.resources if any(belongs_to(v.id, p) for p in primitives))


async def restart(admin: Admin, rsc: str, timeout_s: float = RESTART_TIMEOUT_S) -> CommandResult:
    """``crm_resource --restart``: stop ``rsc`` everywhere, restore its target-role, wait for it to run.

    Sets ``target-role=Stopped`` on the resource as configured, waits (within
    ``timeout_s``) until the scheduler's view shows none of its instances
    active, then puts back the ``target-role`` it had (or removes it) and
    waits, within the same deadline, until it is active again.  The previous
    target-role is restored whatever happens (a timeout, an error, the
    request being cancelled); a :class:`Conflict` says which step did not
    finish in time.
    """
    if not 0 < timeout_s <= RESTART_TIMEOUT_MAX_S:
        raise AdminError(f"the timeout must be between 0 and {RESTART_TIMEOUT_MAX_S:.0f} seconds")
    snapshot, view, _ = await cluster_view(admin)
    config = snapshot.cluster.config
    before = _count_active(config, view, rsc)
    if before == 0:
        raise Conflict(f"{rsc} is not active on any node: nothing to restart "
                       f"(`vigil resource start {rsc}` starts it)")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    previous = edits.meta_value(config, rsc, TARGET_ROLE)
    await edit_config(admin, lambda c: edits.set_resource_meta(c, rsc, TARGET_ROLE, "Stopped"),
                      f"resource restart {rsc} (stopping)")
    try:
        stopped = await _wait_for(admin, rsc, lambda nodes: not nodes, deadline)
    finally:
        await asyncio.shield(_restore_target_role(admin, rsc, previous))
    if not stopped:
        raise Conflict(f"{rsc} did not stop within {timeout_s:g} s; its target-role was restored "
                       f"({'target-role=' + previous if previous else 'unset'}): see `vigil status`")
    started = await _wait_for(admin, rsc, lambda nodes: bool(nodes), deadline)
    if not started:
        raise Conflict(f"{rsc} stopped, but did not start again within {timeout_s:g} s: see `vigil status`")
    snapshot, view, _ = await cluster_view(admin)
    nodes = active_nodes(snapshot.cluster.config, view, rsc)
    return CommandResult(f"{rsc} restarted: stopped everywhere, then started on {', '.join(nodes)}", True,
                         snapshot.config_revision)


async def _restore_target_role(admin: Admin, rsc: str, previous: str | None) -> None:
    def restore(config: Config) -> Config:
        if rsc not in resource_ids(config):
            return config
        return edits.set_resource_meta(config, rsc, TARGET_ROLE, previous)

    await edit_config(admin, restore, f"resource restart {rsc} (starting again)")


# -- status: cleanup and fail-counts ------------------------------------------------------------------


def _status_nodes(snapshot: Snapshot, node: str | None) -> list[str]:
    names = [state.uname for state in snapshot.cluster.status.nodes]
    if node is None:
        return names
    if node not in names and node not in node_names(snapshot.cluster.config):
        raise NotFound("node", node, sorted(set(names) | set(node_names(snapshot.cluster.config))))
    return [node] if node in names else []


def _primitives_or_orphan(snapshot: Snapshot, rsc: str) -> list[str]:
    """The primitive ids of ``rsc``, or ``rsc`` itself when only the status still knows it."""
    config = snapshot.cluster.config
    if rsc in resource_ids(config):
        return [p.id for p in find_resource(config, rsc).primitives]
    for state in snapshot.cluster.status.nodes:
        if any(belongs_to(h.id, rsc) for h in state.resources) or any(
                _attribute_resource(name) in (rsc,) for name, _ in state.attributes):
            return [rsc]
    raise NotFound("resource", rsc, resource_ids(config))


def _attribute_resource(name: str) -> str | None:
    """The resource a fail-count or last-failure attribute is of (a clone instance's: the primitive)."""
    parts = failure_attribute(name)
    return None if parts is None else instance_base(parts[1].rpartition("#")[0])


def _failed_resources(snapshot: Snapshot, node: str) -> list[str]:
    """Resources with a fail-count or a recorded failure on ``node`` (a cleanup without a resource)."""
    state = snapshot.cluster.status.node(node)
    if state is None:
        return []
    found: list[str] = []
    for name, _ in state.attributes:
        rsc = _attribute_resource(name)
        if rsc is not None and rsc not in found:
            found.append(rsc)
    for history in state.resources:
        if any(op.id.endswith("_last_failure_0") for op in history.ops):
            rsc = instance_base(history.id)
            if rsc not in found:
                found.append(rsc)
    return found


async def cleanup(admin: Admin, rsc: str | None, node: str | None) -> CommandResult:
    """``crm_resource --cleanup``: clear fail-counts and forget the history, so it is probed again.

    Without ``rsc``, every resource with a failure (as crm_resource does);
    without ``node``, on every node.
    """
    snapshot = await admin.store.snapshot()
    nodes = _status_nodes(snapshot, node)
    wanted = _primitives_or_orphan(snapshot, rsc) if rsc is not None else None
    revision = snapshot.revision
    cleaned: list[str] = []
    for name in nodes:
        primitives = wanted if wanted is not None else _failed_resources(snapshot, name)
        for prim in primitives:
            # One transaction: a crash never leaves the history forgotten and the fail-count kept.
            revision = max(revision, await admin.store.cleanup_resource(name, prim))
            cleaned.append(f"{prim} on {name}")
    changed = revision != snapshot.revision
    if changed:
        admin.poke(f"cleanup of {rsc or 'failed resources'}")
    if not cleaned:
        return CommandResult("nothing to clean up", False, revision)
    return CommandResult(f"cleaned up {', '.join(cleaned)}: fail-counts cleared and history forgotten "
                         "(it is probed again)", changed, revision)


async def clear_failcounts(admin: Admin, rsc: str, node: str | None) -> CommandResult:
    """``crm_failcount --delete``: clear the fail-counts of ``rsc`` (the history is kept)."""
    snapshot = await admin.store.snapshot()
    nodes = _status_nodes(snapshot, node)
    primitives = _primitives_or_orphan(snapshot, rsc)
    revision = snapshot.revision
    for name in nodes:
        for prim in primitives:
            revision = max(revision, await admin.store.clear_failcount(name, prim))
    changed = revision != snapshot.revision
    if changed:
        admin.poke(f"fail-count of {rsc} cleared")
    where = node if node is not None else "every node"
    return CommandResult(f"fail-counts of {rsc} cleared on {where}" if changed
                         else f"{rsc} has no fail-count on {where}", changed, revision)


async def list_failcounts(admin: Admin, rsc: str | None, node: str | None) -> list[FailCount]:
    snapshot = await admin.store.snapshot()
    _status_nodes(snapshot, node)
    resources = _primitives_or_orphan(snapshot, rsc) if rsc is not None else None
    return failcounts(snapshot.cluster.config, snapshot.cluster.status, int(admin.clock()),
                      resources=resources, node=node)


# -- reading -------------------------------------------------------------------------------------------------


async def history(admin: Admin, rsc: str, node: str | None = None, limit: int = 200) -> list[HistoryEntry]:
    """The operation log of ``rsc`` (its primitives and clone instances), oldest first."""
    config, _ = await admin.store.get_config()
    configured = rsc in resource_ids(config)
    primitives = [p.id for p in find_resource(config, rsc).primitives] if configured else [rsc]
    entries = []
    for prim in primitives:
        entries.extend(await admin.store.operation_log(prim, node, limit))
    if not entries and not configured:
        raise NotFound("resource", rsc, resource_ids(config))
    entries.sort(key=lambda entry: entry.revision)
    return history_entries(entries[-limit:])


async def status(admin: Admin, controller: ControllerInfo) -> StatusReport:
    return (await status_and_cluster(admin, controller))[0]


async def status_and_cluster(admin: Admin, controller: ControllerInfo) -> tuple[StatusReport, Cluster]:
    """The status and the cluster it was built from (one snapshot, as the controller plans it):
    crm_mon's XML reads both."""
    snapshot = await admin.store.snapshot()
    now = int(admin.clock())
    cluster = snapshot.cluster
    leader = None
    if admin.store.capabilities.multi_node:
        # As the controller plans it: quorum from the membership, the elected node as DC.
        leader = await admin.store.leader()
        members = {**await admin.store.members(), controller.node: 0}  # this node answers: alive
        cluster = as_planned(cluster, members, leader.holder if leader else controller.node)
    transition = await asyncio.to_thread(schedule, cluster, now)
    report = build_report(cluster, transition, now, controller, snapshot.revision, snapshot.config_revision)
    fencing = tuple(FencingInfo(e.target, e.action, e.succeeded, e.completed, e.executioner, e.origin,
                                e.client, e.device) for e in await admin.store.fence_history())
    if not admin.store.capabilities.multi_node:
        return dataclasses.replace(report, fencing=fencing), cluster  # one machine: this node is the DC
    return dataclasses.replace(report, fencing=fencing, controller=leader.holder if leader else None), cluster


async def all_failcounts(admin: Admin) -> list[FailCount]:
    """Every primitive's fail-count on every node, zeros included (for /metrics)."""
    snapshot = await admin.store.snapshot()
    return failcounts(snapshot.cluster.config, snapshot.cluster.status, int(admin.clock()), include_zero=True)



SIMULATE_FORMATS = ("text", "pacemaker", "json")


async def simulate_live(admin: Admin, fmt: str) -> str:
    """What the scheduler would do now with the stored state (``crm_simulate -L``), nothing done."""
    if fmt not in SIMULATE_FORMATS:
        raise AdminError(f"unknown format {fmt!r}: use {', '.join(SIMULATE_FORMATS)}")
    snapshot = await admin.store.snapshot()
    now = int(admin.clock())
    transition = await asyncio.to_thread(schedule, snapshot.cluster, now)
    if fmt == "pacemaker":
        return render_pacemaker(snapshot.cluster, transition, now)
    if fmt == "json":
        return render_json(transition)
    return render_text(snapshot.cluster, transition, now)
