"""``vigil config show`` and ``vigil config load``: through the daemon, or the store when none runs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from vigil.cli.options import state_dir_option, store_option
from vigil.errors import InputError, Problem

if TYPE_CHECKING:
    from vigil.admin.commands import CommandResult

T = TypeVar("T")


def _daemon_runs(directory: Path) -> bool:
    """Does a vigil serve this state directory (api.json names a live process)?"""
    from vigil.cli.client import is_alive
    from vigil.daemon.statedir import StateDirError, read_api_address

    try:
        address = read_api_address(directory)
    except StateDirError:
        return False
    return is_alive(address.pid)


@click.group()
def config() -> None:
    """Show the configuration, or load a new one (Pacemaker CIB XML).

    Both work without a running vigil: they then open the store in the state
    directory directly, so that an operator can prepare a configuration
    before the first `vigil run`.
    """


@config.command()
@click.option("--format", "fmt", type=click.Choice(["xml", "yaml"]), default="xml", show_default=True,
              help="xml: a Pacemaker CIB; yaml: vigil's YAML (docs/configuration.md).")
@state_dir_option
@store_option
def show(fmt: str, state_dir: str | None, store: str | None) -> None:
    """Print the stored configuration (like `pcs cluster cib` / `cibadmin -Q`).

    Works without a running vigil too: it then opens the store in the state
    directory directly.
    """
    from vigil.daemon.statedir import resolve_state_dir

    directory = resolve_state_dir(state_dir)
    if _daemon_runs(directory):
        from vigil.cli.client import connect

        with connect(state_dir) as client:
            # The owner sees secret parameters; anyone else the masked configuration.
            token = client.token_if_ours()
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            text = client.request("GET", "/api/v1/config", params={"format": fmt}, headers=headers).text
    else:
        text = _offline(_show_offline(directory, fmt, store))
    click.echo(text, nl=not text.endswith("\n"))


@config.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--if-revision", type=click.IntRange(min=0), default=None, metavar="N",
              help="Load only if the stored configuration is still at revision N (compare-and-set); "
                   "`vigil status` shows the revision.")
@click.option("--node", default=None,
              help="Without a running vigil only: the node it will run (checked to be configured, and "
                   "named when the file names no node).  A running vigil uses its own.")
@state_dir_option
@store_option
def load(file: Path, if_revision: int | None, node: str | None, state_dir: str | None,
         store: str | None) -> None:
    """Replace the configuration with FILE (like `cibadmin --replace` / `pcs cluster cib-push`).

    FILE is checked in full first (syntax, references, agent classes and
    names, nodes); on any problem every one is listed and nothing changes.
    An agent not installed on this node and a parameter value not of its
    declared type are warnings: the configuration is loaded.

    Works without a running vigil too: it then opens the store in the state
    directory directly, so a configuration can be prepared before the first
    `vigil run`.
    """
    from vigil.daemon.statedir import resolve_state_dir

    try:
        data = file.read_bytes()
    except OSError as error:
        raise InputError([Problem("", f"cannot read {file}: {error.strerror or error}")]) from None
    directory = resolve_state_dir(state_dir)
    if _daemon_runs(directory):
        from vigil.cli.client import connect, echo_result
        from vigil.formats.config_file import detect_format

        headers = {"Content-Type": "application/xml" if detect_format(data) == "xml" else "application/yaml"}
        if if_revision is not None:
            headers["If-Match"] = f'"{if_revision}"'
        with connect(state_dir) as client:
            result = client.request("PUT", "/api/v1/config", change=True, content=data,
                                    params={"name": str(file)}, headers=headers).json()
        echo_result(result)
        return
    outcome = _offline(_load_offline(directory, data, str(file), node, if_revision, store))
    click.echo(outcome.message + " (no vigil is running: stored for its next start)")
    for warning in outcome.notes:
        click.echo(f"  warning: {warning}")


def _offline(work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` on the store directly.

    What fails is a :class:`~vigil.errors.VigilError` for the command line to
    print; a configuration's problems are listed under one line that says so.
    """
    from vigil.admin.errors import BadConfiguration

    try:
        return asyncio.run(work)
    except InputError as error:
        raise BadConfiguration("the configuration has problems; nothing was changed",
                               [str(problem) for problem in error.problems]) from None


async def _show_offline(directory: Path, fmt: str, url: str | None = None) -> str:
    from vigil.admin.configuration import show_config
    from vigil.daemon.statedir import resolve_store_url
    from vigil.store import open_store

    store = open_store(resolve_store_url(directory, url), read_only=True)
    try:
        text, _ = await show_config(store, fmt)
    finally:
        await store.close()
    return text


async def _load_offline(directory: Path, data: bytes, name: str, node: str | None,
                        if_revision: int | None, url: str | None = None) -> CommandResult:
    from vigil.admin.commands import Admin
    from vigil.admin.configuration import load_config, parse_or_refuse
    from vigil.admin.intake import Findings, check_agents, check_nodes, check_policies, parse_config
    from vigil.daemon.statedir import prepare_state_dir, resolve_store_url
    from vigil.executor.executor import Executor
    from vigil.model.config import Config
    from vigil.store import open_store

    parse_or_refuse(data, name, parse_config)  # a file with problems creates no store
    prepare_state_dir(directory)
    store = open_store(resolve_store_url(directory, url), create=True)
    executor = Executor()

    async def check(config: Config) -> Findings:
        agents = await check_agents(config, executor)
        return Findings(check_nodes(config, node, multi_node=store.capabilities.multi_node)
                        + check_policies(config) + agents.problems, agents.warnings)

    try:
        admin = Admin(store=store, poke=lambda reason: None, clock=time.time, node=node or "")
        return await load_config(admin, data, name, parse_config, check, expected_revision=if_revision)
    finally:
        await executor.close()
        await store.close()
