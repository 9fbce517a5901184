"""The reports of ``vigil agent info``, ``run`` and ``test``: an agent's meta-data, one result,
a test run; as text for people and as JSON for programs."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only the types: the executor runs processes, this only formats what they gave
    from vigil.executor.agenttest import StepReport, TestReport
    from vigil.executor.metadata import AgentMetadata
    from vigil.executor.request import AgentSpec
    from vigil.executor.results import ActionResult


def wrapped(first: str, text: str) -> str:
    """``text`` filled to 100 columns, ``first`` before its first line (``vigil agent list``)."""
    return textwrap.fill(text, width=100, initial_indent=first, subsequent_indent=" " * 6)

def metadata_json(spec: AgentSpec, md: AgentMetadata) -> dict[str, Any]:
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


def metadata_text(spec: AgentSpec, md: AgentMetadata) -> str:
    """``vigil agent info``: the description, a table of parameters and one of actions."""
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


def result_json(result: ActionResult) -> dict[str, Any]:
    return {
        "agent": str(result.request.agent), "resource": result.request.resource_id,
        "action": result.request.action, "interval_ms": result.request.interval_ms,
        "timeout_ms": result.request.timeout_ms, "rc": int(result.rc), "rc_name": result.rc.ocf_name,
        "status": result.status.name.lower(), "exit_code": result.exit_code, "signal": result.signal,
        "exit_reason": result.exit_reason, "duration_ms": result.duration_ms, "queued_ms": result.queued_ms,
        "recovery_if_unexpected": result.recovery.value, "environment": dict(result.environment),
        "stdout": result.stdout, "stderr": result.stderr, "output_truncated": result.output_truncated,
        "warnings": list(result.warnings),
    }


def _indented(text: str, prefix: str = "    ") -> str:
    return "".join(prefix + line + "\n" for line in text.rstrip("\n").splitlines())


def result_text(result: ActionResult, show_env: bool) -> str:
    """``vigil agent run``: the result with both numbers named, and what the agent printed."""
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

def report_json(report: TestReport) -> dict[str, Any]:
    return {
        "agent": report.agent, "resource": report.resource_id, "node": report.node, "passed": report.passed,
        "steps": [{
            "number": s.number, "phase": s.step.phase, "title": s.step.title, "action": s.step.action,
            "interval_ms": s.step.interval_ms, "expect": [int(rc) for rc in s.step.expect],
            "passed": s.passed, "skipped": s.skipped, "message": s.message, "notes": list(s.notes),
            "result": result_json(s.result) if s.result is not None else None,
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


def report_text(report: TestReport, params: dict[str, str], verbose: bool) -> str:
    """``vigil agent test``: each step's verdict, with only the environment that differs from the
    other steps' shown under it, so that what the stop context changes stands out."""
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
