"""``load_cib``: a Pacemaker CIB XML document into vigil's model.

Parsing never raises anything but :class:`~vigil.errors.InputError`, which
lists every problem found (not just the first) with file, line and element
path, so a user can fix a whole CIB in one pass.
"""

from __future__ import annotations

import os

from lxml import etree

from vigil.errors import InputError, Problem
from vigil.formats.cib.config import load_configuration
from vigil.formats.cib.reader import Element, Reader, children
from vigil.formats.cib.status import load_node_states, load_tickets
from vigil.formats.cib.stream import read_usual_cib
from vigil.model.booleans import parse_bool
from vigil.model.cluster import Cluster
from vigil.model.config import Config
from vigil.model.status import Status


def load_cib(
    source: str | os.PathLike[str] | bytes, name: str | None = None, *, with_status: bool = True
) -> tuple[Cluster, list[str]]:
    """Read a CIB from a file (a path) or bytes; return the model and the warnings.

    ``name`` is the file name used in messages (default: the path's name, or
    ``<cib>`` for bytes).  Without ``with_status`` the ``<status>`` section
    is skipped with a warning (a configuration file's status is stale and
    must neither be acted on nor stop the configuration from loading).
    Raises ``InputError`` listing every problem.
    """
    filename = name or ("<cib>" if isinstance(source, bytes) else os.path.basename(os.fspath(source)))
    data = _read(source, filename)
    reader = Reader(filename)
    cluster = _read_usual(reader, data) if with_status else None
    if cluster is None:
        # Not the usual shape, not well-formed, something to report in the
        # status, or the status to skip: read it the careful way, which
        # reports every problem.
        reader = Reader(filename)
        cluster = _load_root(reader, _parse_xml(data, filename), with_status)
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
# What libxml2 calls an ``&name;`` that no DTD declares.
_UNDECLARED_ENTITY = frozenset({"WAR_UNDECLARED_ENTITY", "ERR_UNDECLARED_ENTITY"})


def _parse_xml(data: bytes, filename: str) -> Element:
    parser = etree.XMLParser(**_PARSER_OPTIONS)  # type: ignore[arg-type]
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        # libxml2 stops at the first fatal error, so there is only one to report.
        line, column = error.position
        raise InputError(
            [Problem(f"{filename}:{line}:{column}", f"malformed XML: {error.msg}; fix the XML syntax there")]
        ) from None
    _refuse_undeclared_entities(parser, filename)
    return root


def _refuse_undeclared_entities(parser: etree.XMLParser, filename: str) -> None:
    """An entity no DTD declares is an error, not an empty value.

    With a DOCTYPE naming an external DTD (which is never read), libxml2
    only warns about ``&name;`` and leaves it out: a value would silently
    be stored empty.
    """
    problems = [
        Problem(f"{filename}:{entry.line}:{entry.column}",
                f"malformed XML: {entry.message.strip()}: write the character or text itself"
                " (or &amp; for '&')")
        for entry in parser.error_log
        if entry.type_name in _UNDECLARED_ENTITY
    ]
    if problems:
        raise InputError(problems)


def _read_usual(reader: Reader, data: bytes) -> Cluster | None:
    """A CIB of the usual shape, read fast (see ``stream``); None for any other."""
    usual = read_usual_cib(reader, data, _PARSER_OPTIONS)
    if usual is None:
        return None
    root = usual.root
    return _complete(reader, root, usual.config, Status(
        nodes=usual.states,
        have_quorum=_have_quorum(reader, root),
        dc_uuid=root.get("dc-uuid"),
        execution_date=reader.integer(root, "execution-date"),
        tickets=usual.tickets,
    ))


def _load_root(reader: Reader, root: Element, with_status: bool = True) -> Cluster | None:
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
    if status_element is not None and not with_status:
        reader.warn(status_element, "the <status> section is ignored: only the configuration is loaded")
        status_element = None
    status = _load_status(reader, root, status_element, config)
    return _complete(reader, root, config, status)


def _complete(reader: Reader, root: Element, config: Config, status: Status) -> Cluster:
    """The cluster, once its sections are read: other sections are reported."""
    sections = {str(child.tag): child for child in children(root)}
    for tag, child in sections.items():
        if tag not in ("configuration", "status"):
            reader.unsupported(child)
    config = Config(**{**config.__dict__, "unsupported": tuple(reader.unsupported_messages()),
                       "warnings": tuple(reader.warnings())})
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
        return False  # as Pacemaker reads it: quorum is only what the CIB says it has
    value = parse_bool(text)
    if value is None:
        reader.problem(root, f"invalid have-quorum {text!r}: use 1/true or 0/false")
        return True
    return value


def _attributes(element: Element) -> list[tuple[str, str]]:
    return [(str(name), str(value)) for name, value in element.attrib.items()]
