"""``vigil agent``: list, describe, run and test resource agents, as the executor runs them.

For agent authors: ``run`` executes one action exactly as the cluster would
(same environment, timeout, exit-code mapping) and shows what happened;
``test`` runs the OCF test sequence and the recovery drill and says which
step failed and why.  Exit status: ``run`` exits with the agent's OCF rc,
``test`` 0 only when every check passed, 1 otherwise; bad usage is 2; an
interrupted command ends its agent's processes and exits 128+signal.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from vigil.executor import ActionRequest, ActionResult, AgentSpec, Executor
from vigil.executor.agenttest import AgentTest
from vigil.executor.cluster_tools import temporary_tools_dir
from vigil.executor.environment import with_cluster_tools
from vigil.executor.lsb import DEFAULT_INIT_DIR
from vigil.executor.node_name import local_node_name
from vigil.model.isodate import parse_interval_ms
from vigil.output.agent import (
    metadata_json,
    metadata_text,
    report_json,
    report_text,
    result_json,
    result_text,
    wrapped,
)

T = TypeVar("T")


def _pairs(_ctx: click.Context, param: click.Parameter, values: Sequence[str]) -> dict[str, str]:
    pairs = {}
    for text in values:
        key, sep, value = text.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{text!r} is not NAME=VALUE", param=param)
        pairs[key] = value
    return pairs


def _duration_ms(_ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    """Seconds (``2``, ``0.5``) or a Pacemaker duration (``20s``, ``1m``, ``500ms``)."""
    if value is None:
        return None
    try:
        ms = round(float(value) * 1000)
    except ValueError:
        try:
            ms = parse_interval_ms(value)
        except ValueError as err:
            raise click.BadParameter(str(err), param=param) from None
    if ms < 0 or (param.name == "timeout" and ms == 0):
        raise click.BadParameter(f"{value!r} is not a positive duration", param=param)
    return ms


def _spec(text: str) -> AgentSpec:
    try:
        return AgentSpec.parse(text)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="AGENT") from None


def _executor(ctx: click.Context, check_params: bool = True) -> Executor:
    options = ctx.find_object(dict) or {}
    # The agent meets vigil's attrd_updater, crm_attribute ... as under `vigil run` (docs/agents-tools.md).
    environ = with_cluster_tools(os.environ, temporary_tools_dir())
    return Executor(ocf_root_dir=options.get("ocf_root"), lsb_dir=options.get("lsb_dir", DEFAULT_INIT_DIR),
                    check_params=check_params, environ=environ)


def _run_async(executor: Executor, work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work``; on SIGTERM, SIGHUP or SIGINT end the agents' processes and exit 128+signal."""
    received: list[int] = []

    async def main() -> T:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None

        def stop(signum: int) -> None:
            received.append(signum)
            task.cancel()

        watched = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
        for signum in watched:
            loop.add_signal_handler(signum, stop, signum)
        try:
            return await work()
        finally:
            for signum in watched:
                loop.remove_signal_handler(signum)
            await executor.close()

    try:
        return asyncio.run(main())
    except (asyncio.CancelledError, KeyboardInterrupt):
        signum = received[0] if received else signal.SIGINT
        name = signal.Signals(signum).name
        click.echo(f"vigil: stopped by {name}; the agent's processes were ended", err=True)
        sys.exit(128 + signum)


def _node_defaults(node: str | None, node_uuid: str | None) -> tuple[str, str]:
    name = node or local_node_name()
    return name, node_uuid or name


@click.group()
@click.option("--ocf-root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="OCF root (default: $OCF_ROOT, else /usr/lib/ocf); agents: resource.d/PROVIDER/TYPE.")
@click.option("--lsb-dir", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_INIT_DIR,
              show_default=True, help="Where LSB init scripts are.")
@click.pass_context
def agent(ctx: click.Context, ocf_root: Path | None, lsb_dir: Path) -> None:
    """List, describe, run and test resource agents (OCF and LSB)."""
    ctx.obj = {"ocf_root": ocf_root, "lsb_dir": lsb_dir}


@agent.command("list")
@click.option("--class", "standard", type=click.Choice(["ocf", "lsb"]), default=None, help="Only this class.")
@click.option("--provider", default=None, help="Only this OCF provider.")
@click.option("--format", "fmt", type=click.Choice(["text", "names", "json"]), default="text",
              show_default=True,
              help="text: grouped; names: one agent per line (ocf:PROVIDER:TYPE); json: for programs.")
@click.pass_context
def list_agents(ctx: click.Context, standard: str | None, provider: str | None, fmt: str) -> None:
    """The agent classes, providers and agents found on this machine."""
    installed = _executor(ctx).installed_agents()
    ocf = [(p, agents) for p, agents in installed.ocf if provider is None or p == provider]
    show_ocf, show_lsb = standard in (None, "ocf"), standard in (None, "lsb") and provider is None
    if fmt == "json":
        document: dict[str, Any] = {}
        if show_ocf:
            document["ocf"] = {"root": str(installed.ocf_root), "providers": {p: list(a) for p, a in ocf},
                               "bundled": {p: str(d) for p, d in installed.bundled if provider in (None, p)}}
        if show_lsb:
            document["lsb"] = {"directory": str(installed.lsb_dir), "agents": list(installed.lsb)}
        click.echo(json.dumps(document, indent=2))
        return
    if fmt == "names":
        for p, agents in ocf if show_ocf else []:
            for name in agents:
                click.echo(f"ocf:{p}:{name}")
        for name in installed.lsb if show_lsb else ():
            click.echo(f"lsb:{name}")
        return
    if show_ocf:
        click.echo(f"ocf  {installed.ocf_root / 'resource.d'}")
        if not ocf:
            click.echo("  (no provider found)")
        for p, agents in ocf:
            click.echo(wrapped(f"  {p} ({len(agents)}): ", " ".join(agents)))
        for p, directory in installed.bundled:
            if provider in (None, p):
                click.echo(f"  ({p}: bundled with vigil in {directory}; an agent of the same name "
                           "under the OCF root wins)")
    if show_lsb:
        click.echo(f"lsb  {installed.lsb_dir}")
        click.echo(wrapped(f"  ({len(installed.lsb)}): ", " ".join(installed.lsb) or "no init script found"))
    if standard is None and provider is None:
        click.echo("systemd  units, run through systemd's D-Bus API (list them with systemctl)")


@agent.command()
@click.argument("agent_name", metavar="AGENT")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def info(ctx: click.Context, agent_name: str, fmt: str) -> None:
    """Show AGENT's meta-data: parameters and actions (ocf:PROVIDER:TYPE, lsb:NAME or a path)."""
    spec = _spec(agent_name)
    executor = _executor(ctx)
    metadata = _run_async(executor, lambda: executor.metadata(spec))  # MetadataError: printed by the CLI
    if fmt == "json":
        click.echo(json.dumps(metadata_json(spec, metadata), indent=2))
    else:
        click.echo(metadata_text(spec, metadata), nl=False)


_common_options = [
    click.option("-p", "--param", "params", multiple=True, callback=_pairs, metavar="NAME=VALUE",
                 help="An instance parameter (OCF_RESKEY_NAME); repeatable."),
    click.option("-m", "--meta", "meta", multiple=True, callback=_pairs, metavar="NAME=VALUE",
                 help="A meta attribute (OCF_RESKEY_CRM_meta_NAME), e.g. stop_reason=failure; repeatable."),
    click.option("--timeout", default=None, callback=_duration_ms, metavar="S",
                 help="Timeout in seconds (or 20s, 1m); default: the agent's meta-data, else 20 s."),
    click.option("--resource", "resource_id", default=None, help="Resource id (default: the agent's type)."),
    click.option("--node", default=None, help="Node name (default: `uname -n`, as `vigil run`'s)."),
    click.option("--node-uuid", default=None, help="Node id (default: the node name)."),
    click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True),
]


