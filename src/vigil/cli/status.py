"""``vigil status``: the cluster as ``crm_mon -1`` shows it."""

from __future__ import annotations

import click

from vigil.cli.options import state_dir_option

# The request the XML names (crm_mon writes its own command line there).
XML_REQUEST = "vigil status --output-as=xml"


@click.command()
@state_dir_option
@click.option("--format", "--output-as", "fmt", type=click.Choice(["text", "json", "xml"]), default="text",
              show_default=True,
              help="text for people (crm_mon's layout, node attributes as crm_mon -A shows them), json for "
                   "programs (the same data), xml: crm_mon --output-as=xml's document, for scripts and "
                   "agents that read Pacemaker's.")
def status(state_dir: str | None, fmt: str) -> None:
    """Show the nodes, their attributes, the resources, failures, fail-counts and the last transition
    (like crm_mon -1 -A)."""
    from vigil.cli.client import connect, echo_json

    with connect(state_dir) as client:
        if fmt == "json":
            echo_json(client.get_json("/api/v1/status"))
            return
        params = {"format": fmt, "request": XML_REQUEST if fmt == "xml" else None}
        click.echo(client.request("GET", "/api/v1/status", params=params).text, nl=False)
