"""Resource sets of location, colocation and order constraints in YAML, both ways::

    constraints:
      - order: start-the-stack
        sets:
          - resources: [db, web]              # started one after the other
          - {resources: [a, b], sequential: false, require-all: false}
          - resources: [frontend]             # once db, web and a or b are up
      - colocation: together
        score: INFINITY
        sets:
          - {resources: [a, b], role: Started}
      - location: prefer-n1
        node: n1
        score: 100
        sets:
          - resources: [a, b]

Each set becomes a ``<resource_set>`` with ``id`` (by default
``CONSTRAINT-INDEX``, as for a ticket constraint's sets) and the
attributes given.  Only the shape is checked here; the values (booleans,
roles, actions, that each resource exists) are checked by the CIB reader
that runs on the result, so YAML and CIB mean the same things.
"""

from __future__ import annotations

from yaml.nodes import Node

from vigil.formats.cib.reader import Element
from vigil.formats.cib.sets import written_set_attributes
from vigil.formats.yaml.build import Builder
from vigil.formats.yaml.dump_base import WriterBase, Yaml
from vigil.formats.yaml.source import Mapping
from vigil.formats.yaml.vocabulary import CONSTRAINT_SET_KEYS, ticket_set_id
from vigil.model.config import ResourceSet


def translate_resource_sets(builder: Builder, element: Element, mapping: Mapping, ident: str,
                            what: str) -> None:
    """``mapping['sets']`` as ``<resource_set>`` elements of ``element``."""
    source = builder.source
    sets = mapping.get("sets")
    if sets is None:
        return
    items = source.sequence(sets, f"the sets of {what}")
    if items is None:
        builder.positions.reported.add(element)
        return
    if not items:
        builder.fail(element, mapping.node, f"the 'sets' of {what} is empty: list at least one set")
    for index, node in enumerate(items):
        translate_set(builder, element, node, ticket_set_id(ident, index), f"set {index + 1} of {what}",
                      CONSTRAINT_SET_KEYS)


def translate_set(builder: Builder, parent: Element, node: Node, base: str, what: str,
                  keys: tuple[str, ...]) -> None:
    """One set as a ``<resource_set>`` of ``parent`` (id ``base`` unless given): its ``resources``
    as ``<resource_ref>``s, its other ``keys`` as attributes.  Ticket constraints' sets too."""
    source = builder.source
    mapping = source.mapping(node, what)
    if mapping is None:
        builder.positions.reported.add(parent)
        return
    element = builder.element(parent, "resource_set", mapping.node)
    source.check_keys(mapping, keys, what)
    builder.optional_id(element, mapping, base, what)
    for key in keys:
        if key not in ("id", "resources"):
            builder.copy(element, mapping, key, what)
    entry = mapping.entries.get("resources")
    if entry is None:
        builder.fail(element, mapping.node, f"{what} needs 'resources': a list of resource ids")
        return
    for ref in source.sequence(entry.value, f"the resources of {what}") or ():
        text = source.text(ref, f"a resource of {what}")
        if text is not None:
            builder.attribute(builder.element(element, "resource_ref", ref), "id", text, ref)


def resource_sets_yaml(writer: WriterBase, sets: tuple[ResourceSet, ...], ident: str,
                       what: str) -> list[Yaml]:
    """The sets as YAML items, each attribute only when the CIB had it."""
    items: list[Yaml] = []
    for index, resource_set in enumerate(sets):
        item: dict[str, Yaml] = {}
        writer.put_id(item, resource_set.id, ticket_set_id(ident, index), f"set {index + 1} of {what}")
        item["resources"] = list(resource_set.resources)
        written = written_set_attributes(resource_set)
        item.update((key, value) for key, value in written.items() if value is not None)
        items.append(item)
    return items

