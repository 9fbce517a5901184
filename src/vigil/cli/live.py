"""``vigil simulate --live``: what the running vigil would do now (``crm_simulate -L``)."""

from __future__ import annotations

import click

from vigil.errors import InputError, Problem


def simulate_live(cib: str | None, state_dir: str | None, fmt: str, date: str | None,
                  failures: tuple[str, ...], steps: int | None) -> None:
    refused = [name for name, given in (("a CIB file", cib is not None), ("-t/--date", date is not None),
                                        ("--fail", bool(failures)), ("--steps", steps is not None)) if given]
    if refused:
        raise InputError([Problem("", f"--live schedules the running vigil's state now; it takes none of: "
                                      f"{', '.join(refused)}")])
    from vigil.cli.client import connect

    with connect(state_dir) as client:
        text = client.request("GET", "/api/v1/simulate", params={"format": fmt}).text
    click.echo(text, nl=not text.endswith("\n"))
