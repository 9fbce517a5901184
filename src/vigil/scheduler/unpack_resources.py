"""Stage 2: resources — each primitive's effective meta attributes.

Meta attributes come from the resource's own sets first, then
``rsc_defaults``; the typed values the scheduler needs (stickiness,
migration-threshold, failure-timeout, requires, ...) are read once here.
"""

from __future__ import annotations

from vigil.isodate import parse_interval_ms
from vigil.model.config import Clone, Group, Op, Primitive, Resource
from vigil.model.scores import INFINITY, lenient_score
from vigil.scheduler.nvsets import resolve_nvsets
from vigil.scheduler.options import is_true
from vigil.scheduler.rules import RuleContext
from vigil.scheduler.working import Role, WGroup, Work, WRes, WRsc


def unpack_resources(work: Work) -> None:
    config = work.cluster.config
    top: list[WRes] = []
    for rsc in config.resources:
        if isinstance(rsc, Primitive):
            top.append(_add_primitive(work, rsc, None))
        elif isinstance(rsc, Group):
            top.append(_unpack_group(work, rsc))
        else:
            # Clones are not scheduled yet: their primitives are placed as
            # if they stood alone.
            for prim in _primitives_of(rsc):
                top.append(_add_primitive(work, prim, None))
    # Placement goes by priority (highest first); ties keep document order.
    work.top = sorted(top, key=lambda r: -r.priority)


def _primitives_of(rsc: Resource) -> list[Primitive]:
    if isinstance(rsc, Primitive):
        return [rsc]
    if isinstance(rsc, Group):
        return list(rsc.members)
    if isinstance(rsc, Clone):
        return _primitives_of(rsc.child)
    return []


def _add_primitive(work: Work, prim: Primitive, parent: WGroup | None) -> WRsc:
    wrsc = _unpack_primitive(work, prim, parent)
    work.rscs[wrsc.id] = wrsc
    if prim.cls == "stonith":
        work.have_stonith_resource = True
    return wrsc


def _unpack_group(work: Work, group: Group) -> WGroup:
    ctx = RuleContext(now=work.now)
    meta = resolve_nvsets(group.meta, ctx)
    resolve_nvsets(work.cluster.config.rsc_defaults, ctx, into=meta)
    wgroup = WGroup(id=group.id, members=[], meta=meta)
    wgroup.ordered = is_true(meta.get("ordered"), True)
    wgroup.colocated = is_true(meta.get("collocated"), True)
    wgroup.priority = _score(meta.get("priority"), 0)
    wgroup.managed = is_true(meta.get("is-managed"), True) and not work.options.maintenance_mode
    wgroup.critical = is_true(meta.get("critical"), True)
    target = meta.get("target-role")
    if target is not None and target.lower() == "stopped":
        wgroup.next_role = Role.STOPPED
    if work.options.symmetric_cluster:
        for name in work.nodes:
            wgroup.allowed[name] = 0
    work.groups[group.id] = wgroup
    for member in group.members:
        wgroup.members.append(_add_primitive(work, member, wgroup))
    return wgroup


def _unpack_primitive(work: Work, prim: Primitive, parent: WGroup | None) -> WRsc:
    ctx = RuleContext(now=work.now, rsc_class=prim.cls, rsc_provider=prim.provider, rsc_type=prim.type)
    meta = resolve_nvsets(prim.meta, ctx)
    if parent is not None:
        # Members inherit what their group sets and they do not.
        for name, value in parent.meta.items():
            meta.setdefault(name, value)
    resolve_nvsets(work.cluster.config.rsc_defaults, ctx, into=meta)
    params = resolve_nvsets(prim.params, ctx)
    wrsc = WRsc(id=prim.id, prim=prim, meta=meta, params=params, ops=prim.ops, parent=parent)
    opts = work.options
    wrsc.is_fence_device = prim.cls == "stonith"
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
    _unpack_requires(work, wrsc)
    target = meta.get("target-role")
    if target is not None and target.lower() == "stopped":
        wrsc.next_role = Role.STOPPED
    if opts.symmetric_cluster:
        for name in work.nodes:
            wrsc.allowed[name] = 0
    return wrsc


def _unpack_requires(work: Work, wrsc: WRsc) -> None:
    """What a start needs first: fencing of lost nodes, quorum, or nothing."""
    value = (wrsc.meta.get("requires") or "").lower()
    opts = work.options
    if value not in ("nothing", "quorum", "fencing", "unfencing"):
        if wrsc.is_fence_device:
            value = "quorum"
        elif opts.stonith_enabled:
            value = "fencing"
        elif opts.no_quorum_policy == "ignore":
            value = "nothing"
        else:
            value = "quorum"
    if wrsc.is_fence_device and value in ("fencing", "unfencing"):
        value = "quorum"
    wrsc.needs_fencing = value in ("fencing", "unfencing")
    wrsc.needs_quorum = value != "nothing"


def _score(value: str | None, default: int) -> int:
    if value is None:
        return default
    return lenient_score(value)


def find_op(wrsc: WRsc, name: str, interval_ms: int) -> Op | None:
    for op in wrsc.ops:
        if op.name == name and op.interval_ms == interval_ms:
            return op
    return None
