"""From a scheduled action to what the executor runs: the agent, its parameters and meta.

The scheduler names an action by resource, task, node and interval, and
attaches the stop context; everything else an agent is given comes from the
configuration, resolved here the way Pacemaker's graph producer does it:
instance attributes with their rules evaluated on the node, the operation's
own attributes as ``CRM_meta_*``, the clone data of a clone instance, and
the timeout (the op's, else op_defaults', else 20 s).

The digest recorded with the result is computed from the same parameters
with the scheduler's own function, so an unchanged definition is never
mistaken for a changed one (which would restart the resource every cycle).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from vigil.executor.environment import clone_meta
from vigil.executor.request import ActionRequest, AgentSpec
from vigil.model.booleans import is_true
from vigil.model.config import Bundle, Clone, Config, Group, Node, Op, Primitive
from vigil.model.digests import definition_params, digest, operation_timeout_ms
from vigil.model.node_attributes import configured_attributes
from vigil.model.nvsets import resolve_nvsets
from vigil.model.resources import Found, effective_meta, is_globally_unique, promotion_limits
from vigil.model.rule_eval import RuleContext
from vigil.model.status import NodeState

# Operation attributes Pacemaker passes to the agent as CRM_meta_<name>.
_OP_META = ("record-pending", "interval-origin")


@dataclass(frozen=True)
class Placement:
    """A configured primitive, the clone it is an instance of (if any), and whether that
    clone is globally unique (its instances keep histories of their own)."""

    primitive: Primitive
    clone: Clone | None = None
    unique: bool = False

    def history_id(self, resource_id: str) -> str:
        """The id a node's history keeps: anonymous instances share the primitive's."""
        if self.clone is not None and not self.unique:
            return self.primitive.id
        return resource_id


class ConfiguredPrimitives:
    """The configured primitives by id, each with its clone: built once per configuration and time."""

    def __init__(self, config: Config, now: int) -> None:
        self.config = config
        self.now = now
        self._by_id: dict[str, Placement] = {}
        for top in config.resources:
            if isinstance(top, Primitive):
                self._by_id[top.id] = Placement(top)
            elif isinstance(top, Group):
                for member in top.members:
                    self._by_id[member.id] = Placement(member)
            elif isinstance(top, Bundle):
                for replica in top.replica_resources:
                    for implicit in replica.primitives():
                        self._by_id[implicit.id] = Placement(implicit)
                if top.child is not None and top.child_clone is not None:
                    unique = is_globally_unique(config, top.child_clone, now)
                    self._by_id[top.child.id] = Placement(top.child, top.child_clone, unique)
            else:
                child = top.child
                members = child.members if isinstance(child, Group) else (child,)
                unique = is_globally_unique(config, top, now)
                for member in members:
                    self._by_id[member.id] = Placement(member, top, unique)

    def with_orphan(self, primitive: Primitive) -> ConfiguredPrimitives:
        """These primitives and one removed primitive too, so that it can still be stopped."""
        index = ConfiguredPrimitives(self.config, self.now)
        index._by_id.setdefault(primitive.id, Placement(primitive))
        return index

    def find(self, resource_id: str) -> Placement | None:
        """The primitive of ``rsc``, ``rsc:N`` (a clone instance), or None (an orphan)."""
        found = self._by_id.get(resource_id)
        if found is not None:
            return found
        base, _, number = resource_id.rpartition(":")
        if number.isdigit():
            found = self._by_id.get(base)
            if found is not None and found.clone is not None:
                return found
        return None

    def primitives(self) -> list[Placement]:
        return list(self._by_id.values())


def node_attributes(config: Config, state: NodeState | None, node: str, now: int) -> dict[str, str]:
    """The attributes rules see on ``node``, exactly as the scheduler builds them."""
    configured = next((n for n in config.nodes if n.uname == node), Node(id=node, uname=node))
    attrs = configured_attributes(configured, now)
    if state is not None:
        attrs.update(state.attributes)
    return attrs


def find_op(prim: Primitive, task: str, interval_ms: int) -> Op | None:
    for op in prim.ops:
        if op.name == task and op.interval_ms == interval_ms:
            return op
    if task in ("migrate_to", "migrate_from"):
        # A "migrate" op configures both steps of a migration (as in Pacemaker).
        return find_op(prim, "migrate", 0)
    return None


def probe_op(prim: Primitive) -> Op | None:
    """The op a probe takes its timeout from: an explicit monitor of interval 0,
    else the most frequent recurring monitor."""
    explicit = find_op(prim, "monitor", 0)
    if explicit is not None:
        return explicit
    monitors = sorted((op for op in prim.ops if op.name == "monitor" and op.enabled),
                      key=lambda op: op.interval_ms)
    return monitors[0] if monitors else None


@dataclass(frozen=True)
class PreparedAction:
    """An action ready for the executor, with what recording its result needs."""

    request: ActionRequest
    placement: Placement
    history_id: str
    op: Op | None
    digest: str
    # The op's on-fail, else op_defaults' (None: the default reaction).
    on_fail: str | None = None


def prepare(
    primitives: ConfiguredPrimitives,
    *,
    resource_id: str,
    task: str,
    interval_ms: int,
    node: str,
    node_attrs: Mapping[str, str],
    now: int,
    meta: Mapping[str, str] = {},
    params: Mapping[str, str] | None = None,
) -> PreparedAction | None:
    """The executor request for one action, or None when the resource is not configured.

    ``params`` replaces the configured instance attributes: a stop runs with
    the parameters its start ran with, as Pacemaker's executor does, so a
    changed definition cannot make the stop look for the wrong instance.
    """
    placement = primitives.find(resource_id)
    if placement is None:
        return None
    prim = placement.primitive
    ctx = RuleContext(now=now, node_attrs=dict(node_attrs), rsc_class=prim.cls,
                      rsc_provider=prim.provider, rsc_type=prim.type)
    resolved = dict(params) if params is not None else resolve_nvsets(prim.params, ctx)
    op = probe_op(prim) if task == "monitor" and interval_ms == 0 else find_op(prim, task, interval_ms)
    config_op = find_op(prim, task, interval_ms)
    timeout_ms = operation_timeout_ms(primitives.config, prim, op, task, interval_ms, now)
    action_meta = _op_meta(config_op)
    if placement.clone is not None:
        action_meta.update(_clone_meta(primitives.config, placement, resource_id, now))
    action_meta.update(meta)
    run_params = dict(resolved)
    if config_op is not None:
        run_params.update(config_op.params)
    request = ActionRequest.create(
        resource_id,
        AgentSpec(prim.cls, prim.type, prim.provider),
        task,
        run_params,
        action_meta,
        interval_ms=interval_ms,
        timeout_ms=timeout_ms,
        node_name=node,
        node_uuid=node_attrs.get("#id", node),
    )
    digest_task = "start" if task == "monitor" and interval_ms == 0 else task
    digest_op = find_op(prim, digest_task, interval_ms)
    definition = definition_params(resolved, digest_op, interval_ms, timeout_ms)
    on_fail = config_op.on_fail if config_op is not None else None
    if on_fail is None:
        op_ctx = RuleContext(now=now, rsc_class=prim.cls, rsc_provider=prim.provider, rsc_type=prim.type,
                             op_name=task, op_interval_ms=interval_ms)
        on_fail = resolve_nvsets(primitives.config.op_defaults, op_ctx).get("on-fail")
    return PreparedAction(request, placement, placement.history_id(resource_id), config_op,
                          digest(definition), on_fail)


def _op_meta(op: Op | None) -> dict[str, str]:
    if op is None:
        return {}
    meta: dict[str, str] = {}
    if op.on_fail is not None:
        meta["on_fail"] = op.on_fail
    if op.role is not None:
        meta["role"] = op.role
    if op.start_delay_ms is not None:
        meta["start_delay"] = str(op.start_delay_ms)
    for name, value in op.meta:
        if name in _OP_META:
            meta[name.replace("-", "_")] = value
    return meta


def _clone_meta(config: Config, placement: Placement, resource_id: str, now: int) -> dict[str, str]:
    assert placement.clone is not None
    meta = effective_meta(config, Found(placement.clone), now)
    _, _, number = resource_id.rpartition(":")
    nodes = max(1, len(config.nodes))
    # A promotable clone's instances are told so (promotable, promoted_max ...): agents such as
    # ocf:heartbeat:redis and pgsql set promotion scores only when ocf_is_ms says they are.
    limits = promotion_limits(placement.clone, meta)
    return clone_meta(
        int(number) if number.isdigit() else 0,
        _int(meta.get("clone-max"), nodes),
        _int(meta.get("clone-node-max"), 1),
        globally_unique=placement.unique,
        notify=is_true(meta.get("notify")),
        promoted_max=limits[0] if limits is not None else None,
        promoted_node_max=limits[1] if limits is not None else None,
    )


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default
