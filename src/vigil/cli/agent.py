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
import textwrap
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from vigil.executor import ActionRequest, ActionResult, AgentMetadata, AgentSpec, Executor
from vigil.executor.agenttest import AgentTest, StepReport, TestReport
from vigil.executor.lsb import DEFAULT_INIT_DIR
from vigil.model.isodate import parse_interval_ms

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
    return Executor(ocf_root_dir=options.get("ocf_root"), lsb_dir=options.get("lsb_dir", DEFAULT_INIT_DIR),
                    check_params=check_params)


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
    name = node or os.uname().nodename
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
    catalog = _executor(ctx).catalog()
    ocf = [(p, agents) for p, agents in catalog.ocf if provider is None or p == provider]
    show_ocf, show_lsb = standard in (None, "ocf"), standard in (None, "lsb") and provider is None
    if fmt == "json":
        document: dict[str, Any] = {}
        if show_ocf:
            document["ocf"] = {"root": str(catalog.ocf_root), "providers": {p: list(a) for p, a in ocf},
                               "bundled": {p: str(d) for p, d in catalog.bundled if provider in (None, p)}}
        if show_lsb:
            document["lsb"] = {"directory": str(catalog.lsb_dir), "agents": list(catalog.lsb)}
        click.echo(json.dumps(document, indent=2))
        return
    if fmt == "names":
        for p, agents in ocf if show_ocf else []:
            for name in agents:
                click.echo(f"ocf:{p}:{name}")
        for name in catalog.lsb if show_lsb else ():
            click.echo(f"lsb:{name}")
        return
    if show_ocf:
        click.echo(f"ocf  {catalog.ocf_root / 'resource.d'}")
        if not ocf:
            click.echo("  (no provider found)")
        for p, agents in ocf:
            click.echo(_wrapped(f"  {p} ({len(agents)}): ", " ".join(agents)))
        for p, directory in catalog.bundled:
            if provider in (None, p):
                click.echo(f"  ({p}: bundled with vigil in {directory}; an agent of the same name "
                           "under the OCF root wins)")
    if show_lsb:
        click.echo(f"lsb  {catalog.lsb_dir}")
        click.echo(_wrapped(f"  ({len(catalog.lsb)}): ", " ".join(catalog.lsb) or "no init script found"))
    if standard is None and provider is None:
        click.echo("systemd  not supported yet")


def _wrapped(first: str, text: str) -> str:
    return textwrap.fill(text, width=100, initial_indent=first, subsequent_indent=" " * 6)


@agent.command()
@click.argument("agent_name", metavar="AGENT")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def info(ctx: click.Context, agent_name: str, fmt: str) -> None:
    """Show AGENT's meta-data: parameters and actions (ocf:PROVIDER:TYPE, lsb:NAME or a path)."""
    spec = _spec(agent_name)
    executor = _executor(ctx)
    fetch = _run_async(executor, lambda: executor.fetch_metadata(spec))
    if fetch.metadata is None:
        click.echo(f"vigil: error: {fetch.error}", err=True)
        sys.exit(1)
    if fmt == "json":
        click.echo(json.dumps(_metadata_json(spec, fetch.metadata), indent=2))
    else:
        click.echo(_metadata_text(spec, fetch.metadata), nl=False)


def _metadata_json(spec: AgentSpec, md: AgentMetadata) -> dict[str, Any]:
    return {
        "agent": str(spec), "name": md.name, "ocf_version": md.ocf_version, "agent_version": md.agent_version,
        "shortdesc": md.shortdesc, "longdesc": md.longdesc,
        "parameters": [{
            "name": p.name, "type": p.type, "default": p.default, "required": p.required,
            "unique_group": p.unique_group, "reloadable": p.reloadable, "private": p.private,
            "deprecated": p.deprecated, "replaced_with": list(p.replaced_with), "options": list(p.options),
            "shortdesc": p.shortdesc, "longdesc": p.longdesc,
        } for p in md.parameters],
        "actions": [{
            "name": a.name, "timeout_ms": a.timeout_ms, "interval_ms": a.interval_ms, "depth": a.depth,
            "role": a.role, "start_delay_ms": a.start_delay_ms,
        } for a in md.actions],
        "problems": list(md.problems),
    }


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    rows = [list(headers)] + [list(r) for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(headers) - 1)]
    lines = ["  " + "  ".join([c.ljust(w) for c, w in zip(r, widths, strict=False)] + [r[-1]]).rstrip()
             for r in rows]
    return "\n".join(lines) + "\n"


