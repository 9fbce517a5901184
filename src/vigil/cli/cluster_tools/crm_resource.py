"""``crm_resource``, as agents use it: ``--ban`` and ``--utilization``.

- ``-B -r RSC [-N NODE]``: keep RSC off NODE (default: where it runs) with
  crm_resource's ``cli-ban-RSC-on-NODE`` constraint; an agent names its own
  primitive, and inside a clone the clone is banned;
- ``-z -r RSC -g NAME`` prints a utilization value alone (105 when it is not
  set), ``-z -r RSC -p NAME -v VALUE`` sets it, ``-z -r RSC -d NAME``
  removes it.

The rest of crm_resource is `vigil resource`'s (start, stop, move, clear,
cleanup...), for operators rather than agents.
"""

from __future__ import annotations

import argparse

from vigil.cli.cluster_tools.common import (
    EXIT_NOSUCH,
    EXIT_OK,
    EXIT_USAGE,
    Parser,
    ToolError,
    emit,
    first_set,
    local_target,
)
from vigil.cli.cluster_tools.connection import ApiError, Daemon, path

NAME = "crm_resource"


def parser() -> Parser:
    p = Parser(NAME, "Ban a resource, or read and set its utilization (vigil's crm_resource, for agents).",
               help_flags=("-?", "--help"))
    p.add_argument("-r", "--resource", help="The resource.")
    p.add_argument("-N", "--node", help="The node.")
    p.add_argument("-B", "--ban", action="store_true", help="Keep the resource off the node.")
    p.add_argument("-z", "--utilization", action="store_true", help="Work on utilization.")
    p.add_argument("-g", "--get-parameter", metavar="NAME", help="Print a value.")
    p.add_argument("-p", "--set-parameter", metavar="NAME", help="Set a value (with -v).")
    p.add_argument("-v", "--parameter-value", metavar="VALUE", help="The value for -p.")
    p.add_argument("-d", "--delete-parameter", metavar="NAME", help="Remove a value.")
    p.add_argument("-Q", "--quiet", action="store_true", help="Print only what was asked.")
    p.add_argument("-f", "--force", action="store_true", help="Accepted.")
    p.add_argument("-u", "--lifetime", help="Not supported by vigil: bans stay until cleared.")
    p.add_argument("--promoted", "--master", action="store_true", help="Not supported by vigil.")
    p.add_argument("--output-as", default="text", choices=["text"], help="text only.")
    return p


def main(argv: list[str]) -> int:
    options = parser().parse(argv)
    if not options.resource:
        raise ToolError("--resource must be given", EXIT_USAGE)
    if options.lifetime is not None or options.promoted:
        raise ToolError("vigil's crm_resource does not support --lifetime and --promoted bans", EXIT_USAGE)
    if options.ban:
        return _ban(options)
    command = first_set(("get", options.get_parameter), ("set", options.set_parameter),
                        ("delete", options.delete_parameter))
    if command is None or not options.utilization:
        raise ToolError("vigil's crm_resource does --ban and --utilization (-z with -g, -p or -d); the rest "
                        "is `vigil resource`", EXIT_USAGE)
    return _utilization(command, options)


def _ban(options: argparse.Namespace) -> int:
    daemon = Daemon.find()
    node = local_target(options.node) if options.node is not None else None
    body = {"node": node} if node is not None else {}
    try:
        result = daemon.change("POST", path("resources", options.resource, "ban-from-agent"), body)
    except ApiError as error:
        raise ToolError(f"Error performing operation: {error.message}", error.exit_code) from None
    if not options.quiet:
        for note in result.get("notes") or []:
            emit(f"WARNING: {note}")
    return EXIT_OK


def _utilization(command: str, options: argparse.Namespace) -> int:
    daemon = Daemon.find()
    rsc = options.resource
    try:
        if command == "get":
            values = daemon.get(path("resources", rsc, "utilization"))["utilization"]
            if options.get_parameter not in values:
                raise ToolError("Error performing operation: No such device or address", EXIT_NOSUCH)
            emit(values[options.get_parameter])
        elif command == "set":
            if options.parameter_value is None:
                raise ToolError("--set-parameter needs --parameter-value (-v)", EXIT_USAGE)
            daemon.change("PUT", path("resources", rsc, "utilization", options.set_parameter),
                          {"value": options.parameter_value})
        else:
            daemon.change("DELETE", path("resources", rsc, "utilization", options.delete_parameter))
    except ApiError as error:
        raise ToolError(f"Error performing operation: {error.message}", error.exit_code) from None
    return EXIT_OK
