"""``vigil node``: standby, online, maintenance (permanent node attributes, as ``pcs node``), any
node attribute by hand (``pcs node attribute``, ``crm_attribute``), and fencing on request
(``pcs stonith fence``, ``pcs stonith confirm``)."""

from __future__ import annotations

import sys
from typing import Any

import click

from vigil.cli.options import state_dir_option
from vigil.errors import InputError, Problem, VigilError

# How long `vigil node fence` waits for the daemon's answer: every device that can fence the node may
# run for up to its timeout (stonith-timeout, 60 s by default), one after the other.
FENCE_WAIT_S = 900.0


def _run(state_dir: str | None, node: str | None, action: str, enabled: bool | None) -> None:
    _post(state_dir, node, action, None if enabled is None else {"enabled": enabled})


def _post(state_dir: str | None, node: str | None, action: str, body: dict[str, Any] | None,
          timeout: float | None = None) -> None:
    from urllib.parse import quote

    from vigil.cli.client import connect, echo_result

    with connect(state_dir) as client:
        name = node or client.node
        echo_result(client.change("POST", f"/api/v1/nodes/{quote(name, safe='')}/{action}", body,
                                  timeout=timeout))


@click.group()
def node() -> None:
    """Put a node in standby or maintenance, or bring it back online (NODE: default this vigil's node);
    read or set its attributes; fence a node, or confirm that it is down."""


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


@node.command()
@click.argument("node_name", metavar="NODE")
@click.option("--action", type=click.Choice(["reboot", "off"]), default=None,
              help="How to fence it (default: the cluster option stonith-action, itself reboot by default).")
@state_dir_option
def fence(node_name: str, action: str | None, state_dir: str | None) -> None:
    """Fence NODE now with its fence devices, and wait for the result (pcs stonith fence,
    stonith_admin --reboot|--off).

    On success NODE's resources are recovered and it counts as down until it
    rejoins; a failure is recorded in the fence history and exits 1.
    """
    _post(state_dir, node_name, "fence", {"action": action} if action else None, timeout=FENCE_WAIT_S)


LIFETIMES = ("reboot", "forever")


@node.command()
@click.argument("node_name", metavar="NODE")
@click.argument("name", required=False)
@click.argument("value", required=False)
@click.option("--delete", is_flag=True, help="Remove the attribute (from both lifetimes unless --lifetime "
              "says which).")
@click.option("--lifetime", type=click.Choice(LIFETIMES), default=None,
              help="reboot: transient, cleared when the node leaves (what agents such as ping publish); "
                   "forever: permanent, in the configuration.  Setting: forever by default (as pcs node "
                   "attribute); reading: the value rules see (the transient one over the permanent one).")
@state_dir_option
def attribute(node_name: str, name: str | None, value: str | None, delete: bool, lifetime: str | None,
              state_dir: str | None) -> None:
    """Read, set or remove a node attribute by hand (crm_attribute -N NODE -n NAME [-v VALUE | -D]).

    With NAME alone, print its value (exit 1 when it is not set); with VALUE,
    set it; with --delete, remove it.  Without NAME, list NODE's attributes.
    Location rules on attributes (``pingd lte 0``) and node health
    (``#health-cpu``) act on the change at once.
    """
    from vigil.cli.client import connect, echo_result

    if delete and value is not None:
        raise InputError([Problem("--delete", f"remove {name} or set it to {value!r}, not both: leave out "
                                  "the value or --delete")])
    if name is None and delete:
        raise InputError([Problem("--delete", "say which attribute to remove: vigil node attribute NODE NAME "
                                  "--delete")])
    with connect(state_dir) as client:
        path = f"/api/v1/nodes/{_quote(node_name)}/attributes"
        if name is None:
            _list_attributes(client.get_json(path, lifetime=lifetime))
        elif delete:
            results = [client.request("DELETE", f"{path}/{_quote(name)}", change=True,
                                      params={"lifetime": each}).json()
                       for each in ((lifetime,) if lifetime else LIFETIMES)]
            # what was removed; when nothing was there, the last answer says so
            for result in [r for r in results if r.get("changed")] or results[-1:]:
                echo_result(result)
        elif value is not None:
            echo_result(client.change("PUT", f"{path}/{_quote(name)}",
                                      {"value": value, "lifetime": lifetime or "forever"}))
        elif lifetime is None:
            _print_value(node_name, name, None, client.get_json(path)["attributes"].get(name))
        else:
            found = client.get_json(f"{path}/{_quote(name)}", lifetime=lifetime)
            _print_value(node_name, name, lifetime, found.get("value"))


def _quote(text: str) -> str:
    """A path segment: every character that is not plain encoded (``#health-cpu``)."""
    from urllib.parse import quote

    return quote(text, safe="")


def _list_attributes(found: dict[str, Any]) -> None:
    for key, value in sorted(found["attributes"].items()):
        click.echo(f"{key}={value}")


def _print_value(node_name: str, name: str, lifetime: str | None, value: str | None) -> None:
    """The value alone (for scripts); not set: a message and exit 1."""
    if value is None:
        where = f" ({'transient' if lifetime == 'reboot' else 'permanent'})" if lifetime else ""
        raise VigilError(f"{name} is not set on {node_name}{where}")
    click.echo(value)


CONFIRM_RISK = """\
Confirming that {node} is fenced tells the cluster that {node} is powered off and runs nothing.
The cluster then starts {node}'s resources on other nodes at once. If {node} is in fact still
running, those resources run in two places at the same time, which can corrupt the data they share.
Confirm only a node you have switched off (or cut off from its network and storage) yourself."""


@node.command("confirm-fenced")
@click.argument("node_name", metavar="NODE")
@click.option("--yes", is_flag=True, help="Do not ask: you have checked that NODE is powered off.")
@click.option("--force", is_flag=True,
              help="Confirm even though NODE is a live member of the cluster (its vigil still runs).")
@state_dir_option
def confirm_fenced(node_name: str, yes: bool, force: bool, state_dir: str | None) -> None:
    """Record NODE as fenced on your word: it is down, powered off by hand (pcs stonith confirm,
    stonith_admin --confirm). Its resources are then recovered elsewhere."""
    if not yes:
        _ask(node_name)
    _post(state_dir, node_name, "confirm-fenced", {"force": True} if force else None)


def _ask(node_name: str) -> None:
    """Explain the risk and ask; refuse when no one can answer (stdin not a terminal)."""
    if not _is_interactive():
        raise InputError([Problem("confirm-fenced", f"it asks you to confirm that {node_name} is "
                                  "powered off, and stdin is not a terminal: once you have checked, "
                                  "repeat with --yes")])
    click.echo(CONFIRM_RISK.format(node=node_name), err=True)
    if not click.confirm(f"Is {node_name} powered off?", default=False, err=True):
        raise VigilError(f"not confirmed: nothing was recorded for {node_name}")


def _is_interactive() -> bool:
    """Whether someone can answer a question: stdin is a terminal."""
    return sys.stdin.isatty()
