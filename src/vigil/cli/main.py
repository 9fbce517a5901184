"""The ``vigil`` command line."""

from __future__ import annotations

import gc
import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import click

from vigil.cli.options import state_dir_option
from vigil.errors import InputError, Problem, VigilError
from vigil.simulator.failures import Failure
from vigil.simulator.from_file import render, simulate_file, simulate_steps


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when used (click's "lazily
    loading subcommands" pattern): ``vigil simulate`` is a one-shot process,
    and the daemon's, the API client's and the executor's imports would
    otherwise be most of its start-up.

    It is also where every command's :class:`~vigil.errors.VigilError` is
    caught, once, and printed without a traceback.
    """

    def __init__(self, *args: Any, lazy_subcommands: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # command name -> "module.attribute"
        self.lazy_subcommands = lazy_subcommands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy_subcommands])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_subcommands:
            module_name, attribute = self.lazy_subcommands[cmd_name].rsplit(".", 1)
            command = getattr(importlib.import_module(module_name), attribute)
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except VigilError as error:
            report(error)


def report(error: VigilError) -> NoReturn:
    """Print ``error`` for the user (its messages, details, notes) and exit with its code.

    Under systemd (stderr the journal's stream) each line is marked an error,
    so that a `vigil run` that cannot start shows in ``journalctl -p err``.
    """
    from vigil.daemon.logs import JOURNAL_ERROR, journal_lines, stderr_is_journal  # only on errors

    lines = [f"vigil: error: {message}" for message in error.messages]
    lines += [f"  {detail}" for detail in error.details]
    lines += [f"vigil: {note}" for note in getattr(error, "__notes__", ())]
    text = "\n".join(lines)
    click.echo(journal_lines(text, JOURNAL_ERROR) if stderr_is_journal() else text, err=True)
    sys.exit(error.exit_code)


LAZY_SUBCOMMANDS = {
    name: f"vigil.cli.{name}.{name}"
    for name in ("agent", "run", "status", "resource", "node", "ticket", "failcount", "history", "config",
                 "demo")
}


@click.group(cls=LazyGroup, lazy_subcommands=LAZY_SUBCOMMANDS)
@click.version_option(package_name="vigil")
def cli() -> None:
    """vigil: a cluster resource manager in the Pacemaker model."""


@cli.command()
@click.argument("cib", type=click.Path(dir_okay=False), required=False)
@click.option("--live", "-L", is_flag=True,
              help="Schedule the running vigil's current state instead of a file (crm_simulate -L).")
@state_dir_option
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
@click.option("--fail", "failures", multiple=True, metavar="RSC:NODE[:OP]",
              help="Inject a failure of RSC's operation OP (default: its monitor) on NODE before "
                   "scheduling; repeatable.")
@click.option("--steps", type=int, default=None, metavar="K",
              help="Repeat fail, schedule, apply K times and print each transition.")
def simulate(cib: str | None, live: bool, state_dir: str | None, fmt: str, date: str | None,
             failures: tuple[str, ...], steps: int | None) -> None:
    """Schedule the cluster in CIB (Pacemaker XML) and print the transition.

    With --fail and --steps, play a failure scenario: each step injects the
    failures, schedules, prints the transition with every stop's and start's
    context, and applies it as if every action succeeded.

    With --live instead of CIB: what the running vigil would do now with its
    current state, without doing it.
    """
    if live:
        from vigil.cli.live import simulate_live

        simulate_live(cib, state_dir, fmt, date, failures, steps)
        return
    if cib is None:
        raise InputError([Problem("", "give a CIB file to simulate, or --live for the running vigil")])
    if not failures and steps is None:
        with _collector_paused():
            _simulate(cib, fmt, date, failures, steps)
    else:
        _simulate(cib, fmt, date, failures, steps)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """For one transition: the CIB model and the scheduler's working state
    all live until the output is written, so the cyclic garbage collector
    would only walk them again and again (5-11 % of the run on large CIBs)
    and find nothing to free."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _simulate(cib: str, fmt: str, date: str | None, failures: tuple[str, ...], steps: int | None) -> None:
    parsed = [Failure.parse(text) for text in failures]
    if parsed or steps is not None:
        sims = simulate_steps(cib, parsed, steps if steps is not None else 1, date)
    else:
        sims = [simulate_file(cib, date)]
    for warning in sims[0].warnings:
        click.echo(f"vigil: warning: {warning}", err=True)
    if len(sims) == 1:
        click.echo(render(sims[0], fmt), nl=False)
        return
    if fmt == "json":
        steps_json = ",\n".join(render(sim, fmt).rstrip() for sim in sims)
        click.echo(f"[\n{steps_json}\n]")
        return
    for number, sim in enumerate(sims, start=1):
        click.echo(f"=== Step {number} of {len(sims)} ===")
        click.echo(render(sim, fmt), nl=False)
        if number < len(sims):
            click.echo("")


def main() -> None:
    cli()
