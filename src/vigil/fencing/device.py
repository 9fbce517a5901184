"""The ``stonith`` agent class: a fence device's start, stop and monitor, as Pacemaker runs them.

Pacemaker's scheduler treats a fence device like any resource (probe,
start, recurring monitor, stop), and its executor turns those into fencer
calls (``daemons/execd/execd_commands.c``): a *start* registers the device
and runs the agent's ``monitor`` once; a *stop* unregisters it without
running the agent; a *probe* says whether the device is registered; a
*recurring monitor* runs the agent's ``monitor``.  vigil does the same:
"registered" is this executor's memory, so after a restart the probes find
every device stopped and the scheduler starts them again, as after a
restart of Pacemaker's fencer.

Fencing itself never needs the device started (see :mod:`vigil.fencing.fencer`).
"""

from __future__ import annotations

from vigil.executor.executor import MetadataFetch
from vigil.executor.metadata import MetadataError, parse_metadata
from vigil.executor.outcome import not_run
from vigil.executor.request import ActionRequest, AgentSpec
from vigil.executor.results import ActionResult
from vigil.fencing.agent import FenceAgents, FenceDevice, FenceRun
from vigil.model.results import ExecStatus, OcfRc

_ACTION_RESULT_OUTPUT_CAP = 4096


class StonithClass:
    """Runs fence devices' resource actions through their fence agents."""

    standard = "stonith"

    def __init__(self, agents: FenceAgents) -> None:
        self.agents = agents
        self.registered: set[str] = set()

    async def fetch_metadata(self, spec: AgentSpec) -> MetadataFetch:
        if not self.agents.is_installed(spec.type):
            return MetadataFetch(None, None, f"fence agent {spec.type} not found in {self.agents.directory} "
                                             "(is fence-agents installed?)")
        raw = await self.agents.raw_metadata(spec.type)
        if raw is None:
            return MetadataFetch(None, None, f"meta-data of fence agent {spec.type} failed")
        try:
            return MetadataFetch(None, parse_metadata(raw, f"meta-data of {spec}"))
        except MetadataError as error:
            return MetadataFetch(None, None, str(error))

    async def run(self, request: ActionRequest) -> ActionResult:
        device = FenceDevice(request.resource_id, request.agent.type, request.params)
        if not self.agents.is_installed(device.agent):
            return not_run(request, OcfRc.ERR_INSTALLED, ExecStatus.NOT_INSTALLED,
                           f"fence agent {device.agent} not found in {self.agents.directory}")
        action, interval = request.action, request.interval_ms
        if action == "stop":
            self.registered.discard(device.id)
            return ActionResult(request, OcfRc.SUCCESS, ExecStatus.DONE)
        if action == "monitor" and interval == 0:
            rc = OcfRc.SUCCESS if device.id in self.registered else OcfRc.NOT_RUNNING
            return ActionResult(request, rc, ExecStatus.DONE)
        if action == "monitor" and device.id not in self.registered:
            return ActionResult(request, OcfRc.NOT_RUNNING, ExecStatus.DONE, "the device is not registered")
        if action not in ("start", "monitor"):
            return not_run(request, OcfRc.ERR_UNIMPLEMENTED, ExecStatus.NOT_SUPPORTED,
                           f"a fence device has no {action} action")
        run = await self.agents.run(device, "monitor", None, request.timeout_ms / 1000)
        if run.succeeded:
            if action == "start":
                self.registered.add(device.id)
            return _result(request, run, OcfRc.SUCCESS, ExecStatus.DONE, "")
        status = ExecStatus.TIMEOUT if run.timed_out else ExecStatus.ERROR
        if run.error:
            status = ExecStatus.NOT_INSTALLED if "not found" in run.error else ExecStatus.ERROR
        return _result(request, run, OcfRc.ERR_GENERIC, status,
                       f"fence agent {device.agent} monitor: {run.describe()}")


def _result(request: ActionRequest, run: FenceRun, rc: OcfRc, status: ExecStatus,
            reason: str) -> ActionResult:
    proc = run.process
    return ActionResult(
        request, rc, status, reason,
        exit_code=proc.exit_code,
        signal=proc.signal,
        stdout=proc.stdout.decode("utf-8", "replace")[-_ACTION_RESULT_OUTPUT_CAP:],
        stderr=proc.stderr.decode("utf-8", "replace")[-_ACTION_RESULT_OUTPUT_CAP:],
        duration_ms=round(proc.duration_s * 1000),
        queued_ms=round(proc.queued_s * 1000),
        pid=proc.pid,
    )
