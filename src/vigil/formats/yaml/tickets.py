"""Ticket constraints in YAML, translated into ``<rsc_ticket>``::

    constraints:
      - ticket-constraint: db-needs-site-ticket
        ticket: site-a
        resource: db            # or sets: [{role: Started, resources: [a, b]}, ...]
        resource-role: Promoted
        loss-policy: demote     # stop (the default), demote, fence or freeze

As for every constraint, only the document's shape is checked here; the
values (roles, the loss-policy, that each resource exists) are checked by the
CIB reader that runs on the result, so YAML and CIB mean the same things.
"""

from __future__ import annotations

from vigil.formats.cib.reader import Element
from vigil.formats.yaml.build import Builder
from vigil.formats.yaml.constraint_sets import translate_set
from vigil.formats.yaml.source import Mapping
from vigil.formats.yaml.vocabulary import TICKET_KEYS, TICKET_SET_KEYS, ticket_set_id


def translate_ticket_constraint(builder: Builder, section: Element, mapping: Mapping) -> None:
    source = builder.source
    element = builder.element(section, "rsc_ticket", mapping.node)
    ident = builder.named_id(element, mapping, "ticket-constraint", "a ticket constraint")
    what = f"ticket constraint {ident!r}"
    source.check_keys(mapping, TICKET_KEYS, what)
    builder.require(element, mapping, "ticket", what, "the name of the ticket the resources need")
    builder.copy(element, mapping, "resource", what, name="rsc")
    builder.copy(element, mapping, "resource-role", what, name="rsc-role")
    builder.copy(element, mapping, "loss-policy", what)
    sets = mapping.get("sets")
    if ("resource" in mapping) == (sets is not None):
        builder.fail(element, mapping.node, f"{what} needs either 'resource' or 'sets' (not both)")
        return
    for index, item in enumerate((source.sequence(sets, f"the sets of {what}") or ()) if sets else ()):
        translate_set(builder, element, item, ticket_set_id(ident, index), f"set {index + 1} of {what}",
                      TICKET_SET_KEYS)
