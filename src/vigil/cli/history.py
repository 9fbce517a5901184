"""``vigil history``: every result of a resource's operations, with each stop's and start's context."""

from __future__ import annotations

import click

from vigil.cli.options import state_dir_option


@click.command()
@click.argument("rsc")
@click.option("--node", default=None, help="Only on this node.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=200, show_default=True,
              help="The newest N results.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@state_dir_option
def history(rsc: str, node: str | None, limit: int, fmt: str, state_dir: str | None) -> None:
    """Show RSC's operation history, with what each stop and start was told.

    One line per result, oldest first: time, node, task (probe for a one-shot
    monitor), interval, exit code and its OCF name, status, exit reason, and
    the stop context of stops and starts (stop_reason, stop_final, stop_cause,
    recoveries_left, start_reason).
    """
    from urllib.parse import quote

    from vigil.cli.client import connect, echo_json
    from vigil.output.history import HistoryEntry, render_history

    with connect(state_dir) as client:
        entries = client.get_json(f"/api/v1/resources/{quote(rsc, safe='')}/history", node=node, limit=limit)
    if fmt == "json":
        echo_json(entries)
        return
    parsed = [HistoryEntry(**{**entry, "context": tuple((k, v) for k, v in entry["context"])})
              for entry in entries]
    click.echo(render_history(parsed), nl=False)
