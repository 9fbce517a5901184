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
from vigil.scheduler.working import Role, WRsc, Work


def unpack_resources(work: Work) -> None:
    config = work.cluster.config
    for rsc in config.resources:
        for prim in _primitives_with_parents(rsc):
            wrsc = _unpack_primitive(work, prim)
            work.rscs[wrsc.id] = wrsc
            if prim.cls == "stonith":
                work.have_stonith_resource = True
    # Allocation goes by priority (highest first); ties keep document order.
    ordered = sorted(work.rscs.values(), key=lambda r: -r.priority)
    work.rscs = {r.id: r for r in ordered}


def _primitives_with_parents(rsc: Resource) -> list[Primitive]:
    if isinstance(rsc, Primitive):
        return [rsc]
    if isinstance(rsc, Group):
        return list(rsc.members)
    if isinstance(rsc, Clone):
        return _primitives_with_parents(rsc.child)
    return []


def _unpack_primitive(work: Work, prim: Primitive) -> WRsc:
    ctx = RuleContext(now=work.now, rsc_class=prim.cls, rsc_provider=prim.provider, rsc_type=prim.type)
    meta = resolve_nvsets(prim.meta, ctx)
    resolve_nvsets(work.cluster.config.rsc_defaults, ctx, into=meta)
    params = resolve_nvsets(prim.params, ctx)
    wrsc = WRsc(id=prim.id, prim=prim, meta=meta, params=params, ops=prim.ops)
    opts = work.options
    wrsc.is_fence_device = prim.cls == "stonith"
    wrsc.managed = is_true(meta.get("is-managed"), True)
    if opts.maintenance_mode or is_true(meta.get("maintenance")):
        wrsc.managed = False
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
