"""Stage 2: resources — each primitive's effective meta attributes.

Meta attributes come from the resource's own sets first, then
``rsc_defaults``; the typed values the scheduler needs (stickiness,
migration-threshold, failure-timeout, requires, ...) are read once here.
"""

from __future__ import annotations

from vigil.model.booleans import is_true
from vigil.model.config import Bundle, Clone, Group, Op, Primitive
from vigil.model.isodate import parse_interval_ms
from vigil.model.nvsets import resolve_nvsets
from vigil.model.resources import GLOBALLY_UNIQUE, promotion_limits, unique_by_default
from vigil.model.rule_eval import RuleContext
from vigil.model.scores import INFINITY, lenient_score
from vigil.scheduler.bundles import restrict_guest_nodes
from vigil.scheduler.remote_nodes import guest_connections, is_connection_primitive, link_connections
from vigil.scheduler.unfencing import unfencing_enabled
from vigil.scheduler.utilization import unpack_resource_utilization
from vigil.scheduler.variants.bundle import CONTAINER_SET, INNER_CLONE
from vigil.scheduler.variants.clone import CLONE
from vigil.scheduler.variants.group import GROUP
from vigil.scheduler.variants.primitive import PRIMITIVE
from vigil.scheduler.working import Work
from vigil.scheduler.working_resources import (
    Role,
    WorkBundle,
    WorkClone,
    WorkGroup,
    WorkPrimitive,
    WorkReplica,
    WorkResource,
)


def unpack_resources(work: Work) -> None:
    config = work.cluster.config
    work.enable_unfencing = unfencing_enabled(config)
    top: list[WorkResource] = []
    if work.options.have_watchdog:
        work.have_stonith_resource = True  # watchdog self-fencing counts as a fencing device
    for rsc in config.resources:
        if isinstance(rsc, Primitive):
            top.append(_add_primitive(work, rsc, None))
        elif isinstance(rsc, Group):
            top.append(_unpack_group(work, rsc, None, None))
        elif isinstance(rsc, Bundle):
            top.extend(_unpack_bundle(work, rsc))
        else:
            top.append(_unpack_clone(work, rsc))
    for connection in guest_connections(config):
        top.append(_add_primitive(work, connection, None))
    # Placement goes by priority (highest first); ties keep document order.
    work.top = sorted(top, key=lambda r: -r.priority)
    _link_containers(work)
    link_connections(work)
    restrict_guest_nodes(work)


def _link_containers(work: Work) -> None:
    for prim in work.rscs.values():
        container = work.rscs.get(prim.meta.get("container", ""))
        if container is not None and container is not prim:
            prim.container = container
            container.fillers.append(prim)


def _add_primitive(work: Work, prim: Primitive, parent: WorkGroup | WorkClone | None,
                   instance: int | None = None, inherited: dict[str, str] | None = None) -> WorkPrimitive:
    wrsc = _unpack_primitive(work, prim, parent, instance, inherited)
    work.rscs[wrsc.id] = wrsc
    if prim.cls == "stonith":
        work.have_stonith_resource = True
    return wrsc


def _unpack_group(work: Work, group: Group, parent: WorkClone | None, instance: int | None) -> WorkGroup:
    ctx = RuleContext(now=work.now)
    meta = resolve_nvsets(group.meta, ctx)
    if parent is not None:
        for name, value in parent.meta.items():
            meta.setdefault(name, value)
    resolve_nvsets(work.cluster.config.rsc_defaults, ctx, into=meta)
    group_id = group.id if instance is None else f"{group.id}:{instance}"
    wgroup = WorkGroup(id=group_id, members=[], meta=meta, parent=parent, variant=GROUP)
    wgroup.ordered = is_true(meta.get("ordered"), True)
    wgroup.colocated = is_true(meta.get("collocated"), True)
    _unpack_collective_meta(work, wgroup)
    work.groups[group_id] = wgroup
    for member in group.members:
        wgroup.members.append(_add_primitive(work, member, wgroup, instance))
    return wgroup


def _unpack_collective_meta(work: Work, rsc: WorkGroup | WorkClone) -> None:
    """What a group or clone reads from its own meta attributes."""
    meta = rsc.meta
    rsc.priority = _score(meta.get("priority"), 0)
    rsc.managed = is_true(meta.get("is-managed"), True) and not work.options.maintenance_mode
    rsc.critical = is_true(meta.get("critical"), True)
    rsc.next_role = target_role(meta, is_promotable_instance(rsc))
    if work.options.symmetric_cluster:
        for name in work.nodes:
            rsc.allowed[name] = 0


