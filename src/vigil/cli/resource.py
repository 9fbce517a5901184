"""``vigil resource``: start, stop, restart, move, ban, clear, cleanup, maintenance (pcs, crm_resource)."""

from __future__ import annotations

from typing import Any

import click

from vigil.cli.options import state_dir_option


def _run(state_dir: str | None, rsc: str, action: str, body: dict[str, Any] | None = None,
         timeout: float | None = None) -> None:
    from urllib.parse import quote

    from vigil.cli.client import connect, echo_result

    with connect(state_dir) as client:
        echo_result(client.change("POST", f"/api/v1/resources/{quote(rsc, safe='')}/{action}", body, timeout))


@click.group()
def resource() -> None:
    """Change what a resource does: start, stop, restart, move, ban, clear, cleanup, maintenance.

    Each command changes the configuration or the status in the store of the
    running vigil, which then acts on it; they need the token in the state
    directory.  RSC may be a primitive, a group or a clone.
    """


@resource.command()
@click.argument("rsc")
@state_dir_option
def start(rsc: str, state_dir: str | None) -> None:
    """Set target-role=Started on RSC (crm_resource --meta -p target-role -v Started)."""
    _run(state_dir, rsc, "start")


@resource.command()
@click.argument("rsc")
@state_dir_option
def stop(rsc: str, state_dir: str | None) -> None:
    """Set target-role=Stopped on RSC: the cluster stops it everywhere."""
    _run(state_dir, rsc, "stop")


@resource.command()
@click.argument("rsc")
@state_dir_option
def enable(rsc: str, state_dir: str | None) -> None:
    """Remove RSC's target-role so it may run (pcs resource enable)."""
    _run(state_dir, rsc, "enable")


@resource.command()
@click.argument("rsc")
@state_dir_option
def disable(rsc: str, state_dir: str | None) -> None:
    """Set target-role=Stopped on RSC (pcs resource disable)."""
    _run(state_dir, rsc, "disable")


@resource.command()
@click.argument("rsc")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True, max=600), default=60.0,
              show_default=True, help="Seconds to wait for the stop and for the start again.")
@state_dir_option
def restart(rsc: str, timeout: float, state_dir: str | None) -> None:
    """Stop RSC everywhere, then start it again (crm_resource --restart).

    Sets target-role=Stopped, waits until no instance is active, restores the
    target-role it had, and waits until it is active again.  The target-role
    is restored even when the stop times out.
    """
    _run(state_dir, rsc, "restart", {"timeout": timeout}, timeout=timeout + 15)


promoted_option = click.option(
    "--promoted", is_flag=True,
    help="Only the promoted role of a promotable clone (crm_resource --promoted): its instances "
         "keep running where they are.")


@resource.command()
@click.argument("rsc")
@click.argument("node", required=False)
@promoted_option
@state_dir_option
def move(rsc: str, node: str | None, promoted: bool, state_dir: str | None) -> None:
    """Move RSC to NODE (cli-prefer-RSC, INFINITY); without NODE, away from where it runs
    (cli-ban-RSC-on-NODE, -INFINITY), like crm_resource --move.  `vigil resource clear RSC` undoes it."""
    _run(state_dir, rsc, "move", {"node": node, "promoted": promoted})


@resource.command()
@click.argument("rsc")
@click.argument("node", required=False)
@promoted_option
@state_dir_option
def ban(rsc: str, node: str | None, promoted: bool, state_dir: str | None) -> None:
    """Keep RSC off NODE (default: where it runs): cli-ban-RSC-on-NODE -INFINITY (crm_resource --ban)."""
    _run(state_dir, rsc, "ban", {"node": node, "promoted": promoted})


@resource.command()
@click.argument("rsc")
@click.option("--node", default=None, help="Only the constraints on this node.")
@state_dir_option
def clear(rsc: str, node: str | None, state_dir: str | None) -> None:
    """Remove the move and ban constraints of RSC (crm_resource --clear)."""
    _run(state_dir, rsc, "clear", {"node": node})


@resource.command()
@click.argument("rsc", required=False)
@click.option("--node", default=None, help="Only on this node (default: every node).")
@state_dir_option
def cleanup(rsc: str | None, node: str | None, state_dir: str | None) -> None:
    """Clear RSC's fail-counts and forget its history so it is probed again (crm_resource --cleanup).

    Without RSC, every resource that failed.
    """
    if rsc is None:
        from vigil.cli.client import connect, echo_result

        with connect(state_dir) as client:
            echo_result(client.change("POST", "/api/v1/cleanup", {"node": node}))
        return
    _run(state_dir, rsc, "cleanup", {"node": node})


@resource.command()
@click.argument("rsc")
@click.argument("state", type=click.Choice(["on", "off"]))
@state_dir_option
def maintenance(rsc: str, state: str, state_dir: str | None) -> None:
    """Put RSC in maintenance (maintenance=true: not started, stopped nor monitored) or take it out."""
    _run(state_dir, rsc, "maintenance", {"enabled": state == "on"})
