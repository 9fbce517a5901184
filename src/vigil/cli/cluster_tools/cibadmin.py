"""``cibadmin --query``: the CIB with its status section (node states, transient attributes, history).

``-o SECTION`` (``--scope``) prints one section (``nodes``, ``resources``,
``constraints``, ``crm_config``, ``status`` ...); ``--xpath EXPR`` (``-A``)
the elements it matches: one as it is, several inside ``<xpath-query>``, as
Pacemaker prints them; none exits 105.  Only queries: the configuration is
changed through vigil (``vigil config load``, ``crm_attribute``...).
"""

from __future__ import annotations

from lxml import etree

from vigil.cli.cluster_tools.common import EXIT_NOSUCH, EXIT_OK, EXIT_USAGE, Parser, ToolError, emit
from vigil.cli.cluster_tools.connection import Daemon

NAME = "cibadmin"
NO_SUCH = "Call cib_query failed (-6): No such device or address"
_CHANGES = (("-C", "--create"), ("-M", "--modify"), ("-P", "--patch"), ("-R", "--replace"),
            ("-D", "--delete"), ("-d", "--delete-all"), ("-E", "--erase"), ("-B", "--bump"),
            ("-u", "--upgrade"), ("-5", "--md5-sum"), ("-6", "--md5-sum-versioned"), ("-a", "--empty"),
            ("-c", "--allow-create"), ("-e", "--node-path"))


def parser() -> Parser:
    p = Parser(NAME, "Print the CIB, its status included (vigil's cibadmin: queries only).",
               help_flags=("-?", "--help"))
    p.add_argument("-Q", "--query", action="store_true", help="Print the CIB (or a part of it).")
    p.add_argument("-A", "--xpath", help="Only the elements this XPath expression matches.")
    p.add_argument("-o", "--scope", help="Only this section (nodes, resources, status ...).")
    p.add_argument("-n", "--no-children", action="store_true", help="Accepted.")
    p.add_argument("-l", "--local", action="store_true", help="Accepted.")
    p.add_argument("-s", "--sync-call", action="store_true", help="Accepted.")
    p.add_argument("-f", "--force", action="store_true", help="Accepted.")
    p.add_argument("-t", "--timeout", help="Accepted.")
    p.add_argument("-S", "--show-access", nargs="?", const="", help="Accepted.")
    p.add_argument("-U", "--user", help="Accepted.")
    p.add_argument("-N", "--node", help="Accepted: the query goes to this node's vigil.")
    for short, long in _CHANGES:
        p.add_argument(short, long, action="store_true", dest="change", help="Not offered.")
    p.add_argument("-X", "--xml-text", help="Not offered.")
    p.add_argument("-x", "--xml-file", help="Not offered.")
    p.add_argument("-p", "--xml-pipe", action="store_true", help="Not offered.")
    return p


def main(argv: list[str]) -> int:
    options = parser().parse(argv)
    if options.change or options.xml_text or options.xml_file or options.xml_pipe or not options.query:
        raise ToolError("vigil's cibadmin only queries (-Q): change the configuration with `vigil config "
                        "load`, crm_attribute or crm_resource", EXIT_USAGE)
    text = Daemon.find().text("/api/v1/cib")
    for chunk in select(text, options.scope, options.xpath):
        emit(chunk.rstrip("\n"))
    return EXIT_OK


def select(cib: str, scope: str | None, xpath: str | None) -> list[str]:
    """The parts of ``cib`` asked for, as text; ToolError(105) when nothing matches."""
    root = etree.fromstring(cib.encode())
    if scope:
        found = root.find(scope) if scope == "configuration" or scope == "status" else \
            root.find(f"configuration/{scope}")
        if found is None:
            raise ToolError(NO_SUCH, EXIT_NOSUCH)
        root = found
    if not xpath:
        return [_text(root)]
    try:
        result = root.xpath(xpath)
    except etree.XPathError as error:
        raise ToolError(f"invalid --xpath {xpath!r}: {error}", EXIT_USAGE) from None
    matches: list[object] = list(result) if isinstance(result, list) else [result]
    if not matches:
        raise ToolError(NO_SUCH, EXIT_NOSUCH)
    if len(matches) == 1:
        return [_text(matches[0])]
    wrapper = etree.Element("xpath-query")
    for match in matches:
        if isinstance(match, etree._Element):
            wrapper.append(_copy(match))
        else:
            return [str(item) for item in matches]
    return [_text(wrapper)]


def _copy(element: etree._Element) -> etree._Element:
    copied: etree._Element = etree.fromstring(etree.tostring(element))
    return copied


def _text(item: object) -> str:
    if isinstance(item, etree._Element):
        return bytes(etree.tostring(item, pretty_print=True, encoding="UTF-8", with_tail=False)).decode()
    return str(item)
