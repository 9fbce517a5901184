"""Reading ``<configuration>``: options, nodes, constraints, defaults, fencing.

Resources are read in ``resources``; this module ties the sections
together and checks that every constraint names a resource that exists.
"""

from __future__ import annotations

import re
from dataclasses import replace

from vigil.formats.cib.alerts import load_alerts
from vigil.formats.cib.reader import Element, Reader, children, normalize_role
from vigil.formats.cib.resources import load_resources
from vigil.formats.cib.rules import load_nvsets, load_rule
from vigil.formats.cib.sets import SetUse, has_resource_sets, load_resource_sets
from vigil.formats.cib.tickets import load_rsc_ticket
from vigil.model.booleans import parse_bool
from vigil.model.config import (
    Clone,
    Colocation,
    Config,
    FencingLevel,
    Location,
    Node,
    NvSet,
    Order,
    OrderKind,
    Resource,
    ResourceSet,
    RscTicket,
    Tag,
    iter_primitives,
)
from vigil.model.order_cycles import describe_cycle, order_cycles
from vigil.model.rules import Rule

ORDER_KINDS: tuple[OrderKind, ...] = ("Mandatory", "Optional", "Serialize")
RESOURCE_DISCOVERY = frozenset({"always", "never", "exclusive"})
_IGNORED_SECTIONS = frozenset({"acls"})  # never affect scheduling


def load_configuration(reader: Reader, configuration: Element) -> Config:
    sections: dict[str, Element] = {}
    for child in children(configuration):
        if child.tag in _IGNORED_SECTIONS:
            reader.unsupported(child, "is ignored (it does not affect scheduling)")
        elif child.tag in sections:
            reader.problem(child, f"<{child.tag}> appears twice: merge the two sections into one")
        else:
            sections[child.tag] = child
    resources, templates = (
        load_resources(reader, sections.pop("resources")) if "resources" in sections else ((), ())
    )
    config = Config(
        options=_load_section_sets(reader, sections.pop("crm_config", None), "cluster_property_set"),
        nodes=_load_nodes(reader, sections.pop("nodes", None)),
        resources=resources,
        rsc_defaults=_load_section_sets(reader, sections.pop("rsc_defaults", None), "meta_attributes"),
        op_defaults=_load_section_sets(reader, sections.pop("op_defaults", None), "meta_attributes"),
        fencing_levels=_load_fencing(reader, sections.pop("fencing-topology", None)),
        alerts=load_alerts(reader, sections.pop("alerts", None)),
        templates=templates,
        tags=_load_tags(reader, sections.pop("tags", None)),
    )
    constraints = sections.pop("constraints", None)
    for unknown in sections.values():
        reader.unsupported(unknown)
    if constraints is not None:
        config = _load_constraints(reader, constraints, config)
    return config


def _load_tags(reader: Reader, section: Element | None) -> tuple[Tag, ...]:
    """Each ``<tag>`` with the ids its ``<obj_ref>`` elements name, in order."""
    if section is None:
        return ()
    tags: list[Tag] = []
    for element in children(section):
        if element.tag != "tag":
            reader.unsupported(element)
            continue
        refs: list[str] = []
        for ref in children(element):
            if ref.tag != "obj_ref":
                reader.unsupported(ref)
            elif ref.get("id") is None:
                reader.problem(ref, "<obj_ref> needs an 'id' attribute naming a resource")
            else:
                refs.append(str(ref.get("id")))
        tags.append(Tag(id=reader.ident(element), refs=tuple(refs)))
    return tuple(tags)


def _load_section_sets(reader: Reader, section: Element | None, tag: str) -> tuple[NvSet, ...]:
    if section is None:
        return ()
    wanted: list[Element] = []
    for child in children(section):
        if child.tag == tag:
            wanted.append(child)
        else:
            reader.unsupported(child)
    return load_nvsets(reader, wanted)


def _load_nodes(reader: Reader, section: Element | None) -> tuple[Node, ...]:
    if section is None:
        return ()
    nodes: list[Node] = []
    named: dict[str, Element] = {}  # a node is known by its name (uname): one node per name
    for element in children(section):
        if element.tag != "node":
            reader.unsupported(element)
            continue
        _check_node_name(reader, element, named)
        sets: dict[str, list[Element]] = {"instance_attributes": [], "utilization": []}
        for child in children(element):
            if child.tag in sets:
                sets[child.tag].append(child)
            else:
                reader.unsupported(child)
        nodes.append(
            Node(
                id=reader.ident(element),
                uname=reader.required(element, "uname") or "",
                type=element.get("type", "member"),
                attributes=load_nvsets(reader, sets["instance_attributes"]),
                utilization=load_nvsets(reader, sets["utilization"]),
            )
        )
    return tuple(nodes)


