"""``vigil ticket``: a multi-site cluster's tickets at this site, as ``crm_ticket`` and ``crm site ticket``
handle them (list, show, grant, revoke, standby, activate, cleanup), through the running daemon."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import click

from vigil.cli.options import state_dir_option


def _post(state_dir: str | None, ticket: str, action: str, body: dict[str, Any] | None = None) -> None:
    from vigil.cli.client import connect, echo_result

    with connect(state_dir) as client:
        echo_result(client.change("POST", f"/api/v1/tickets/{quote(ticket, safe='')}/{action}", body))


def _line(info: dict[str, Any]) -> str:
    """One ticket as ``crm_ticket -l`` prints it, and what needs it."""
    state = "granted" if info["granted"] else "revoked"
    if info["standby"]:
        state += " (standby)"
    parts = [f"{info['id']}\t{state}"]
    if info["last_granted"] is not None:
        granted_at = time.localtime(info["last_granted"])
        parts.append("last-granted=" + time.strftime("%Y-%m-%d %H:%M:%S", granted_at))
    if info["resources"]:
        parts.append("needed by " + ", ".join(info["resources"]))
    return "  ".join(parts)


@click.group(invoke_without_command=True)
@state_dir_option
@click.pass_context
def ticket(ctx: click.Context, state_dir: str | None) -> None:
    """Tickets of a multi-site cluster: resources with a ticket constraint run here only while the
    ticket is granted to this site and not in standby (crm_ticket).  Without a subcommand: list them."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_tickets, state_dir=state_dir)


@ticket.command("list")
@state_dir_option
def list_tickets(state_dir: str | None) -> None:
    """Every ticket with a state here or named by a ticket constraint (crm_ticket -l)."""
    from vigil.cli.client import connect

    with connect(state_dir) as client:
        found = client.get_json("/api/v1/tickets")
    if not found:
        click.echo("no tickets: no ticket constraint names one and none was granted here")
    for info in found:
        click.echo(_line(info))


@ticket.command()
@click.argument("name")
@state_dir_option
def show(name: str, state_dir: str | None) -> None:
    """One ticket: its state and what needs it (crm_ticket -t NAME --details)."""
    from vigil.cli.client import connect

    with connect(state_dir) as client:
        info = client.get_json(f"/api/v1/tickets/{quote(name, safe='')}")
    click.echo(_line(info))
    for constraint in info["constraints"]:
        click.echo(f"  constraint: {constraint}")


@ticket.command()
@click.argument("name")
@state_dir_option
def grant(name: str, state_dir: str | None) -> None:
    """Grant NAME to this site: what needs it may start (crm_ticket -t NAME --grant).

    Granting a ticket by hand is for a single site or a test: with an
    arbitrator (booth), let it decide, or two sites may both hold it.
    """
    _post(state_dir, name, "grant")


@ticket.command()
@click.argument("name")
@click.option("--force", is_flag=True, help="Revoke even when a constraint's loss-policy=fence fences nodes.")
@state_dir_option
def revoke(name: str, force: bool, state_dir: str | None) -> None:
    """Revoke NAME here: each ticket constraint's loss-policy applies where its resources are active
    (stop, demote, fence, freeze) (crm_ticket -t NAME --revoke)."""
    _post(state_dir, name, "revoke", {"force": True} if force else None)


@ticket.command()
@click.argument("name")
@state_dir_option
def standby(name: str, state_dir: str | None) -> None:
    """Put NAME in standby: what needs it stops or demotes gracefully, no loss-policy
    (crm_ticket -t NAME --standby)."""
    _post(state_dir, name, "standby")


@ticket.command()
@click.argument("name")
@state_dir_option
def activate(name: str, state_dir: str | None) -> None:
    """Take NAME out of standby (crm_ticket -t NAME --activate)."""
    _post(state_dir, name, "activate")


@ticket.command()
@click.argument("name")
@state_dir_option
def cleanup(name: str, state_dir: str | None) -> None:
    """Remove a revoked ticket's state here (crm_ticket -t NAME --cleanup)."""
    from vigil.cli.client import connect, echo_result

    with connect(state_dir) as client:
        echo_result(client.change("DELETE", f"/api/v1/tickets/{quote(name, safe='')}"))
