"""Finding what an operator names in a configuration (resources, nodes, free ids), and editing a
resource wherever it is nested; unknown names raise :class:`~vigil.admin.errors.NotFound`.

The resource tree itself is the model's (:mod:`vigil.model.resources`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from vigil.admin.errors import NotFound
from vigil.model.config import Clone, Config, Group, Node, Primitive, Resource
from vigil.model.resources import Found, find, resource_ids


def find_resource(config: Config, rsc_id: str) -> Found:
    """The resource ``rsc_id``; :class:`NotFound` (listing the known ones) when it is not configured."""
    found = find(config, rsc_id)
    if found is None:
        raise NotFound("resource", rsc_id, resource_ids(config))
    return found


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