def _unpack_clone(work: Work, clone: Clone) -> WorkClone:
    ctx = RuleContext(now=work.now)
    meta = resolve_nvsets(clone.meta, ctx)
    resolve_nvsets(work.cluster.config.rsc_defaults, ctx, into=meta)
    # Clone instances are a little sticky unless told otherwise, so that they
    # do not shuffle between nodes for no reason.
    meta.setdefault("resource-stickiness", "1")
    wclone = WorkClone(id=clone.id, template_id=clone.child.id, meta=meta, variant=CLONE)
    wclone.unique = unique_by_default(meta)
    meta[GLOBALLY_UNIQUE] = "true" if wclone.unique else "false"
    node_max = meta.get("clone-node-max")
    wclone.clone_node_max = max(0, lenient_score(node_max)) if node_max is not None else 1
    clone_max = meta.get("clone-max")
    wclone.clone_max = (max(0, lenient_score(clone_max)) if clone_max is not None
                        else max(1, len(work.nodes)))
    if not wclone.unique and wclone.clone_node_max > 1:
        wclone.clone_node_max = 1
    wclone.clone_min = max(0, lenient_score(meta.get("clone-min", "0")))
    wclone.interleave = is_true(meta.get("interleave"), False)
    wclone.ordered = is_true(meta.get("ordered"), False)
    limits = promotion_limits(clone, meta)
    wclone.promotable = limits is not None
    wclone.notify = is_true(meta.get("notify"), False)
    if limits is not None:
        wclone.promoted_max, wclone.promoted_node_max = limits
    _unpack_collective_meta(work, wclone)
    work.clones[clone.id] = wclone
    for _ in range(max(1, wclone.clone_max)):
        new_clone_instance(work, wclone)
    return wclone


def _unpack_bundle(work: Work, bundle: Bundle) -> list[WorkResource]:
    """A bundle's containers (as a clone-like set), each replica's IP and
    connection, then its inner clone.

    The implicit resources inherit the bundle's meta attributes and, like
    clone instances, are a little sticky unless told otherwise.
    """
    ctx = RuleContext(now=work.now)
    inherited = resolve_nvsets(bundle.meta, ctx)
    containers = WorkClone(id=bundle.id, template_id=bundle.id, meta=dict(inherited), variant=CONTAINER_SET)
    containers.unique = True
    containers.clone_max = bundle.replicas
    containers.clone_node_max = bundle.replicas_per_host
    _unpack_collective_meta(work, containers)
    containers.promotable = False
    wbundle = WorkBundle(id=bundle.id, replicas_per_host=bundle.replicas_per_host, containers=containers,
                         notify=is_true(inherited.get("notify"), False))
    containers.bundle = wbundle
    tops: list[WorkResource] = [containers]
    for replica in bundle.replica_resources:
        made: dict[str, WorkPrimitive] = {}
        for prim in replica.primitives():
            is_container = prim is replica.container
            wrsc = _add_primitive(work, prim, containers if is_container else None, inherited=inherited)
            wrsc.bundle_id = bundle.id
            if "resource-stickiness" not in wrsc.meta and "resource_stickiness" not in wrsc.meta:
                wrsc.stickiness = 1
            made[prim.id] = wrsc
            if is_container:
                containers.instances.append(wrsc)
            else:
                tops.append(wrsc)
        containers.total_instances = len(containers.instances)
        wbundle.replicas.append(WorkReplica(
            index=replica.index, container=made[replica.container.id],
            ip=made[replica.ip.id] if replica.ip is not None else None,
            remote=made[replica.remote.id] if replica.remote is not None else None))
    if bundle.child_clone is not None:
        wbundle.child = _unpack_clone(work, bundle.child_clone)
        wbundle.child.variant = INNER_CLONE
        for wreplica, instance in zip(wbundle.replicas, wbundle.child.instances, strict=False):
            wreplica.inner = instance.primitives()[0]  # the inner resource is a primitive
            _move_utilization_to_container(wreplica.container, wreplica.inner)
        tops.append(wbundle.child)
    work.bundles[bundle.id] = wbundle
    return tops


def _move_utilization_to_container(container: WorkPrimitive, inner: WorkPrimitive) -> None:
    """The inner primitive's utilization is the container's (as Pacemaker
    moves it): the inner resource runs on the replica's guest node, which has
    no capacities, and its utilization is the only place a bundle can give
    what its containers use of their hosts."""
    container.utilization, inner.utilization = inner.utilization, container.utilization


def _configured_clone(work: Work, clone_id: str) -> Clone:
    """The clone ``clone_id``: configured, or the inner clone of a bundle."""
    for rsc in work.cluster.config.resources:
        if isinstance(rsc, Clone) and rsc.id == clone_id:
            return rsc
        if isinstance(rsc, Bundle) and rsc.child_clone is not None and rsc.child_clone.id == clone_id:
            return rsc.child_clone
    raise KeyError(clone_id)


def new_clone_instance(work: Work, wclone: WorkClone) -> WorkPrimitive | WorkGroup:
    """Add the clone's next numbered instance (an orphan past clone-max)."""
    clone = _configured_clone(work, wclone.id)
    number = wclone.total_instances
    wclone.total_instances += 1
    instance: WorkPrimitive | WorkGroup
    if isinstance(clone.child, Group):
        instance = _unpack_group(work, clone.child, wclone, number)
    else:
        instance = _add_primitive(work, clone.child, wclone, number)
    wclone.instances.append(instance)
    if number >= wclone.clone_max:
        for prim in instance.primitives():
            prim.orphan = True
    return instance


