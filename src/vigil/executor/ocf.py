"""The OCF class: agents under ``$OCF_ROOT/resource.d/PROVIDER/TYPE``, run as Pacemaker runs them.

The agent is called with the action as its only argument and the
environment of :mod:`vigil.executor.environment`; its exit code is kept when
it is an OCF code (0-9, 190, 191) and becomes 1 otherwise; its last
``ocf-exit-reason:`` line on stderr is the exit reason.

vigil also ships agents of its own (provider ``vigil``: ``Service``,
``NovaCompute``, ``Flaky``) inside the package, under ``vigil/agents/``, so
that its quick start runs on a machine without the resource-agents package.
``ocf:vigil:TYPE`` is looked up under the OCF root first (an installed copy
wins, as an operator would expect), then among the bundled agents.  The
agents still get the real ``OCF_ROOT``: other providers' agents rely on it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from vigil.executor.environment import (
    EXIT_REASON_PREFIX,
    agent_variables,
    metadata_variables,
)
from vigil.executor.outcome import not_run, to_result
from vigil.executor.process import Spawner
from vigil.executor.request import ActionRequest, AgentSpec
from vigil.executor.results import ActionResult
from vigil.model.names import agent_name_problem, is_plain_name
from vigil.model.results import ExecStatus, OcfRc

# Pacemaker's timeout for a meta-data call.
METADATA_TIMEOUT_MS = 30_000
METADATA_OUTPUT_CAP = 4 * 1024 * 1024

# vigil's own agents, shipped as package data: agents/PROVIDER/TYPE.
BUNDLED_AGENTS_DIR = Path(__file__).resolve().parent.parent / "agents"
# Bundled agents are POSIX sh; this runs one whose executable bit was lost.
BUNDLED_SHELL = "/bin/sh"


def _is_agent_file(path: Path) -> bool:
    return not path.name.startswith(".") and path.is_file() and os.access(path, os.X_OK)


def bundled_providers(directory: Path = BUNDLED_AGENTS_DIR) -> dict[str, Path]:
    """The providers shipped with vigil, each with its directory: ``{"vigil": .../agents/vigil}``."""
    try:
        return {
            p.name: p for p in sorted(directory.iterdir()) if p.is_dir() and not p.name.startswith((".", "_"))
        }
    except OSError:
        return {}


class OcfClass:
    """OCF agents found under one OCF root, and those shipped with vigil.

    ``bundled`` maps a provider to a directory of agents used when the OCF
    root has no agent of that name (default: :func:`bundled_providers`;
    ``{}`` for the root alone).  A bundled agent that is not executable (a
    packaging tool that dropped the mode bit) is run by ``/bin/sh``, which
    every bundled agent is written for, rather than reported as broken:
    files inside an installed package are not ours to chmod.
    """

    standard = "ocf"

    def __init__(self, root: Path, bundled: Mapping[str, Path] | None = None) -> None:
        self.root = root
        self.bundled = dict(bundled_providers() if bundled is None else bundled)

    @property
    def resource_dir(self) -> Path:
        return self.root / "resource.d"

    def path(self, spec: AgentSpec) -> Path:
        """Where the agent's file is (or would be): under the OCF root, else bundled with vigil."""
        if spec.path is not None:
            return Path(spec.path).absolute()  # agents run in /, not in vigil's directory
        installed = self.resource_dir / (spec.provider or "") / spec.type
        bundled = self.bundled_path(spec)
        if bundled is not None and not installed.exists():
            return bundled
        return installed

    def outside(self, spec: AgentSpec) -> str | None:
        """Why a named agent would be looked for outside ``resource.d/PROVIDER/``, or None.

        The configuration is checked when it is loaded; this holds for one
        stored before that check, or reaching the executor any other way.
        """
        if spec.path is not None:
            return None  # a file the operator named on the command line
        parts = (("provider", spec.provider or ""), ("type", spec.type))
        return next(filter(None, (agent_name_problem(str(spec), part, value) for part, value in parts)), None)

    def bundled_path(self, spec: AgentSpec) -> Path | None:
        """The bundled agent's file, when vigil ships one of that name."""
        directory = self.bundled.get(spec.provider or "")
        if directory is None or spec.path is not None or not is_plain_name(spec.type):
            return None
        path = directory / spec.type
        return path if path.is_file() else None

    def is_bundled(self, path: Path) -> bool:
        """Is ``path`` one of the bundled agents (rather than a file under the OCF root)?"""
        return any(path.parent == directory for directory in self.bundled.values())

    def command(self, path: Path, action: str) -> list[str]:
        """The argv for an action: the agent itself, or /bin/sh for a bundled one without its mode bit."""
        if self.is_bundled(path) and not os.access(path, os.X_OK):
            return [BUNDLED_SHELL, str(path), action]
        return [str(path), action]

    def providers(self) -> list[str]:
        """Provider directories under the OCF root, plus the bundled providers."""
        try:
            installed = {
                p.name for p in self.resource_dir.iterdir() if p.is_dir() and not p.name.startswith(".")
            }
        except OSError:
            installed = set()
        return sorted(installed | {name for name in self.bundled if self.bundled_agents(name)})

    def agents(self, provider: str) -> list[str]:
        """Executable files under the provider's directory, as Pacemaker lists them, plus bundled ones."""
        try:
            installed = {p.name for p in (self.resource_dir / provider).iterdir() if _is_agent_file(p)}
        except OSError:
            installed = set()
        return sorted(installed | set(self.bundled_agents(provider)))

    def bundled_agents(self, provider: str) -> list[str]:
        """The agents vigil ships for ``provider`` (regular files; their mode bit is not required)."""
        directory = self.bundled.get(provider)
        if directory is None:
            return []
        try:
            return sorted(p.name for p in directory.iterdir() if not p.name.startswith(".") and p.is_file())
        except OSError:
            return []

    def missing(self, request: ActionRequest) -> ActionResult | None:
        """The not-installed result when the agent's file is not there, else None."""
        path = self.path(request.agent)
        if request.agent.path is None and not request.agent.provider:
            return not_run(
                request,
                OcfRc.ERR_INSTALLED,
                ExecStatus.NOT_INSTALLED,
                f"{request.agent}: an OCF agent needs a provider (ocf:PROVIDER:TYPE)",
            )
        outside = self.outside(request.agent)
        if outside is not None:
            return not_run(request, OcfRc.ERR_INSTALLED, ExecStatus.NOT_INSTALLED, outside)
        if not path.exists():
            hint = (
                ""
                if request.agent.path is not None
                else " (is its package installed? see `vigil agent list`)"
            )
            shipped = self.bundled_agents(request.agent.provider or "")
            if shipped and request.agent.path is None:
                hint = f", nor is it one of the agents bundled with vigil ({', '.join(shipped)})"
            return not_run(
                request,
                OcfRc.ERR_INSTALLED,
                ExecStatus.NOT_INSTALLED,
                f"agent {request.agent} not found: no file {path}{hint}",
            )
        if path.is_dir():
            return not_run(
                request,
                OcfRc.ERR_INSTALLED,
                ExecStatus.NOT_INSTALLED,
                f"agent {request.agent}: {path} is a directory",
            )
        return None

    async def run(
        self,
        spawner: Spawner,
        request: ActionRequest,
        inherited: dict[str, str],
        warnings: tuple[str, ...] = (),
    ) -> ActionResult:
        """Run one action of an OCF agent."""
        missing = self.missing(request)
        if missing is not None:
            return missing
        path = self.path(request.agent)
        if request.action == "meta-data":
            variables = metadata_variables(request, self.root)
            cap = METADATA_OUTPUT_CAP
        else:
            variables = agent_variables(request, self.root)
            cap = None
        proc = await spawner.run(
            self.command(path, request.action),
            {**inherited, **variables},
            request.timeout_ms / 1000,
            output_cap=cap,
            marker=EXIT_REASON_PREFIX.encode(),
        )
        return to_result(request, proc, str(path), OcfRc.from_exit_code, variables, warnings=warnings)

    def metadata_request(self, spec: AgentSpec, timeout_ms: int = METADATA_TIMEOUT_MS) -> ActionRequest:
        return ActionRequest(spec.type, spec, "meta-data", timeout_ms=timeout_ms)
