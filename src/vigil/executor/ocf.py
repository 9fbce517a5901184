"""The OCF class: agents under ``$OCF_ROOT/resource.d/PROVIDER/TYPE``, run as Pacemaker runs them.

The agent is called with the action as its only argument and the
environment of :mod:`vigil.executor.environment`; its exit code is kept when
it is an OCF code (0-9, 190, 191) and becomes 1 otherwise; its last
``ocf-exit-reason:`` line on stderr is the exit reason.
"""

from __future__ import annotations

import os
from pathlib import Path

from vigil.executor.environment import (
    EXIT_REASON_PREFIX,
    agent_variables,
    metadata_variables,
)
from vigil.executor.outcome import not_run, to_result
from vigil.executor.process import Spawner
from vigil.executor.request import ActionRequest, AgentSpec
from vigil.executor.results import ActionResult, ExecStatus, OcfRc

# Pacemaker's timeout for a meta-data call.
METADATA_TIMEOUT_MS = 30_000
METADATA_OUTPUT_CAP = 4 * 1024 * 1024


def _is_agent_file(path: Path) -> bool:
    return not path.name.startswith(".") and path.is_file() and os.access(path, os.X_OK)


class OcfClass:
    """OCF agents found under one OCF root."""

    standard = "ocf"

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def resource_dir(self) -> Path:
        return self.root / "resource.d"

    def path(self, spec: AgentSpec) -> Path:
        """Where the agent's file is (or would be)."""
        if spec.path is not None:
            return Path(spec.path).absolute()  # agents run in /, not in vigil's directory
        return self.resource_dir / (spec.provider or "") / spec.type

    def providers(self) -> list[str]:
        try:
            return sorted(
                p.name for p in self.resource_dir.iterdir() if p.is_dir() and not p.name.startswith(".")
            )
        except OSError:
            return []

    def agents(self, provider: str) -> list[str]:
        """Executable files under the provider's directory, as Pacemaker lists them."""
        try:
            return sorted(p.name for p in (self.resource_dir / provider).iterdir() if _is_agent_file(p))
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
        if not path.exists():
            hint = (
                ""
                if request.agent.path is not None
                else " (is its package installed? see `vigil agent list`)"
            )
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
            [str(path), request.action],
            {**inherited, **variables},
            request.timeout_ms / 1000,
            output_cap=cap,
            marker=EXIT_REASON_PREFIX.encode(),
        )
        return to_result(request, proc, str(path), OcfRc.from_exit_code, variables, warnings=warnings)

    def metadata_request(self, spec: AgentSpec, timeout_ms: int = METADATA_TIMEOUT_MS) -> ActionRequest:
        return ActionRequest(spec.type, spec, "meta-data", timeout_ms=timeout_ms)
