"""``vigil status``: the cluster as ``crm_mon -1`` shows it."""

from __future__ import annotations

import click

from vigil.cli.options import state_dir_option


@click.command()
@state_dir_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for people (crm_mon's layout), json for programs (the same data).")
def status(state_dir: str | None, fmt: str) -> None:
    """Show the nodes, the resources, failures, fail-counts and the last transition (like crm_mon -1)."""
    from vigil.cli.client import connect, echo_json

    with connect(state_dir) as client:
        if fmt == "json":
            echo_json(client.get_json("/api/v1/status"))
        else:
            click.echo(client.request("GET", "/api/v1/status", params={"format": "text"}).text, nl=False)
