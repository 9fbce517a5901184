"""``attrd_updater``: transient node attributes, as pacemaker-attrd keeps them.

``-n NAME`` with one command: ``-U``/``-v VALUE`` (update), ``-B VALUE``
(update, and the dampening given with ``-d``), ``-Y`` (the dampening only),
``-D`` (delete), ``-Q`` (query; also what no command means), ``-R``
(refresh: nothing to do here).  ``-N NODE`` names another node than the
agent's own; ``-A`` queries every node.  ``-d DELAY`` (``5``, ``5s``,
``1m``) is attrd's dampening: the value is written once it stayed the same
that long (:class:`vigil.admin.attributes.DelayedWrites`).  ``-p``
(private) is accepted: vigil keeps such attributes with the others.  ``-S``,
``-s``, ``-l`` are accepted and ignored, as Pacemaker ignores them.

A query prints one line per node, ``name="N" host="H" value="V"`` (scripts
``eval`` it); an attribute not set there exits 105.
"""

from __future__ import annotations

import argparse

from vigil.cli.cluster_tools.common import (
    EXIT_NOSUCH,
    EXIT_OK,
    Parser,
    ToolError,
    emit,
    first_set,
    local_target,
)
from vigil.cli.cluster_tools.connection import ApiError, Daemon, Unreachable, path

NAME = "attrd_updater"


def parser() -> Parser:
    p = Parser(NAME, "Update, query or delete a transient node attribute (vigil's attrd_updater).")
    p.add_argument("-n", "--name", help="The attribute's name.")
    p.add_argument("-U", "--update", "-v", dest="update", metavar="VALUE", help="Set the value.")
    p.add_argument("-B", "--update-both", metavar="VALUE", help="Set the value and the dampening (-d).")
    p.add_argument("-Y", "--update-delay", action="store_true", help="Set the dampening (-d) only.")
    p.add_argument("-Q", "--query", action="store_true", help="Print the value (the default command).")
    p.add_argument("-D", "--delete", action="store_true", help="Remove the attribute.")
    p.add_argument("-R", "--refresh", action="store_true", help="Accepted: vigil writes at once.")
    p.add_argument("-d", "--delay", metavar="DELAY", help="Dampening: 5, 5s, 1m, 500ms.")
    p.add_argument("-N", "--node", help="The node (default: the one the agent runs on).")
    p.add_argument("-A", "--all", action="store_true", help="Query every node.")
    p.add_argument("-p", "--private", action="store_true", help="Accepted (kept with the others).")
    p.add_argument("-S", "--section", help=argparse.SUPPRESS)
    p.add_argument("-s", "--set", help="Accepted and ignored.")
    p.add_argument("-l", "--lifetime", help="Accepted and ignored (attrd's are transient).")
    p.add_argument("-q", "--quiet", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--output-as", default="text", choices=["text"], help="text only.")
    return p


def main(argv: list[str]) -> int:
    options = parser().parse(argv)
    command = first_set(("update", options.update), ("update-both", options.update_both),
                        ("update-delay", options.update_delay), ("delete", options.delete),
                        ("refresh", options.refresh), ("query", options.query)) or "query"
    if command == "refresh":
        return EXIT_OK
    if not options.name:
        raise ToolError("--name must be given", 64)
    daemon = _daemon(command, _shown(options))
    node = local_target(options.node) or daemon.node
    if command == "query":
        return _query(daemon, options.name, None if options.all else node)
    return _change(daemon, command, options, node)


def _shown(options: argparse.Namespace) -> str:
    """``NAME=VALUE`` (or ``NAME``), as attrd_updater names what it could not do."""
    value = options.update if options.update is not None else options.update_both
    return f"{options.name}={value}" if value is not None else str(options.name)


def _daemon(command: str, shown: str) -> Daemon:
    try:
        return Daemon.find()
    except Unreachable as error:
        verb = "query value of" if command == "query" else "update"
        raise ToolError(f"Could not {verb} {shown}: {error.message}", error.exit_code) from None


def _change(daemon: Daemon, command: str, options: argparse.Namespace, node: str) -> int:
    name = options.name
    route = path("nodes", node, "attributes", name)
    value = options.update if command == "update" else options.update_both
    try:
        if command == "delete":
            daemon.change("DELETE", route, delay=options.delay)
        elif command == "update-delay":
            current = daemon.get(route)["value"]
            if current is not None and options.delay is not None:
                daemon.change("PUT", route, {"value": current, "delay": options.delay})
        else:
            daemon.change("PUT", route, {"value": value, "delay": options.delay})
    except ToolError as error:
        raise ToolError(f"Could not update {_shown(options)}: {error.message}", error.exit_code) from None
    return EXIT_OK


def _query(daemon: Daemon, name: str, node: str | None) -> int:
    try:
        if node is None:
            values = daemon.get(path("attributes", name))["values"]
        else:
            value = daemon.get(path("nodes", node, "attributes", name))["value"]
            values = {node: value} if value is not None else {}
    except ApiError as error:
        raise ToolError(f"Could not query value of {name}: {error.message}", error.exit_code) from None
    if not values:
        raise ToolError(f"Could not query value of {name}: attribute does not exist", EXIT_NOSUCH)
    for host, value in values.items():
        emit(query_line(name, host, value))
    return EXIT_OK


def query_line(name: str, host: str, value: str) -> str:
    """One node's answer, as Pacemaker prints it (and scripts ``eval``)."""
    return f'name="{name}" host="{host}" value="{value}"'
