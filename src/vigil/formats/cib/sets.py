"""Reading the ``<resource_set>`` elements of location, colocation and order constraints.

A set lists resources by ``<resource_ref>``; a reference to a ``<tag>`` or a
``<template>`` stays as written (the scheduler expands it to its members,
as it does for a plain constraint), so that an export writes the set back
unchanged.  Each attribute is checked against the kind of constraint the
set is in: ``action``, ``kind`` and ``require-all`` only mean something in
an order, ``ordering`` only in a colocation, ``score`` not in an order
(where it is the legacy spelling of ``kind``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Literal

from vigil.formats.cib.reader import Element, Reader, children, normalize_role
from vigil.model.config import OrderKind, ResourceSet
from vigil.model.scores import format_score

SetUse = Literal["location", "colocation", "order"]
# Whether an id names a resource (a problem or a warning when not).
NamesResource = Callable[[Element, str, str | None], bool]

SET_ROLES = ("Stopped", "Started", "Unpromoted", "Promoted")
SET_ACTIONS = ("start", "stop", "promote", "demote")
SET_ORDERINGS = ("group", "listed")
ORDER_KINDS: tuple[OrderKind, ...] = ("Mandatory", "Optional", "Serialize")
# Attributes that mean nothing outside one kind of constraint.
_ONLY_IN: dict[str, SetUse] = {"action": "order", "kind": "order", "require-all": "order",
                               "ordering": "colocation"}
_A = {"location": "a", "colocation": "a", "order": "an"}


def has_resource_sets(element: Element) -> bool:
    return any(child.tag == "resource_set" for child in children(element))


def load_resource_sets(reader: Reader, element: Element, use: SetUse, names_resource: NamesResource,
                       expansions: Mapping[str, tuple[str, ...]]) -> tuple[ResourceSet, ...] | None:
    """The constraint's sets, in order: () when it has none, None when one
    of them cannot be used (a problem or a warning says why).

    ``expansions`` maps each tag and template id to the resources it stands for.
    """
    sets: list[ResourceSet] = []
    usable = True
    for child in children(element):
        if child.tag != "resource_set":
            continue
        target = reader.resolve(child)
        loaded = _load_set(reader, target, use, names_resource, expansions) if target is not None else None
        if loaded is None:
            usable = False
        else:
            sets.append(loaded)
    return tuple(sets) if usable else None


def _load_set(reader: Reader, element: Element, use: SetUse, names_resource: NamesResource,
              expansions: Mapping[str, tuple[str, ...]]) -> ResourceSet | None:
    ident = reader.ident(element)
    for name, only in _ONLY_IN.items():
        if element.get(name) is not None and only != use:
            reader.warn(element, f"{name!r} has no effect in {_A[use]} {use} set"
                                 f" (only in {_A[only]} {only} set): remove it")
    if use == "order" and element.get("score") is not None:
        reader.warn(element, "'score' of an order set is the legacy spelling of 'kind'"
                             " (0 is Optional, anything else Mandatory): use kind")
    resources: list[str] = []
    usable = True
    for ref in children(element):
        if ref.tag != "resource_ref":
            reader.unsupported(ref)
            continue
        rsc = ref.get("id")
        if rsc in expansions and not expansions[rsc or ""]:
            resources.append(rsc or "")  # a tag or template with no members: it stands for nothing
        elif names_resource(ref, "id", rsc):
            resources.append(rsc or "")
        else:
            usable = False
    if not resources and usable:
        reader.problem(element, "a <resource_set> needs at least one <resource_ref id=...> naming a resource")
        return None
    loaded = ResourceSet(
        id=ident,
        resources=tuple(resources),
        sequential=reader.optional_boolean(element, "sequential"),
        require_all=reader.optional_boolean(element, "require-all"),
        ordering=_choice(reader, element, "ordering", SET_ORDERINGS),
        action=_choice(reader, element, "action", SET_ACTIONS),
        role=_role(reader, element),
        score=reader.score(element) if use != "order" else None,
        kind=_kind(reader, element) if use == "order" else None,
    )
    return loaded if usable else None


def _choice(reader: Reader, element: Element, name: str, allowed: tuple[str, ...]) -> str | None:
    text = element.get(name)
    if text is None or text in allowed:
        return text
    reader.problem(element, f"invalid {name} {text!r}: use {', '.join(allowed)}")
    return None


def _role(reader: Reader, element: Element) -> str | None:
    """The set's role (legacy Master/Slave accepted), or None if absent or wrong."""
    text = normalize_role(element.get("role"))
    if text is None:
        return None
    for role in SET_ROLES:
        if text.lower() == role.lower():
            return role
    reader.problem(element, f"invalid role {text!r}: use {', '.join(SET_ROLES)}")
    return None


def _kind(reader: Reader, element: Element) -> OrderKind | None:
    """``kind``, or from a legacy ``score`` (0 is Optional, anything else Mandatory); None when neither."""
    text = element.get("kind")
    if text is not None:
        for known in ORDER_KINDS:
            if text.lower() == known.lower():
                return known
        reader.warn(element, f"invalid kind {text!r} is treated as Mandatory"
                             f" (use {', '.join(ORDER_KINDS)})")
        return "Mandatory"
    if element.get("score") is None:
        return None
    return "Optional" if reader.score(element) == 0 else "Mandatory"


def written_set_attributes(resource_set: ResourceSet) -> dict[str, str | None]:
    """The set's attributes as written (None: not written), by their CIB names, which YAML
    shares: what an export writes back, in CIB XML or YAML."""
    return {
        "sequential": _written_bool(resource_set.sequential),
        "require-all": _written_bool(resource_set.require_all),
        "ordering": resource_set.ordering,
        "action": resource_set.action,
        "role": resource_set.role,
        "score": None if resource_set.score is None else format_score(resource_set.score),
        "kind": resource_set.kind,
    }


def _written_bool(value: bool | None) -> str | None:
    return None if value is None else str(value).lower()
