"""``load_cib``: a Pacemaker CIB XML document into vigil's model.

Parsing never raises anything but :class:`~vigil.errors.InputError`, which
lists every problem found (not just the first) with file, line and element
path, so a user can fix a whole CIB in one pass.
"""

from __future__ import annotations

import io
import os

from lxml import etree

from vigil.errors import InputError, Problem
from vigil.model.cib_config import load_configuration
from vigil.model.cib_reader import Element, Reader, children, parse_bool
from vigil.model.cib_status import load_node_state, load_node_states, load_tickets
from vigil.model.cluster import Cluster
from vigil.model.config import Config
from vigil.model.status import NodeState, Status


def load_cib(source: str | os.PathLike[str] | bytes, name: str | None = None) -> tuple[Cluster, list[str]]:
    """Read a CIB from a file (a path) or bytes; return the model and the warnings.

    ``name`` is the file name used in messages (default: the path's name, or
    ``<cib>`` for bytes).  Raises ``InputError`` listing every problem.
    """
    filename = name or ("<cib>" if isinstance(source, bytes) else os.path.basename(os.fspath(source)))
    data = _read(source, filename)
    reader = Reader(filename)
    cluster = _stream(reader, data)
    if cluster is None:
        # Not the usual shape (or not well-formed): read it the careful way,
        # which reports every problem in the same order as always.
        reader = Reader(filename)
        cluster = _load_root(reader, _parse_xml(data, filename))
    if reader.problems or cluster is None:
        raise InputError(reader.problems)
    return cluster, reader.warnings()


def _read(source: str | os.PathLike[str] | bytes, filename: str) -> bytes:
    if isinstance(source, bytes):
        return source
    try:
        with open(source, "rb") as file:
            return file.read()
    except OSError as error:
        raise InputError([Problem(filename, f"cannot read the CIB: {error.strerror or error}")]) from None


_PARSER_OPTIONS = {"resolve_entities": False, "no_network": True, "remove_pis": True, "huge_tree": False}


def _parse_xml(data: bytes, filename: str) -> Element:
    parser = etree.XMLParser(**_PARSER_OPTIONS)  # type: ignore[arg-type]
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        # libxml2 stops at the first fatal error, so there is only one to report.
        line, column = error.position
        raise InputError(
            [Problem(f"{filename}:{line}:{column}", f"malformed XML: {error.msg}; fix the XML syntax there")]
        ) from None


def _stream(reader: Reader, data: bytes) -> Cluster | None:
    """Read a CIB of the usual shape while parsing it: the configuration when
    it ends, then each ``<node_state>`` of the status as soon as it ends,
    dropping its subtree right away.  The status is most of a CIB (one
    history per node and resource) and its parsed tree takes about ten times
    the file's size, so it is never all in memory at once.

    Returns None (having perhaps reported problems to ``reader``) when the
    document is not of that shape, so that the caller reads it the careful
    way with a fresh reader: not well-formed, another root, a section twice,
    the status before the configuration, or something else than node states
    and tickets in the status (whose warnings keep their order that way).
    """
    events = etree.iterparse(io.BytesIO(data), events=("end",), tag=("configuration", "node_state"),
                             **_PARSER_OPTIONS)
    config: Config | None = None
    status: Element | None = None
    unames: dict[str, str] = {}
    states: list[NodeState] = []
    try:
        for _event, element in events:
            parent = element.getparent()
            if parent is None:
                return None
            if element.tag == "configuration":
                if parent.getparent() is not None:
                    continue  # not the section: read (or not) with what holds it
                if config is not None or parent.tag != "cib":
                    return None
                reader.index_ids(element)
                config = load_configuration(reader, element)
                unames = {node.id: node.uname for node in config.nodes}
            elif parent.tag == "status" and _is_section(parent):
                if config is None or (status is not None and parent is not status):
                    return None
                status = parent
                state = load_node_state(reader, element, unames)
                if state is not None:
                    states.append(state)
                element.clear()
                parent.remove(element)
    except etree.XMLSyntaxError:
        return None
    root = events.root
    sections = list(children(root))
    tags = [child.tag for child in sections]
    if root.tag != "cib" or config is None or tags.count("configuration") != 1 or tags.count("status") > 1:
        return None
    status = next((child for child in sections if child.tag == "status"), None)
    if status is not None and any(child.tag != "tickets" for child in children(status)):
        return None
    return _complete(reader, root, config, Status(
        nodes=tuple(states),
        have_quorum=_have_quorum(reader, root),
        dc_uuid=root.get("dc-uuid"),
        execution_date=reader.integer(root, "execution-date"),
        tickets=load_tickets(reader, status) if status is not None else (),
    ))


def _is_section(element: Element) -> bool:
    """Is ``element`` a child of the root?"""
    parent = element.getparent()
    return parent is not None and parent.getparent() is None


def _load_root(reader: Reader, root: Element) -> Cluster | None:
    if root.tag != "cib":
        reader.problem(root, f"the root element is <{root.tag}>, not <cib>: this is not a Pacemaker CIB")
        return None
    sections = {str(child.tag): child for child in children(root)}
    configuration = sections.get("configuration")
    if configuration is None:
        reader.problem(
            root, "<cib> has no <configuration> section: add <configuration> with at least <resources/>"
        )
        return None
    reader.index_ids(configuration)
    config = load_configuration(reader, configuration)
    status_element = sections.get("status")
    status = _load_status(reader, root, status_element, config)
    return _complete(reader, root, config, status)


def _complete(reader: Reader, root: Element, config: Config, status: Status) -> Cluster:
    """The cluster, once its sections are read: other sections are reported."""
    sections = {str(child.tag): child for child in children(root)}
    for tag, child in sections.items():
        if tag not in ("configuration", "status"):
            reader.unsupported(child)
    config = Config(**{**config.__dict__, "unsupported": tuple(reader.unsupported_messages())})
    return Cluster(config=config, status=status, cib_attributes=tuple(_attributes(root)))


def _load_status(reader: Reader, root: Element, status: Element | None, config: Config) -> Status:
    unames = {node.id: node.uname for node in config.nodes}
    return Status(
        nodes=load_node_states(reader, status, unames) if status is not None else (),
        have_quorum=_have_quorum(reader, root),
        dc_uuid=root.get("dc-uuid"),
        execution_date=reader.integer(root, "execution-date"),
        tickets=load_tickets(reader, status) if status is not None else (),
    )


def _have_quorum(reader: Reader, root: Element) -> bool:
    text = root.get("have-quorum")
    if text is None:
        return True
    value = parse_bool(text)
    if value is None:
        reader.problem(root, f"invalid have-quorum {text!r}: use 1/true or 0/false")
        return True
    return value


def _attributes(element: Element) -> list[tuple[str, str]]:
    return [(str(name), str(value)) for name, value in element.attrib.items()]