def _check_node_name(reader: Reader, element: Element, named: dict[str, Element]) -> None:
    """A problem when another node already has this node's uname."""
    uname = element.get("uname")
    if not uname:
        return
    first = named.setdefault(uname, element)
    if first is not element:
        reader.problem(element, f"duplicate uname {uname!r} (already used by <node> at line "
                                f"{first.sourceline}): node names must be unique; rename one of them")


def _load_fencing(reader: Reader, section: Element | None) -> tuple[FencingLevel, ...]:
    if section is None:
        return ()
    levels: list[FencingLevel] = []
    for element in children(section):
        if element.tag != "fencing-level":
            reader.unsupported(element)
            continue
        index = reader.integer(element, "index")
        if index is None:
            reader.required(element, "index")
        devices = reader.required(element, "devices") or ""
        pattern = element.get("target-pattern")
        if pattern is not None:
            is_pattern(reader, element, "target-pattern", pattern)
        levels.append(
            FencingLevel(
                id=reader.ident(element),
                index=index or 0,
                devices=tuple(device for device in devices.split(",") if device),
                target=element.get("target"),
                target_pattern=element.get("target-pattern"),
                target_attribute=element.get("target-attribute"),
                target_value=element.get("target-value"),
            )
        )
    return tuple(levels)


# -- constraints -------------------------------------------------------------


