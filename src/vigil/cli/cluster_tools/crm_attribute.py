"""``crm_attribute`` (and ``crm_master``, its wrapper): node attributes, promotion scores, cluster options.

Where, as Pacemaker decides it: ``-l reboot`` / ``-t status`` is the node's
transient attributes, ``-l forever`` / ``-t nodes`` its permanent ones (the
configuration), ``-t crm_config`` the cluster options; without either, a
promotion score (``-p [RSC]``: ``master-RSC``) is transient, a ``--node``
attribute permanent, anything else a cluster option.  A node attribute
without ``--node`` is the agent's own node's.  ``-z`` is the node's
utilization.  The last of ``-l`` and ``-t`` given wins, as in Pacemaker.

Commands: ``-v VALUE`` (update), ``-D`` (delete), ``-G`` (query, the
default).  A query prints ``scope=S  name=N value=V`` (``-q``: the value
alone); a missing one prints ``--default`` if given, else exits 105.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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

NAME = "crm_attribute"
# -t / -l values, as the section they name.
SECTIONS = {"crm_config": "crm_config", "nodes": "nodes", "forever": "nodes", "status": "status",
            "reboot": "status"}
NOT_SUPPORTED_SECTIONS = ("rsc_defaults", "op_defaults", "tickets")
NO_SUCH = "Error performing operation: No such device or address"
PROMOTION_PREFIX = "master-"


class _Section(argparse.Action):
    """-t and -l write one setting, so the last one given wins (Pacemaker's options.type)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        text = str(values)
        if option_string in ("-l", "--lifetime") and text.lower() not in ("reboot", "forever"):
            parser.error(f"--lifetime must be reboot or forever, not {text!r}")
        setattr(namespace, self.dest, text)


def parser(prog: str = NAME) -> Parser:
    p = Parser(prog, "Query, update or delete a node attribute, promotion score or cluster option "
                     "(vigil's crm_attribute).")
    p.add_argument("-n", "--name", help="The attribute's or option's name.")
    p.add_argument("-p", "--promotion", nargs="?", const="", default=None, metavar="RESOURCE",
                   help="The promotion score of RESOURCE (default: $OCF_RESOURCE_INSTANCE): master-RESOURCE, "
                        "transient unless -l says otherwise.")
    p.add_argument("-P", "--pattern", help="Not supported by vigil: give --name.")
    p.add_argument("-s", "--set-name", help="The set of cluster options (crm_config) to use.")
    p.add_argument("-i", "--id", help="Accepted and ignored.")
    p.add_argument("-G", "--query", "--get-value", dest="query", action="store_true", help="Print the value.")
    p.add_argument("-v", "--update", "--attr-value", dest="update", metavar="VALUE", help="Set the value.")
    p.add_argument("-D", "--delete", "--delete-attr", dest="delete", action="store_true", help="Remove it.")
    p.add_argument("-d", "--default", help="Print this when it is not set.")
    p.add_argument("-l", "--lifetime", dest="section", action=_Section, help="reboot or forever.")
    p.add_argument("-t", "--type", dest="section", action=_Section,
                   help="crm_config, nodes (forever) or status (reboot).")
    p.add_argument("-N", "--node", "-U", "--uname", dest="node", help="The node (default: the agent's own).")
    p.add_argument("-z", "--utilization", action="store_true", help="The node's utilization.")
    p.add_argument("-q", "--quiet", "-Q", dest="quiet", action="store_true", help="Print the value alone.")
    p.add_argument("--output-as", default="text", choices=["text"], help="text only.")
    return p


@dataclass(frozen=True)
class Target:
    """What a command is about: the section (status, nodes, crm_config), the node, the name."""

    section: str
    name: str | None
    node: str | None = None
    utilization: bool = False
    set_name: str | None = None


def resolve(options: argparse.Namespace, environ: Any = None) -> Target:
    """Where the attribute is, from the options (and ``OCF_RESOURCE_INSTANCE`` for ``-p``)."""
    env = os.environ if environ is None else environ
    name = options.name
    if options.pattern is not None:
        raise ToolError("--pattern is not supported by vigil's crm_attribute: give --name", EXIT_USAGE)
    if options.promotion is not None:
        rsc = options.promotion or env.get("OCF_RESOURCE_INSTANCE", "")
        if not rsc:
            raise ToolError("--promotion needs a resource, or OCF_RESOURCE_INSTANCE set", EXIT_USAGE)
        name = PROMOTION_PREFIX + rsc
    raw = options.section
    if raw is None:
        if options.promotion is not None:
            raw = "status"
        elif options.node is not None or options.utilization:
            raw = "nodes"
        else:
            raw = "crm_config"
    if raw.lower() in NOT_SUPPORTED_SECTIONS:
        raise ToolError(f"--type {raw} is not supported by vigil's crm_attribute (crm_config, nodes and "
                        "status are)", EXIT_USAGE)
    section = SECTIONS.get(raw.lower())
    if section is None:
        raise ToolError(f"unknown --type {raw!r}: use crm_config, nodes or status", EXIT_USAGE)
    if options.utilization and section != "nodes":
        raise ToolError("--utilization is a node's: use it with --node (and not -l reboot)", EXIT_USAGE)
    node = local_target(options.node, env) if section in ("nodes", "status") else None
    return Target(section, name, node, options.utilization, options.set_name)


def main(argv: list[str], prog: str = NAME) -> int:
    options = parser(prog).parse(argv)
    target = resolve(options)
    command = first_set(("delete", options.delete), ("update", options.update)) or "query"
    if command != "query" and not target.name:
        raise ToolError("--name must be given to change an attribute", EXIT_USAGE)
    daemon = Daemon.find()
    if target.section != "crm_config" and target.node is None:
        target = Target(target.section, target.name, daemon.node, target.utilization, target.set_name)
    if command == "query":
        return _query(daemon, target, options)
    _change(daemon, target, None if command == "delete" else options.update, options.quiet)
    return EXIT_OK


def _route(target: Target, name: str) -> tuple[str, dict[str, Any]]:
    """The API route of one attribute, and its query parameters."""
    if target.section == "crm_config":
        return path("options", name), {"set": target.set_name}
    assert target.node is not None
    if target.utilization:
        return path("nodes", target.node, "utilization", name), {}
    lifetime = "reboot" if target.section == "status" else "forever"
    return path("nodes", target.node, "attributes", name), {"lifetime": lifetime}


def _change(daemon: Daemon, target: Target, value: str | None, quiet: bool) -> None:
    assert target.name is not None
    route, params = _route(target, target.name)
    try:
        if value is None:
            result = daemon.change("DELETE", route, **params)
            if result.get("changed") and not quiet:
                emit(f"Deleted {target.section} attribute: name={target.name}")
            return
        body: dict[str, Any] = {"value": value}
        if target.section == "crm_config":
            body["set"] = target.set_name
        elif not target.utilization:
            body["lifetime"] = params["lifetime"]
        daemon.change("PUT", route, body)
    except ApiError as error:
        raise _not_mapped(error, target) from None


def _not_mapped(error: ApiError, target: Target) -> ToolError:
    """A 404 for the node is Pacemaker's "Could not map name=N to a UUID" (exit 105)."""
    if error.status == 404 and target.node is not None and error.message.startswith("no node"):
        return ToolError(f"Could not map name={target.node} to a UUID", EXIT_NOSUCH)
    return ToolError(f"Error performing operation: {error.message}", error.exit_code)


def _query(daemon: Daemon, target: Target, options: argparse.Namespace) -> int:
    try:
        found = _read(daemon, target)
    except ApiError as error:
        raise _not_mapped(error, target) from None
    if not found:
        if options.default is None:
            raise ToolError(NO_SUCH, EXIT_NOSUCH)
        found = [(target.name or "", options.default)]
    for name, value in found:
        emit(value if options.quiet else output_line(target.section, name, value))
    return EXIT_OK


def _read(daemon: Daemon, target: Target) -> list[tuple[str, str]]:
    """(name, value) of the attribute asked for, or every one of the section on the node (no name)."""
    name = target.name
    if target.section == "crm_config":
        if not name:
            raise ToolError("--name must be given to query a cluster option", EXIT_USAGE)
        value = daemon.get(path("options", name), set=target.set_name)["value"]
        return [(name, value)] if value is not None else []
    node = target.node or ""
    lifetime = "reboot" if target.section == "status" else "forever"
    if target.utilization:
        values = daemon.get(path("nodes", node, "utilization"))["utilization"]
    elif name:
        # What the configuration or status holds (attrd's held values are attrd_updater's to see).
        value = daemon.get(path("nodes", node, "attributes", name), lifetime=lifetime)["stored"]
        return [(name, value)] if value is not None else []
    else:
        values = daemon.get(path("nodes", node, "attributes"), lifetime=lifetime)["attributes"]
    if name:
        return [(name, values[name])] if name in values else []
    return sorted(values.items())


def output_line(section: str, name: str, value: str) -> str:
    """A query's answer as Pacemaker prints it: ``scope=status  name=pingd value=100`` (two spaces)."""
    return f"scope={section}  name={name} value={value}"


def master_arguments(argv: Sequence[str], environ: Any = None) -> list[str]:
    """``crm_master ARGS`` as the crm_attribute arguments Pacemaker's wrapper passes on.

    ``crm_attribute -n master-$OCF_RESOURCE_INSTANCE --lifetime forever ARGS``,
    ``-r RSC`` naming the resource instead; the wrapper's deprecated
    spellings map to crm_attribute's own.
    """
    env = os.environ if environ is None else environ
    rsc = env.get("OCF_RESOURCE_INSTANCE", "")
    passed: list[str] = []
    args = list(argv)
    index = 0
    while index < len(args):
        arg = args[index]
        if arg in ("-r", "--resource") and index + 1 < len(args):
            rsc = args[index + 1]
            index += 2
            continue
        if arg.startswith("--resource="):
            rsc = arg.split("=", 1)[1]
        else:
            passed.append(arg)
        index += 1
    if not rsc:
        raise ToolError("No resource specified (-r RESOURCE, or OCF_RESOURCE_INSTANCE)", EXIT_USAGE)
    return ["-n", PROMOTION_PREFIX + rsc, "--lifetime", "forever", *passed]


def master_main(argv: list[str]) -> int:
    return main(master_arguments(argv), prog="crm_master")
