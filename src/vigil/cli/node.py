"""``vigil node``: standby, online, maintenance (permanent node attributes, as ``pcs node``)."""

from __future__ import annotations

import click

from vigil.cli.options import state_dir_option


def _run(state_dir: str | None, node: str | None, action: str, enabled: bool | None) -> None:
    from urllib.parse import quote

    from vigil.cli.client import connect, echo_result

    with connect(state_dir) as client:
        name = node or client.node
        body = None if enabled is None else {"enabled": enabled}
        echo_result(client.change("POST", f"/api/v1/nodes/{quote(name, safe='')}/{action}", body))


@click.group()
def node() -> None:
    """Put a node in standby or maintenance, or bring it back online (NODE: default this vigil's node)."""


@node.command()
@click.argument("node_name", metavar="[NODE]", required=False)
@click.option("--off", is_flag=True, help="Take the node out of standby (the same as `vigil node online`).")
@state_dir_option
def standby(node_name: str | None, off: bool, state_dir: str | None) -> None:
    """Set standby=on on NODE: its resources move away or stop (pcs node standby)."""
    _run(state_dir, node_name, "standby", not off)


@node.command()
@click.argument("node_name", metavar="[NODE]", required=False)
@state_dir_option
def online(node_name: str | None, state_dir: str | None) -> None:
    """Remove NODE's standby attribute (pcs node unstandby)."""
    _run(state_dir, node_name, "online", None)


@node.command()
@click.argument("node_name", metavar="[NODE]", required=False)
@click.option("--off", is_flag=True, help="Take the node out of maintenance.")
@state_dir_option
def maintenance(node_name: str | None, off: bool, state_dir: str | None) -> None:
    """Set maintenance=on on NODE: its resources are left alone, unmonitored (pcs node maintenance)."""
    _run(state_dir, node_name, "maintenance", not off)
