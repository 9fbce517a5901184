"""The configured resources as a tree, and what a resource's meta attributes say at a time.

A primitive's meta attributes in effect are not only its own: Pacemaker
takes its own sets (rules evaluated for the resource, at the time), then
what its group or clone has in effect and it does not set, then
``rsc_defaults``.  A clone's instances are also a little sticky unless told
otherwise (``resource-stickiness`` 1), and ``globally-unique`` is always
spelled out.  :func:`effective_meta` is that one reading, for every package
that reads a meta attribute outside the scheduler; :func:`is_globally_unique`
is the one answer to whether a clone's instances are distinct (each with
its own ``rsc:N`` history and fail-counts) or anonymous (sharing the
primitive's).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from vigil.model.booleans import is_true
from vigil.model.config import Bundle, Clone, Config, Group, Primitive, Resource, iter_primitives
from vigil.model.nvsets import resolve_nvsets
from vigil.model.rule_eval import RuleContext
from vigil.model.scores import lenient_score

# Meta attribute names read in several places.
TARGET_ROLE = "target-role"
MAINTENANCE = "maintenance"
IS_MANAGED = "is-managed"
GLOBALLY_UNIQUE = "globally-unique"
MIGRATION_THRESHOLD = "migration-threshold"
FAILURE_TIMEOUT = "failure-timeout"


@dataclass(frozen=True)
class Found:
    """A configured resource and the groups or clones that contain it, outermost first."""

    resource: Resource
    ancestors: tuple[Group | Clone | Bundle, ...] = ()

    @property
    def clone(self) -> Clone | None:
        """The clone this resource is (part of), if any."""
        if isinstance(self.resource, Clone):
            return self.resource
        return next((a for a in self.ancestors if isinstance(a, Clone)), None)

    @property
    def primitives(self) -> list[Primitive]:
        return iter_primitives(self.resource)


def _walk(rsc: Resource, ancestors: tuple[Group | Clone | Bundle, ...]) -> list[Found]:
    found = [Found(rsc, ancestors)]
    if isinstance(rsc, Group):
        for member in rsc.members:
            found.extend(_walk(member, (*ancestors, rsc)))
    elif isinstance(rsc, Clone):
        found.extend(_walk(rsc.child, (*ancestors, rsc)))
    elif isinstance(rsc, Bundle):
        # The implicit resources belong to the bundle; the inner primitive to
        # the implicit clone inside it.
        for replica in rsc.replica_resources:
            found.extend(Found(prim, (*ancestors, rsc)) for prim in replica.primitives())
        if rsc.child_clone is not None:
            found.extend(_walk(rsc.child_clone, (*ancestors, rsc)))
    return found


def all_resources(config: Config) -> list[Found]:
    """Every configured resource (clones, groups, primitives), in document order."""
    found: list[Found] = []
    for top in config.resources:
        found.extend(_walk(top, ()))
    return found


def resource_ids(config: Config) -> list[str]:
    return [found.resource.id for found in all_resources(config)]


def find(config: Config, rsc_id: str) -> Found | None:
    """The configured resource ``rsc_id`` with what contains it; None when it is not configured."""
    return next((found for found in all_resources(config) if found.resource.id == rsc_id), None)


def descendants(found: Found) -> list[str]:
    """The ids of every group member, clone child and nested primitive under ``found``."""
    return [inner.resource.id for inner in _walk(found.resource, ())[1:]]


def instance_base(resource_id: str) -> str:
    """``web:1`` -> ``web`` (a clone instance's resource); any other id as it is."""
    base, colon, number = resource_id.rpartition(":")
    return base if colon and base and number.isdigit() else resource_id


def belongs_to(history_id: str, primitive: str) -> bool:
    """Is ``history_id`` the history of ``primitive`` or of one of its clone instances (``prim:N``)?"""
    return history_id == primitive or instance_base(history_id) == primitive


def is_globally_unique(config: Config, clone: Clone, now: int) -> bool:
    """Whether the clone's instances are distinct, its ``globally-unique`` in effect at ``now``."""
    return is_true(effective_meta(config, Found(clone), now).get(GLOBALLY_UNIQUE))


def unique_by_default(meta: Mapping[str, str]) -> bool:
    """A clone's ``globally-unique`` as Pacemaker reads it: as set, else true
    when ``clone-node-max`` asks for more than one instance per node (only
    distinct instances can share a node)."""
    value = meta.get(GLOBALLY_UNIQUE)
    if value is not None:
        return is_true(value)
    node_max = meta.get("clone-node-max")
    return node_max is not None and node_max.strip().isdigit() and int(node_max) > 1


def promotion_limits(clone: Clone, meta: Mapping[str, str]) -> tuple[int, int] | None:
    """A promotable clone's (promoted-max, promoted-node-max) from its effective ``meta``; None
    when the clone is not promotable.  The 1.x names (master-max, master-node-max) still work;
    an invalid count is 0, as Pacemaker reads it."""
    if not (clone.promotable or is_true(meta.get("promotable"))):
        return None

    def count(value: str | None) -> int:
        return 1 if value is None else max(0, lenient_score(value))

    return (count(meta.get("promoted-max", meta.get("master-max"))),
            count(meta.get("promoted-node-max", meta.get("master-node-max"))))


def history_id(config: Config, found: Found, resource_id: str, now: int) -> str:
    """The id a node's history (and fail-counts) keep for ``resource_id`` (``rsc`` or ``rsc:N``):
    an anonymous clone's instances share the primitive's, a unique clone's keep theirs."""
    clone = found.clone
    if clone is not None and not is_globally_unique(config, clone, now):
        return found.resource.id
    return resource_id


def effective_meta(config: Config, found: Found, now: int) -> dict[str, str]:
    """The meta attributes in effect for ``found.resource`` at ``now``, as the scheduler reads them:
    its own, then what its group or clone has in effect, then ``rsc_defaults``."""
    rsc = found.resource
    if isinstance(rsc, Primitive):
        ctx = RuleContext(now=now, rsc_class=rsc.cls, rsc_provider=rsc.provider, rsc_type=rsc.type)
    else:
        ctx = RuleContext(now=now)
    meta = resolve_nvsets(rsc.meta, ctx)
    if found.ancestors:
        parent = Found(found.ancestors[-1], found.ancestors[:-1])
        for name, value in effective_meta(config, parent, now).items():
            meta.setdefault(name, value)
    resolve_nvsets(config.rsc_defaults, ctx, into=meta)
    if isinstance(rsc, Clone):
        # Clone instances are a little sticky unless told otherwise, so that they
        # do not shuffle between nodes for no reason.
        meta.setdefault("resource-stickiness", "1")
        meta[GLOBALLY_UNIQUE] = "true" if unique_by_default(meta) else "false"
    return meta