class _Constraints:
    """Reads constraints against the set of resource ids that exist."""

    def __init__(self, reader: Reader, config: Config) -> None:
        self.reader = reader
        self.config = config
        self.resource_ids = _resource_ids(config.resources)
        self.reference_ids = {tag.id for tag in config.tags} | {t.id for t in config.templates}
        # What a tag or template id stands for in a ticket: its members.
        self.expansions = {ident: config.constrained(ident) for ident in self.reference_ids}
        self.locations: list[Location] = []
        self.colocations: list[Colocation] = []
        self.orders: list[Order] = []
        self.rsc_tickets: list[RscTicket] = []

    def names_resource(self, element: Element, attribute: str, ident: str | None) -> bool:
        """Whether ``ident`` is a modelled resource; a problem or warning if not."""
        if ident is None:
            self.reader.problem(element, f"<{element.tag}> needs a {attribute!r} attribute naming a resource")
            return False
        if ident in self.resource_ids:
            return True
        if ident in self.reference_ids:
            return self._names_resources(element, attribute, ident)
        kind = self.reader.unmodelled_ids.get(ident)
        if kind is not None:
            self.reader.warn(
                element,
                f"{attribute} {ident!r} is (in) a <{kind}>, which vigil does not model:"
                " the constraint is skipped",
            )
            return False
        self.reader.problem(
            element,
            f"{attribute} {ident!r} does not name any resource: fix the name or remove the constraint",
        )
        return False

    def _names_resources(self, element: Element, attribute: str, ident: str) -> bool:
        """A tag or template stands for each of its resources; the constraint
        is skipped (as Pacemaker skips it) when one of them is not a resource,
        and means nothing when there are none."""
        members = self.config.constrained(ident)
        unknown = [member for member in members if member not in self.resource_ids]
        if unknown:
            verb = "is not a resource" if len(unknown) == 1 else "are not resources"
            self.reader.warn(
                element,
                f"{attribute} {ident!r} stands for {', '.join(map(repr, unknown))}, which {verb}:"
                " the constraint is skipped",
            )
            return False
        return bool(members)

    def resource_sets(self, element: Element, use: SetUse,
                      instead: tuple[str, ...]) -> tuple[ResourceSet, ...] | None:
        """The constraint's ``<resource_set>`` elements (() when none); None
        when they cannot be used, or when it also names its resources by one
        of the attributes ``instead``."""
        if not has_resource_sets(element):
            return ()
        written = [name for name in instead if element.get(name) is not None]
        if written:
            self.reader.problem(element, f"a <{element.tag}> names its resources by {'/'.join(instead)}"
                                         f" or by <resource_set> elements, not both: remove {written[0]!r}"
                                         " or the sets")
            return None
        return load_resource_sets(self.reader, element, use, self.names_resource, self.expansions)

    def location(self, element: Element) -> None:
        sets = self.resource_sets(element, "location", ("rsc", "rsc-pattern"))
        if sets is None:
            return
        pattern = element.get("rsc-pattern")
        rsc = element.get("rsc")
        if not sets and pattern is None and not self.names_resource(element, "rsc", rsc):
            return
        if pattern is not None and not is_pattern(self.reader, element, "rsc-pattern", pattern):
            return
        rules: list[Rule] = []
        for child in children(element):
            if child.tag == "rule":
                rule = load_rule(self.reader, child)
                if rule is not None:
                    rules.append(rule)
            elif child.tag != "resource_set":
                self.reader.unsupported(child)
        node = element.get("node")
        score = self.reader.score(element)
        if node is not None and element.get("score") is None \
                and not (sets and all(resource_set.score is not None for resource_set in sets)):
            self.reader.problem(element, "a location with 'node' needs a 'score' (e.g. score=\"INFINITY\")")
        if node is None and not any(child.tag == "rule" for child in children(element)):
            self.reader.problem(element, "a location needs 'node' and 'score' attributes or a <rule>")
        discovery = element.get("resource-discovery", "always")
        if discovery not in RESOURCE_DISCOVERY:
            self.reader.problem(
                element, f"invalid resource-discovery {discovery!r}: use always, never or exclusive"
            )
        self.locations.append(
            Location(
                id=self.reader.ident(element),
                rsc=rsc or "",
                node=node,
                score=score,
                rules=tuple(rules),
                role=normalize_role(element.get("role")),
                resource_discovery=discovery,
                rsc_pattern=pattern,
                sets=sets,
            )
        )

    def colocation(self, element: Element) -> None:
        sets = self.resource_sets(element, "colocation", ("rsc", "with-rsc"))
        if sets is None:
            return
        if sets:
            self._colocation_of_sets(element, sets)
            return
        rsc = element.get("rsc", element.get("from"))
        with_rsc = element.get("with-rsc", element.get("to"))
        rsc_exists = self.names_resource(element, "rsc", rsc)
        with_rsc_exists = self.names_resource(element, "with-rsc", with_rsc)
        score = self.reader.score(element)
        if element.get("score") is None:
            score = 0
            self.reader.warn(element, "colocation without a score: it has score 0 and no effect")
        influence = _influence(self.reader, element)
        if not (rsc_exists and with_rsc_exists) or score is None:
            return
        if rsc in self.reference_ids and with_rsc in self.reference_ids:
            # Which member would go with which is undefined; Pacemaker skips it too.
            self.reader.warn(element, "colocates a tag or template with another one, which means nothing:"
                                      " the constraint is skipped")
            return
        self.colocations.append(
            Colocation(
                id=self.reader.ident(element),
                rsc=rsc or "",
                with_rsc=with_rsc or "",
                score=score,
                rsc_role=normalize_role(element.get("rsc-role", element.get("from_role"))),
                with_rsc_role=normalize_role(element.get("with-rsc-role", element.get("to_role"))),
                node_attribute=element.get("node-attribute", "#uname"),
                influence=influence,
            )
        )

    def _colocation_of_sets(self, element: Element, sets: tuple[ResourceSet, ...]) -> None:
        score = self.reader.score(element)
        if element.get("score") is None:
            self.reader.warn(element, "colocation without a score: it has score 0, and only sets with"
                                      " their own score have an effect")
        for name in ("rsc-role", "with-rsc-role", "node-attribute"):
            if element.get(name) is not None:
                self.reader.warn(element, f"{name!r} has no effect on a colocation of resource sets"
                                          " (Pacemaker ignores it too): use each set's role")
        influence = _influence(self.reader, element)
        if element.get("score") is not None and score is None:
            return
        self.colocations.append(Colocation(id=self.reader.ident(element), rsc="", with_rsc="",
                                           score=score or 0, influence=influence, sets=sets))

    def order(self, element: Element) -> None:
        sets = self.resource_sets(element, "order", ("first", "then"))
        if sets is None:
            return
        if sets:
            self._order_of_sets(element, sets)
            return
        first = element.get("first")
        then = element.get("then")
        first_exists = self.names_resource(element, "first", first)
        then_exists = self.names_resource(element, "then", then)
        kind = self._order_kind(element)
        symmetrical = self.reader.optional_boolean(element, "symmetrical")
        require_all = self.reader.boolean(element, "require-all", True)
        if not (first_exists and then_exists):
            return
        self.orders.append(
            Order(
                id=self.reader.ident(element),
                first=first or "",
                then=then or "",
                first_action=element.get("first-action", element.get("action", "start")),
                then_action=element.get("then-action", element.get("to_action")),
                kind=kind,
                symmetrical=symmetrical,
                require_all=require_all,
            )
        )

    def _order_of_sets(self, element: Element, sets: tuple[ResourceSet, ...]) -> None:
        for name in ("first-action", "then-action", "require-all"):
            if element.get(name) is not None:
                self.reader.warn(element, f"{name!r} has no effect on an order of resource sets: use each"
                                          f" set's {'require-all' if name == 'require-all' else 'action'}")
        kind = self._order_kind(element)
        symmetrical = self.reader.optional_boolean(element, "symmetrical")
        self.orders.append(Order(id=self.reader.ident(element), first="", then="", kind=kind,
                                 symmetrical=symmetrical, sets=sets))

    def rsc_ticket(self, element: Element) -> None:
        constraint = load_rsc_ticket(self.reader, element, self.names_resource, self.expansions)
        if constraint is not None:
            self.rsc_tickets.append(constraint)

    def _order_kind(self, element: Element) -> OrderKind:
        """``kind``, or from the legacy score: 0 is Optional, anything else Mandatory."""
        kind = element.get("kind")
        if kind is not None:
            for known in ORDER_KINDS:
                if kind.lower() == known.lower():
                    return known
            self.reader.warn(
                element,
                f"invalid kind {kind!r} is treated as Mandatory (use Mandatory, Optional or Serialize)",
            )
            return "Mandatory"
        score = self.reader.score(element)
        return "Optional" if score == 0 else "Mandatory"