def _ms(value: int | None) -> str:
    if value is None:
        return "-"
    return f"{value // 1000}s" if value % 1000 == 0 else f"{value}ms"


def _metadata_text(spec: AgentSpec, md: AgentMetadata) -> str:
    version = f"agent version {md.agent_version or '?'}, OCF {md.ocf_version}"
    if spec.standard == "lsb":
        version = "LSB init script; meta-data built from its header"
    out = [f"{spec}: {md.shortdesc or '(no description)'}  ({version})\n\n"]
    if md.longdesc and md.longdesc != md.shortdesc:
        out.append(textwrap.fill(md.longdesc, width=100) + "\n\n")
    if md.parameters:
        out.append("Parameters:\n")
        out.append(_table(
            ("NAME", "TYPE", "DEFAULT", "REQUIRED", "UNIQUE", "RELOADABLE", "DESCRIPTION"),
            ((p.name, p.type + (f" ({'|'.join(p.options)})" if p.options else ""),
              "-" if p.default is None else p.default or '""', "yes" if p.required else "no",
              p.unique_group or "-", "yes" if p.reloadable else "no",
              (p.shortdesc or "-") + (" [deprecated]" if p.deprecated else ""))
             for p in md.parameters)))
    else:
        out.append("Parameters: none\n")
    out.append("\nActions:\n")
    out.append(_table(("NAME", "TIMEOUT", "INTERVAL", "DEPTH", "ROLE"),
                      ((a.name, _ms(a.timeout_ms), _ms(a.interval_ms),
                        "-" if a.depth is None else str(a.depth), a.role or "-") for a in md.actions)))
    if md.problems:
        out.append("\nProblems with this meta-data:\n" + "".join(f"  - {p}\n" for p in md.problems))
    return "".join(out)


def _result_json(result: ActionResult) -> dict[str, Any]:
    return {
        "agent": str(result.request.agent), "resource": result.request.resource_id,
        "action": result.request.action, "interval_ms": result.request.interval_ms,
        "timeout_ms": result.request.timeout_ms, "rc": int(result.rc), "rc_name": f"OCF_{result.rc.name}",
        "status": result.status.name.lower(), "exit_code": result.exit_code, "signal": result.signal,
        "exit_reason": result.exit_reason, "duration_ms": result.duration_ms, "queued_ms": result.queued_ms,
        "recovery_if_unexpected": result.recovery.value, "environment": dict(result.environment),
        "stdout": result.stdout, "stderr": result.stderr, "output_truncated": result.output_truncated,
        "warnings": list(result.warnings),
    }


def _indented(text: str, prefix: str = "    ") -> str:
    return "".join(prefix + line + "\n" for line in text.rstrip("\n").splitlines())


def _result_text(result: ActionResult, show_env: bool) -> str:
    req = result.request
    lines = [
        f"agent:       {req.agent}",
        f"action:      {req.action} (interval {req.interval_ms} ms, timeout {req.timeout_ms} ms)",
        f"rc:          {result.rc.label}: {result.rc.meaning}"
        + (f" (exit code {result.exit_code})" if result.exit_code not in (None, int(result.rc)) else ""),
        f"status:      {result.status.label}" + (f" (signal {result.signal})" if result.signal else ""),
        f"exit reason: {result.exit_reason or '-'}",
        f"duration:    {result.duration_ms} ms",
        f"recovery if unexpected: {result.recovery.value} ({result.recovery.meaning})",
    ]
    text = "\n".join(lines) + "\n"
    text += "".join(f"warning: {w}\n" for w in result.warnings)
    if show_env:
        text += "environment set by vigil:\n" + "".join(f"    {k}={v}\n" for k, v in result.environment)
    for name, output in (("stdout", result.stdout), ("stderr", result.stderr)):
        if output.strip():
            text += f"{name}:\n" + _indented(output)
    if result.output_truncated:
        text += "(output was longer than the cap; the middle was dropped)\n"
    return text


