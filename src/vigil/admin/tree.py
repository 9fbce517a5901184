"""Finding things in a configuration: resources (with the groups and clones around them) and nodes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from vigil.admin.errors import NotFound
from vigil.model.config import Clone, Config, Group, Node, Primitive, Resource, iter_primitives
from vigil.model.nvsets import resolve_nvsets
from vigil.model.options import is_true
from vigil.model.rule_eval import RuleContext


@dataclass(frozen=True)
class Found:
    """A configured resource and the groups or clones that contain it, outermost first."""

    resource: Resource
    ancestors: tuple[Group | Clone, ...] = ()

    @property
    def clone(self) -> Clone | None:
        """The clone this resource is (part of), if any."""
        if isinstance(self.resource, Clone):
            return self.resource
        return next((a for a in self.ancestors if isinstance(a, Clone)), None)

    @property
    def primitives(self) -> list[Primitive]:
        return iter_primitives(self.resource)


def _walk(rsc: Resource, ancestors: tuple[Group | Clone, ...]) -> list[Found]:
    found = [Found(rsc, ancestors)]
    if isinstance(rsc, Group):
        for member in rsc.members:
            found.extend(_walk(member, (*ancestors, rsc)))
    elif isinstance(rsc, Clone):
        found.extend(_walk(rsc.child, (*ancestors, rsc)))
    return found


def descendants(found: Found) -> list[str]:
    """The ids of every group member, clone child and nested primitive under ``found``."""
    return [inner.resource.id for inner in _walk(found.resource, ())[1:]]


def all_resources(config: Config) -> list[Found]:
    """Every configured resource (clones, groups, primitives), in document order."""
    found: list[Found] = []
    for top in config.resources:
        found.extend(_walk(top, ()))
    return found


def resource_ids(config: Config) -> list[str]:
    return [found.resource.id for found in all_resources(config)]


def find_resource(config: Config, rsc_id: str) -> Found:
    """The resource ``rsc_id``; :class:`NotFound` (listing the known ones) when it is not configured."""
    for found in all_resources(config):
        if found.resource.id == rsc_id:
            return found
    raise NotFound("resource", rsc_id, resource_ids(config))


def is_unique_clone(clone: Clone | None) -> bool:
    if clone is None:
        return False
    return is_true(resolve_nvsets(clone.meta, RuleContext(now=0)).get("globally-unique"))


def belongs_to(history_id: str, primitive: str) -> bool:
    """Is ``history_id`` the history of ``primitive`` or of one of its clone instances (``prim:N``)?"""
    if history_id == primitive:
        return True
    base, _, number = history_id.rpartition(":")
    return base == primitive and number.isdigit()


def map_resource(config: Config, rsc_id: str, change: Callable[[Resource], Resource]) -> Config:
    """The configuration with ``change`` applied to the resource ``rsc_id`` (wherever it is nested)."""
    find_resource(config, rsc_id)
    return replace(config, resources=tuple(_map(rsc, rsc_id, change) for rsc in config.resources))


def _map(rsc: Resource, rsc_id: str, change: Callable[[Resource], Resource]) -> Resource:
    if rsc.id == rsc_id:
        changed = change(rsc)
        assert type(changed) is type(rsc), "an edit must keep the kind of resource"
        return changed
    if isinstance(rsc, Group):
        members = tuple(_map(member, rsc_id, change) for member in rsc.members)
        assert all(isinstance(member, Primitive) for member in members)
        return replace(rsc, members=members)  # type: ignore[arg-type]
    if isinstance(rsc, Clone):
        child = _map(rsc.child, rsc_id, change)
        assert isinstance(child, Primitive | Group)
        return replace(rsc, child=child)
    return rsc


def node_names(config: Config) -> list[str]:
    return [node.uname for node in config.nodes]


def find_node(config: Config, name: str) -> Node:
    """The configured node named ``name`` (its uname); :class:`NotFound` listing the known ones."""
    for node in config.nodes:
        if node.uname == name:
            return node
    raise NotFound("node", name, node_names(config))


def collect_ids(value: object) -> set[str]:
    """Every ``id`` of the configuration's objects (to keep new ones unique)."""
    ids: set[str] = set()
    pending: list[object] = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, tuple | list):
            pending.extend(item)
            continue
        fields = getattr(item, "__dataclass_fields__", None)
        if fields is None:
            continue
        for name in fields:
            attribute = getattr(item, name)
            if name == "id" and isinstance(attribute, str):
                ids.add(attribute)
            elif isinstance(attribute, tuple | list) or hasattr(attribute, "__dataclass_fields__"):
                pending.append(attribute)
    return ids


def fresh_id(config: Config, wanted: str) -> str:
    """``wanted``, or ``wanted-1``, ``wanted-2``... when the configuration already uses it."""
    taken = collect_ids(config)
    if wanted not in taken:
        return wanted
    number = 1
    while f"{wanted}-{number}" in taken:
        number += 1
    return f"{wanted}-{number}"