def is_pattern(reader: Reader, element: Element, name: str, pattern: str) -> bool:
    """Whether ``pattern`` is a regular expression; a problem if not (Pacemaker refuses it too)."""
    try:
        re.compile(pattern)
    except re.error as error:
        reader.problem(element, f"{name} {pattern!r} is not a regular expression ({error}): fix it")
        return False
    return True


def _influence(reader: Reader, element: Element) -> bool:
    """``influence``; an unparsable value is ignored as Pacemaker does (default true)."""
    text = element.get("influence")
    if text is None:
        return True
    value = parse_bool(text)
    if value is None:
        reader.warn(element, f"invalid influence {text!r} is ignored (use true or false); true is used")
        return True
    return value


def _resource_ids(resources: tuple[Resource, ...]) -> set[str]:
    ids: set[str] = set()
    for resource in resources:
        ids.add(resource.id)
        if isinstance(resource, Clone):
            ids.add(resource.child.id)
        ids.update(primitive.id for primitive in iter_primitives(resource))
    return ids


def _load_constraints(reader: Reader, section: Element, config: Config) -> Config:
    reading = _Constraints(reader, config)
    handlers = {
        "rsc_location": reading.location,
        "rsc_colocation": reading.colocation,
        "rsc_order": reading.order,
        "rsc_ticket": reading.rsc_ticket,
    }
    for element in children(section):
        handler = handlers.get(str(element.tag))
        if handler is None:
            reader.unsupported(element)
        else:
            handler(element)
    _report_cycles(reader, section, reading.orders)
    return replace(
        config,
        locations=tuple(reading.locations),
        colocations=tuple(reading.colocations),
        orders=tuple(reading.orders),
        rsc_tickets=tuple(reading.rsc_tickets),
    )


def _report_cycles(reader: Reader, section: Element, orders: list[Order]) -> None:
    """One problem per circle of orders, at its first order."""
    elements = {str(child.get("id")): child for child in children(section) if child.tag == "rsc_order"}
    for cycle in order_cycles(orders):
        reader.problem(
            elements.get(cycle[0].id, section),
            f"these orders wait on each other in a circle, so none of their actions can ever run:"
            f" {describe_cycle(cycle)}; remove one of them",
        )