_common_options = [
    click.option("-p", "--param", "params", multiple=True, callback=_pairs, metavar="NAME=VALUE",
                 help="An instance parameter (OCF_RESKEY_NAME); repeatable."),
    click.option("-m", "--meta", "meta", multiple=True, callback=_pairs, metavar="NAME=VALUE",
                 help="A meta attribute (OCF_RESKEY_CRM_meta_NAME), e.g. stop_reason=failure; repeatable."),
    click.option("--timeout", default=None, callback=_duration_ms, metavar="S",
                 help="Timeout in seconds (or 20s, 1m); default: the agent's meta-data, else 20 s."),
    click.option("--resource", "resource_id", default=None, help="Resource id (default: the agent's type)."),
    click.option("--node", default=None, help="Node name (default: this host's name)."),
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
        click.echo(json.dumps(_result_json(result), indent=2))
    else:
        click.echo(_result_text(result, show_env), nl=False)
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
        click.echo(json.dumps(_report_json(report), indent=2))
    else:
        click.echo(_report_text(report, params, verbose), nl=False)
    sys.exit(0 if report.passed else 1)


def _report_json(report: TestReport) -> dict[str, Any]:
    return {
        "agent": report.agent, "resource": report.resource_id, "node": report.node, "passed": report.passed,
        "steps": [{
            "number": s.number, "phase": s.step.phase, "title": s.step.title, "action": s.step.action,
            "interval_ms": s.step.interval_ms, "expect": [int(rc) for rc in s.step.expect],
            "passed": s.passed, "skipped": s.skipped, "message": s.message, "notes": list(s.notes),
            "result": _result_json(s.result) if s.result is not None else None,
        } for s in report.steps],
    }


def _common_environment(steps: Sequence[StepReport]) -> dict[str, str]:
    envs = [dict(s.result.environment) for s in steps
            if s.result is not None and s.result.environment and s.step.action != "meta-data"]
    if not envs:
        return {}
    return {k: v for k, v in envs[0].items() if all(e.get(k) == v for e in envs[1:])}


_PHASE_TITLES = {
    "sequence": "\nOCF sequence:\n",
    "drill": "\nRecovery drill (migration-threshold=3):\n",
    "cleanup": "\nCleanup:\n",
}


def _report_text(report: TestReport, params: dict[str, str], verbose: bool) -> str:
    given = " ".join(f"{k}={v}" for k, v in params.items()) or "none"
    out = [f"Testing {report.agent} as resource '{report.resource_id}' on node '{report.node}' "
           f"(parameters: {given})\n"]
    common = _common_environment(report.steps)
    if common:
        out.append("\nEnvironment common to every step:\n")
        out.extend(f"    {k}={v}\n" for k, v in common.items())
    phase = ""
    for s in report.steps:
        if s.step.phase != phase:
            phase = s.step.phase
            out.append(_PHASE_TITLES[phase])
        verdict = "SKIP" if s.skipped else "PASS" if s.passed else "FAIL"
        line = f"{s.number:3d} {verdict}  {s.step.title}"
        if s.result is not None:
            line += f"  -> rc {s.result.rc.label}, {s.result.status.label}, {s.result.duration_ms} ms"
        out.append(line + "\n")
        if s.message:
            out.append(f"        {s.message}\n")
        out.extend(f"        note: {n}\n" for n in s.notes)
        if s.result is not None:
            if s.result.exit_reason and s.passed:
                out.append(f"        exit reason: {s.result.exit_reason}\n")
            own = [(k, v) for k, v in s.result.environment if common.get(k) != v]
            out.extend(f"        {k}={v}\n" for k, v in own)
            gone = sorted(set(common) - {k for k, _ in s.result.environment})
            if gone and s.result.environment:
                out.append(f"        (not set: {', '.join(gone)})\n")
            if verbose or not s.passed:
                for name, text in (("stdout", s.result.stdout), ("stderr", s.result.stderr)):
                    if text.strip():
                        out.append(f"        {name}:\n" + _indented(text, "          "))
    failure = report.first_failure
    checks = report.checks
    passed = sum(1 for s in checks if s.passed and not s.skipped)
    if report.passed:
        out.append(f"\nPASSED: {passed} of {len(checks)} checks passed.\n")
    elif failure is not None:
        out.append(f"\nFAILED at step {failure.number} '{failure.step.title}': {failure.message}\n")
    return "".join(out)
