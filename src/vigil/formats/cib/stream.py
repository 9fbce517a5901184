"""Reading a CIB of the usual shape quickly, without a tree for ``<status>``.

The status is most of a CIB: one ``<lrm_resource>`` per node and resource,
each with its operation records, every one a dozen and more attributes.
Building lxml's tree for it costs about ten times the file's size in memory
and most of the reading time.  :func:`read_usual_cib` reads the status from
the parser's events instead (lxml's parser-target interface: the parser
calls :class:`_StatusReader` for each element, with its attributes already
in a dict, and builds no tree), and only the configuration as a tree, which
the configuration readers need.

It handles the usual shape only: a ``<cib>`` holding one ``<configuration>``
and then at most one ``<status>`` of node states and tickets whose contents
read without a single problem or warning.  For anything else it gives up,
and ``load_cib`` reads the document the careful way, which reports every
problem with its line and path.  Both ways give the same model: the records
are built by the same functions of ``status``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from lxml import etree

from vigil.formats.cib.config import load_configuration
from vigil.formats.cib.reader import Element, Reader
from vigil.formats.cib.status import (
    node_state_from,
    op_record_from,
    parse_last_granted,
    resource_history_from,
)
from vigil.model.booleans import parse_bool
from vigil.model.config import Config
from vigil.model.status import NodeState, OpRecord, ResourceHistory, Ticket

# Bytes fed to the configuration's parser at a time (its input buffer is
# limited to 10 MB without huge_tree).
_CHUNK = 1 << 16


# The element that holds the items of each part of a node state.
_SETS = (("transient_attributes", "instance_attributes"), ("transient_attributes", "utilization"),
         ("lrm", "lrm_resources"))


class _Unusual(Exception):
    """The document is not of the usual shape, or reading it would report
    something: it is read the careful way."""


class UsualCib(NamedTuple):
    root: Element  # with its configuration only
    config: Config
    states: tuple[NodeState, ...]
    tickets: tuple[Ticket, ...]


def read_usual_cib(reader: Reader, data: bytes, options: dict[str, Any]) -> UsualCib | None:
    """The root, configuration, node states and tickets of a CIB of the usual
    shape; None for any other.  The configuration is read into ``reader`` as
    the careful way reads it (same problems); the root's attributes are left
    to the caller."""
    tree = _configuration_tree(data, options)
    if tree is None:
        return None
    root, configuration = tree
    reader.index_ids(configuration)
    config = load_configuration(reader, configuration)
    status = _StatusReader({node.id: node.uname for node in config.nodes})
    try:
        # (no data() or comment() on purpose: lxml then does not call back for
        # text and comments, which nothing here reads)
        etree.fromstring(data, etree.XMLParser(target=status, **options))  # type: ignore[arg-type]
    except (_Unusual, etree.XMLSyntaxError):
        return None
    tickets = _tickets_from(status.tickets)
    if status.sections not in (["configuration"], ["configuration", "status"]) or tickets is None:
        return None
    return UsualCib(root, config, tuple(status.states), tickets)


def _configuration_tree(data: bytes, options: dict[str, Any]) -> tuple[Element, Element] | None:
    """The root and its ``<configuration>``, parsed as a tree (line numbers
    and all) up to the configuration's end and no further."""
    parser = etree.XMLPullParser(events=("end",), tag="configuration", **options)
    try:
        for start in range(0, len(data), _CHUNK):
            parser.feed(data[start:start + _CHUNK])
            for _event, element in parser.read_events():
                assert isinstance(element, etree._Element)
                root = element.getparent()
                if root is None or root.getparent() is not None or root.tag != "cib":
                    return None
                return root, element
    except etree.XMLSyntaxError:
        return None
    return None


