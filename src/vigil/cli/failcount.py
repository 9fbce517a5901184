"""``vigil failcount``: fail-counts per resource and node, with the recoveries left."""

from __future__ import annotations

from typing import Any

import click

from vigil.cli.options import state_dir_option


def format_failcount(count: dict[str, Any]) -> str:
    """``web on n1: fail-count=1 (monitor_10000: 1), migration-threshold=3: 2 recoveries left``."""
    from vigil.model.scores import format_score

    operations = ", ".join(f"{op['operation']}: {format_score(op['count'])}" for op in count["operations"])
    left = count["recoveries_left"]
    text = (f"{count['resource']} on {count['node']}: fail-count={format_score(count['count'])}"
            + (f" ({operations})" if operations else "")
            + f", migration-threshold={format_score(count['migration_threshold'])}: "
            f"{left} recover{'y' if left == '1' else 'ies'} left")
    if count.get("expired"):
        text += " (failure-timeout has passed: no longer counted)"
    return text


@click.group()
def failcount() -> None:
    """Show or clear fail-counts (crm_failcount, pcs resource failcount)."""


@failcount.command()
@click.argument("rsc", required=False)
@click.option("--node", default=None, help="Only on this node.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@state_dir_option
def show(rsc: str | None, node: str | None, fmt: str, state_dir: str | None) -> None:
    """Each resource's fail-count per node (the sum over its operations), its migration-threshold,
    and how many recoveries (restarts in place) are left."""
    from vigil.cli.client import connect, echo_json

    with connect(state_dir) as client:
        counts = client.get_json("/api/v1/failcounts", resource=rsc, node=node)
    if fmt == "json":
        echo_json(counts)
        return
    if not counts:
        click.echo(f"No fail-counts{' for ' + rsc if rsc else ''}{' on ' + node if node else ''}.")
    for count in counts:
        click.echo(format_failcount(count))


@failcount.command()
@click.argument("rsc")
@click.option("--node", default=None, help="Only on this node (default: every node).")
@state_dir_option
def clear(rsc: str, node: str | None, state_dir: str | None) -> None:
    """Clear RSC's fail-counts (the history is kept; `vigil resource cleanup` also forgets it)."""
    from urllib.parse import quote

    from vigil.cli.client import connect, echo_result

    with connect(state_dir) as client:
        result = client.request("DELETE", f"/api/v1/failcounts/{quote(rsc, safe='')}", change=True,
                                params={"node": node}).json()
    echo_result(result)