def _with_common(command: Callable[..., None]) -> Callable[..., None]:
    for option in reversed(_common_options):
        command = option(command)
    return command


@agent.command()
@click.argument("agent_name", metavar="AGENT")
@click.argument("action")
@_with_common
@click.option("--interval", default="0", callback=_duration_ms, metavar="S",
              help="The operation's interval (monitor); 0 is a probe.")
@click.option("--no-check", is_flag=True,
              help="Do not check parameters against the meta-data before a start.")
@click.option("--show-env", is_flag=True, help="Print the environment vigil set for the agent.")
@click.pass_context
def run(ctx: click.Context, agent_name: str, action: str, params: dict[str, str], meta: dict[str, str],
        timeout: int | None, resource_id: str | None, node: str | None, node_uuid: str | None, fmt: str,
        interval: int, no_check: bool, show_env: bool) -> None:
    """Run one ACTION of AGENT, as the cluster would, and show what happened."""
    spec = _spec(agent_name)
    executor = _executor(ctx, check_params=not no_check)
    name, uuid = _node_defaults(node, node_uuid)

    async def work() -> ActionResult:
        timeout_ms = timeout
        if timeout_ms is None:
            fetch = await executor.fetch_metadata(spec) if action != "meta-data" else None
            md = fetch.metadata if fetch is not None else None
            timeout_ms = md.timeout_ms(action, interval or None) if md is not None else 20_000
        try:
            request = ActionRequest.create(resource_id or spec.type, spec, action, params, meta,
                                           interval_ms=interval, timeout_ms=timeout_ms, node_name=name,
                                           node_uuid=uuid)
        except ValueError as err:
            raise click.UsageError(str(err)) from None
        return await executor.run(request)

    result = _run_async(executor, work)
    if fmt == "json":
        click.echo(json.dumps(result_json(result), indent=2))
    else:
        click.echo(result_text(result, show_env), nl=False)
    sys.exit(int(result.rc))


@agent.command()
@click.argument("agent_name", metavar="AGENT")
@_with_common
@click.option("--no-drill", is_flag=True, help="Only the OCF sequence, not the recovery drill.")
@click.option("-v", "--verbose", is_flag=True, help="Show each step's output.")
@click.pass_context
def test(ctx: click.Context, agent_name: str, params: dict[str, str], meta: dict[str, str],
         timeout: int | None, resource_id: str | None, node: str | None, node_uuid: str | None, fmt: str,
         no_drill: bool, verbose: bool) -> None:
    """Test AGENT: the OCF sequence, then the recovery drill. Exit 0 only when every check passes.

    The sequence: meta-data valid, validate-all, probe while stopped, start,
    monitor, idempotent start, promote/demote when advertised, stop,
    idempotent stop, probe after stop.  The drill: three failures with
    migration-threshold=3 (stops with stop_reason=failure, recoveries_left
    2, 1, 0, stop_final false, false, true), a dependency stop, a final admin
    stop.  Each step shows the environment the agent got and its result.
    """
    spec = _spec(agent_name)
    executor = _executor(ctx)
    name, uuid = _node_defaults(node, node_uuid)
    bench = AgentTest(executor, spec, params, resource_id=resource_id, meta=meta, node_name=name,
                      node_uuid=uuid, timeout_ms=timeout, drill=not no_drill)
    report = _run_async(executor, bench.run)
    if fmt == "json":
        click.echo(json.dumps(report_json(report), indent=2))
    else:
        click.echo(report_text(report, params, verbose), nl=False)
    sys.exit(0 if report.passed else 1)