def _unpack_primitive(work: Work, prim: Primitive, parent: WorkGroup | WorkClone | None,
                      instance: int | None = None, inherited: dict[str, str] | None = None) -> WorkPrimitive:
    ctx = RuleContext(now=work.now, rsc_class=prim.cls, rsc_provider=prim.provider, rsc_type=prim.type)
    meta = resolve_nvsets(prim.meta, ctx)
    if parent is not None:
        inherited = parent.meta
    # Members inherit what their group (or bundle) sets and they do not.
    for name, value in (inherited or {}).items():
        meta.setdefault(name, value)
    resolve_nvsets(work.cluster.config.rsc_defaults, ctx, into=meta)
    params = resolve_nvsets(prim.params, ctx)
    rsc_id = prim.id if instance is None else f"{prim.id}:{instance}"
    wrsc = WorkPrimitive(id=rsc_id, prim=prim, meta=meta, params=params, ops=prim.ops, parent=parent,
                         variant=PRIMITIVE)
    opts = work.options
    wrsc.is_fence_device = prim.cls == "stonith"
    wrsc.is_remote_connection = parent is None and is_connection_primitive(prim)
    if is_connection_primitive(prim) and "container" not in meta:
        # A remote node's connection moves by migration unless told
        # otherwise, so that the node's resources need not stop when it
        # moves. A guest node's follows its container, so it migrates only
        # when remote-allow-migrate says so (as Pacemaker does).
        meta.setdefault("allow-migrate", "true")
    wrsc.managed = is_true(meta.get("is-managed"), True)
    if opts.maintenance_mode or is_true(meta.get("maintenance")):
        wrsc.managed = False
    wrsc.critical = is_true(meta.get("critical"), True)
    wrsc.stickiness = _score(meta.get("resource-stickiness", meta.get("resource_stickiness")), 0)
    threshold = _score(meta.get("migration-threshold"), INFINITY)
    if threshold < 0:
        threshold = 1
    wrsc.migration_threshold = threshold
    failure_timeout = meta.get("failure-timeout")
    if failure_timeout:
        try:
            wrsc.failure_timeout_s = parse_interval_ms(failure_timeout) // 1000
        except ValueError:
            wrsc.failure_timeout_s = 0
    wrsc.priority = _score(meta.get("priority"), 0)
    wrsc.multiple_active = meta.get("multiple-active", "stop_start")
    wrsc.allow_migrate = is_true(meta.get("allow-migrate"), False)
    _unpack_requires(work, wrsc)
    unpack_resource_utilization(work, wrsc)
    wrsc.next_role = target_role(meta, is_promotable_instance(wrsc))
    if opts.symmetric_cluster:
        wrsc.allowed = dict.fromkeys(work.nodes, 0)
    return wrsc


def _unpack_requires(work: Work, wrsc: WorkPrimitive) -> None:
    """What a start needs first: fencing of lost nodes (and unfencing of its
    node), quorum, or nothing."""
    value = (wrsc.meta.get("requires") or "").lower()
    opts = work.options
    if value not in ("nothing", "quorum", "fencing", "unfencing"):
        if wrsc.is_fence_device or wrsc.is_remote_connection:
            value = "quorum"
        elif work.enable_unfencing:
            value = "unfencing"
        elif opts.stonith_enabled:
            value = "fencing"
        elif opts.no_quorum_policy == "ignore":
            value = "nothing"
        else:
            value = "quorum"
    if wrsc.is_fence_device and value in ("fencing", "unfencing"):
        value = "quorum"
    if value == "unfencing" and not opts.stonith_enabled:
        value = "quorum"
    wrsc.needs_unfencing = value == "unfencing"
    wrsc.needs_fencing = value in ("fencing", "unfencing")
    wrsc.needs_quorum = value != "nothing"


def target_role(meta: dict[str, str], promotable: bool) -> Role:
    """The next role ``target-role`` fixes: Stopped, or Unpromoted for an
    instance of a promotable clone; anything else leaves it to placement."""
    value = (meta.get("target-role") or "").lower()
    if value == "stopped":
        return Role.STOPPED
    if promotable and value in ("unpromoted", "slave"):
        return Role.UNPROMOTED
    return Role.UNKNOWN


def is_promotable_instance(rsc: WorkResource) -> bool:
    """Whether ``rsc`` is (inside) an instance of a promotable clone."""
    top = rsc
    while top.parent is not None:
        top = top.parent
    return top.variant.is_promotable(top)


def _count(value: str | None, default: int) -> int:
    """A non-negative count (invalid: 0, as Pacemaker reads it)."""
    if value is None:
        return default
    return max(0, lenient_score(value))


def _score(value: str | None, default: int) -> int:
    if value is None:
        return default
    return lenient_score(value)


def find_op(wrsc: WorkPrimitive, name: str, interval_ms: int) -> Op | None:
    for op in wrsc.ops:
        if op.name == name and op.interval_ms == interval_ms:
            return op
    if name in ("migrate_to", "migrate_from"):
        # A "migrate" op configures both steps of a migration (as in Pacemaker).
        return find_op(wrsc, "migrate", 0)
    return None
