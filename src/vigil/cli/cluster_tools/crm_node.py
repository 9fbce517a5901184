"""``crm_node``: this node's name and id, the members, quorum.

``-n`` prints exactly the name the cluster uses for this node (the executor's
``OCF_RESKEY_CRM_meta_on_node`` when set, as Pacemaker's does, else the
daemon's ``--node``); ``-i`` its id; ``-p`` the members, space-separated;
``-q`` ``1`` with quorum, ``0`` without; ``-l`` every node known,
``ID NAME STATE`` per line (``member`` or ``lost``); ``-N ID`` the name of a
node id.  The last command given wins.

Pacemaker's node ids are numbers (corosync's), and agents use them as such
(sg_persist turns ``-i`` into a reservation key): a node id of vigil's
configuration that is not a number is shown as the node's position in it,
from 1, in ``-i``, ``-l`` and ``-N`` alike.
"""

from __future__ import annotations

import argparse
from typing import Any

from vigil.cli.cluster_tools.common import EXIT_NOSUCH, EXIT_OK, Parser, ToolError, emit, local_target
from vigil.cli.cluster_tools.connection import Daemon

NAME = "crm_node"


def parser() -> Parser:
    p = Parser(NAME, "This node's name and id, the members and quorum (vigil's crm_node).")
    commands = p.add_argument_group("commands (the last one given wins)")
    for flag, long, what in (("-n", "--name", "this node's name"), ("-i", "--cluster-id", "this node's id"),
                             ("-p", "--partition", "the members, space-separated"),
                             ("-q", "--quorum", "1 with quorum, 0 without"),
                             ("-l", "--list", "every node known: ID NAME STATE")):
        commands.add_argument(flag, long, dest="command", action="append_const", const=long[2:], help=what)
    commands.add_argument("-N", "--name-for-id", metavar="ID", help="The name of the node with this id.")
    p.add_argument("-R", "--remove", metavar="NAME", help="Not offered to agents.")
    p.add_argument("-f", "--force", action="store_true", help="Accepted.")
    p.add_argument("-Q", "--quiet", action="store_true", help="Accepted.")
    return p


def numeric_ids(nodes: list[dict[str, Any]]) -> dict[str, str]:
    """Each node's id as a number: its own when it is one, else its position (from 1)."""
    return {node["name"]: node["id"] if str(node["id"]).isdigit() else str(position)
            for position, node in enumerate(nodes, start=1)}


def main(argv: list[str]) -> int:
    options = parser().parse(argv)
    if options.remove is not None:
        raise ToolError("removing a node is not offered to agents: change the configuration "
                        "(vigil config load)", 64)
    command = "name-for-id" if options.name_for_id is not None else None
    if options.command:
        command = options.command[-1]
    if command is None:
        raise ToolError("give a command: -n, -i, -p, -q, -l or -N ID", 64)
    if command == "name":
        local = local_target(None)
        emit(local if local is not None else Daemon.find().node)
        return EXIT_OK
    return _answer(command, options, Daemon.find().get("/api/v1/membership"))


def _answer(command: str, options: argparse.Namespace, membership: dict[str, Any]) -> int:
    nodes = membership["nodes"]
    ids = numeric_ids(nodes)
    if command == "quorum":
        emit("1" if membership["have_quorum"] else "0")
    elif command == "partition":
        emit(" ".join(node["name"] for node in nodes if node["member"]))
    elif command == "list":
        for node in nodes:
            emit(f"{ids[node['name']]} {node['name']} {'member' if node['member'] else 'lost'}")
    elif command == "cluster-id":
        local = local_target(None) or membership["node"]
        if local not in ids:
            raise ToolError(f"node {local} is not known to the cluster", EXIT_NOSUCH)
        emit(ids[local])
    else:
        wanted = options.name_for_id
        names = [name for name, node_id in ids.items() if node_id == wanted]
        if not names:
            raise ToolError(f"Could not find node with id {wanted}", EXIT_NOSUCH)
        emit(names[0])
    return EXIT_OK