class _StatusReader:
    """A parser target that reads the node states and tickets of ``<status>``
    (and only notes the other sections' names).  Raises :class:`_Unusual` as
    soon as anything would need the careful way."""

    def __init__(self, unames: dict[str, str]) -> None:
        self.unames = unames
        self.sections: list[str] = []
        self.states: list[NodeState] = []
        self.tickets: list[dict[str, str]] = []
        self.depth = 0
        self.in_status = False
        # The node state being read, and which of its parts.
        self.node: dict[str, str] = {}
        self.part = ""
        self.attributes: list[tuple[str, str]] = []
        self.utilization: list[tuple[str, str]] = []
        # Where the nvpairs of the transient set being read go.
        self.pairs = self.attributes
        self.resources: list[ResourceHistory] = []
        # The resource history being read.
        self.history: dict[str, str] = {}
        self.ops: list[OpRecord] = []

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self.depth += 1
        depth = self.depth
        if depth <= 2:
            if depth == 2:
                self.sections.append(tag)
                self.in_status = tag == "status"
            elif tag != "cib":
                raise _Unusual
            return
        if not self.in_status:
            return
        if depth == 3:  # <status> children
            if tag == "node_state":
                self.node, self.part, self.attributes, self.resources = attrib, "", [], []
                self.utilization = []
            elif tag == "tickets":
                self.part = tag
            else:
                raise _Unusual
        elif depth == 4:  # <node_state> and <tickets> children
            if self.part == "tickets":
                if tag != "ticket_state":
                    raise _Unusual
                self.tickets.append(attrib)
                self.part = "ticket"
            elif tag in ("transient_attributes", "lrm"):
                self.part = tag
            else:
                raise _Unusual
        elif self.part == "ticket":
            return  # inside a <ticket_state>: not read, either way
        elif depth == 5:
            if (self.part, tag) not in _SETS:
                raise _Unusual
            self.pairs = self.utilization if tag == "utilization" else self.attributes
        elif depth == 6:
            if self.part == "transient_attributes" and tag == "nvpair":
                name, value = attrib.get("name"), attrib.get("value")
                if name is not None and value is not None:
                    self.pairs.append((name, value))
            elif self.part == "lrm" and tag == "lrm_resource":
                self.history, self.ops = attrib, []
            else:
                raise _Unusual
        elif depth == 7 and self.part == "lrm":
            record = op_record_from(attrib) if tag == "lrm_rsc_op" else None
            if record is None:
                raise _Unusual
            self.ops.append(record)
        # Deeper, or inside a ticket or an nvpair: not read, either way.

    def end(self, tag: str) -> None:
        depth = self.depth
        self.depth -= 1
        if not self.in_status:
            return
        if depth == 6 and self.part == "lrm":
            history = resource_history_from(self.history, tuple(self.ops))
            if history is None:
                raise _Unusual
            self.resources.append(history)
        elif depth == 4 and self.part == "ticket":
            self.part = "tickets"
        elif depth == 3 and tag == "node_state":
            state = node_state_from(self.node, tuple(self.attributes), tuple(self.resources), self.unames,
                                    tuple(self.utilization))
            if state is None:
                raise _Unusual
            self.states.append(state)
        elif depth == 2:
            self.in_status = False

    def doctype(self, *_args: object) -> None:
        raise _Unusual  # entities and the like: the careful way

    def close(self) -> None:
        return None


def _tickets_from(tickets: list[dict[str, str]]) -> tuple[Ticket, ...] | None:
    """The tickets of these ``<ticket_state>`` attributes, or None when reading
    them would report something."""
    found = []
    for attrs in tickets:
        ident = attrs.get("id")
        granted = _flag(attrs.get("granted"))
        standby = _flag(attrs.get("standby"))
        last_granted_text = attrs.get("last-granted")
        last_granted = None if last_granted_text is None else parse_last_granted(last_granted_text)
        if ident is None or granted is None or standby is None:
            return None
        if last_granted_text is not None and last_granted is None:
            return None
        found.append(Ticket(id=ident, granted=granted, standby=standby, last_granted=last_granted))
    return tuple(found)


def _flag(text: str | None) -> bool | None:
    return False if text is None else parse_bool(text)
