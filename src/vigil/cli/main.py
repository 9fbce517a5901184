"""The ``vigil`` command line."""

from __future__ import annotations

import sys

import click

from vigil.errors import InputError
from vigil.simulate import render, simulate_file


@click.group()
@click.version_option(package_name="vigil")
def cli() -> None:
    """vigil: a cluster resource manager in the Pacemaker model."""


@cli.command()
@click.argument("cib", type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "pacemaker", "json"]),
    default="text",
    show_default=True,
    help="text for people, pacemaker for crm_simulate's layout, json for programs.",
)
@click.option("-t", "--date", default=None, help="The simulated 'now' (ISO 8601); default: the CIB's "
              "execution-date, else the clock.")
def simulate(cib: str, fmt: str, date: str | None) -> None:
    """Schedule the cluster in CIB (Pacemaker XML) and print the transition."""
    try:
        sim = simulate_file(cib, date)
    except InputError as err:
        for problem in err.problems:
            click.echo(f"vigil: error: {problem}", err=True)
        sys.exit(err.exit_code)
    for warning in sim.warnings:
        click.echo(f"vigil: warning: {warning}", err=True)
    click.echo(render(sim, fmt), nl=False)


def main() -> None:
    cli()
