"""Reading ``<rsc_ticket>`` constraints: which resources depend on which ticket.

A ticket names its resources by ``rsc`` (with ``rsc-role``) or by
``<resource_set>`` elements (each with its ``role``).  A name that is a
``<tag>`` or a ``<template>`` stands for its members (the primitives that use
the template), as in Pacemaker; vigil does not model those two, so they are
expanded here, into a resource set, once and for all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from vigil.formats.cib.reader import Element, Reader, children, normalize_role
from vigil.model.config import LOSS_POLICIES, LossPolicy, RscTicket, TicketSet

ROLES = ("Stopped", "Started", "Unpromoted", "Promoted")
# Whether an id names a resource (a problem or a warning when not).
NamesResource = Callable[[Element, str, str | None], bool]


def load_rsc_ticket(reader: Reader, element: Element, names_resource: NamesResource,
                    expansions: Mapping[str, tuple[str, ...]]) -> RscTicket | None:
    """The constraint, or None (with a problem) when it cannot be used.

    ``expansions`` maps each tag and template id to the resources it stands for.
    """
    ticket = reader.required(element, "ticket")
    loss_policy = _loss_policy(reader, element)
    sets = [child for child in children(element) if child.tag == "resource_set"]
    for child in children(element):
        if child.tag != "resource_set":
            reader.unsupported(child)
    rsc = element.get("rsc")
    role = _role(reader, element, "rsc-role")
    if sets and rsc is not None:
        reader.problem(element, "an rsc_ticket has either 'rsc' or <resource_set> elements, not both:"
                                " remove one")
        return None
    if not sets and rsc is None:
        reader.problem(element, "an rsc_ticket needs an 'rsc' attribute naming a resource, or"
                                " <resource_set> elements")
        return None
    if ticket is None or loss_policy is None:
        return None
    ident = reader.ident(element)
    if rsc is not None and rsc not in expansions:
        if not names_resource(element, "rsc", rsc):
            return None
        constraint = RscTicket(id=ident, ticket=ticket, rsc=rsc, rsc_role=role, loss_policy=loss_policy)
    else:
        loaded = _load_sets(reader, sets, names_resource, expansions) if sets else [
            TicketSet(id=f"{ident}-{rsc}", resources=expansions[rsc or ""], role=role)
        ]
        if loaded is None:
            return None
        constraint = RscTicket(id=ident, ticket=ticket, loss_policy=loss_policy, sets=tuple(loaded))
    _check_demote(reader, element, constraint)
    return constraint


def _loss_policy(reader: Reader, element: Element) -> LossPolicy | None:
    text = element.get("loss-policy", "stop")
    for policy in LOSS_POLICIES:
        if text.lower() == policy:
            return policy
    reader.problem(element, f"invalid loss-policy {text!r}: use stop, demote, fence or freeze")
    return None


def _role(reader: Reader, element: Element, name: str) -> str | None:
    """The role named by ``name`` (legacy Master/Slave accepted), or None if absent or wrong."""
    text = normalize_role(element.get(name))
    if text is None:
        return None
    for role in ROLES:
        if text.lower() == role.lower():
            return role
    reader.problem(element, f"invalid {name} {text!r}: use {', '.join(ROLES)}")
    return None


def _load_sets(reader: Reader, sets: list[Element], names_resource: NamesResource,
               expansions: Mapping[str, tuple[str, ...]]) -> list[TicketSet] | None:
    """The sets, tags and templates expanded; None when one names no resource."""
    loaded: list[TicketSet] = []
    usable = True
    for element in sets:
        resources: list[str] = []
        for ref in children(element):
            if ref.tag != "resource_ref":
                reader.unsupported(ref)
                continue
            ident = ref.get("id")
            if ident in expansions:
                resources.extend(expansions[ident or ""])
            elif names_resource(ref, "id", ident):
                resources.append(ident or "")
            else:
                usable = False
        loaded.append(TicketSet(id=reader.ident(element), resources=tuple(resources),
                                role=_role(reader, element, "role")))
    return loaded if usable else None


def _check_demote(reader: Reader, element: Element, constraint: RscTicket) -> None:
    """loss-policy=demote only demotes: for a resource not limited to the
    Promoted role Pacemaker stops it instead; say so."""
    if constraint.loss_policy != "demote":
        return
    for rsc, role in constraint.dependencies():
        if role != "Promoted":
            reader.warn(element, f"loss-policy 'demote' needs rsc-role 'Promoted': {rsc!r} is stopped"
                                 " instead when the ticket is lost")
