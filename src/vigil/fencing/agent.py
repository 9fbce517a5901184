"""Fence agents, run as Pacemaker's fencer runs them.

A fence agent (``fence_ipmilan``, ``fence_dummy`` ...) lives in
``/usr/sbin`` and takes its arguments on **stdin**, one ``name=value`` per
line (ClusterLabs/fence-agents ``doc/FenceAgentAPI.md``).  The arguments
are those of Pacemaker's ``make_args()`` (``lib/fencing/st_actions.c``):

- ``action``: the action, or the device's ``pcmk_<action>_action`` alias;
- for an action against a node: ``nodename=<target>``, and the host
  argument (``pcmk_host_argument``; by default ``port`` if the agent's
  meta-data has it, else ``plug``, else none; ``none`` disables it) set to
  the target, or its alias in ``pcmk_host_map``, unless the device sets that
  parameter itself to something other than ``dynamic``;
- every parameter of the device except Pacemaker's own (``pcmk_*``,
  ``provides``, ``stonith-timeout``, meta and ``crm_feature_set``).

Exit code 0 is success; for ``status``/``monitor``, 2 means "off".  Agents
run through the executor's spawner: a timeout ends the whole process group.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from vigil.executor.process import ProcessResult, Spawner, SpawnerClosed
from vigil.model.names import is_plain_name

log = logging.getLogger(__name__)

# Where fence agents are looked up: /usr/sbin, as Pacemaker's fencer does.  VIGIL_FENCE_AGENT_DIR
# (read here only, once, when vigil starts) names another directory: for tests that must run a
# fence agent of their own without installing it into /usr/sbin (the fault lab's fence_lab,
# docs/reliability.md).  Whoever sets vigil's environment can already run anything as vigil.
FENCE_AGENT_DIR_VARIABLE = "VIGIL_FENCE_AGENT_DIR"
FENCE_AGENT_DIR = Path(os.environ.get(FENCE_AGENT_DIR_VARIABLE) or "/usr/sbin")
METADATA_TIMEOUT_S = 30.0
# Parameters Pacemaker handles itself and never passes to the agent.
PACEMAKER_PARAMS = frozenset({"provides", "stonith-timeout", "crm_feature_set", "action"})
_OUTPUT_CAP = 1024 * 1024


def is_pacemaker_param(name: str) -> bool:
    return name.startswith("pcmk_") or name in PACEMAKER_PARAMS or name.startswith("CRM_meta")


@dataclass(frozen=True)
class FenceDevice:
    """A configured fence device: a ``stonith`` primitive with its resolved parameters."""

    id: str
    agent: str
    params: tuple[tuple[str, str], ...] = ()

    @property
    def params_dict(self) -> dict[str, str]:
        return dict(self.params)


@dataclass(frozen=True)
class FenceMetadata:
    """What the fencer needs from an agent's meta-data: its parameters and actions."""

    parameters: frozenset[str] = frozenset()
    actions: frozenset[str] = frozenset()

    def supports(self, action: str) -> bool:
        return action in self.actions


@dataclass(frozen=True)
class FenceRun:
    """One run of a fence agent."""

    device: str
    action: str
    arguments: tuple[tuple[str, str], ...]
    process: ProcessResult
    error: str = ""  # set when it could not run at all

    @property
    def exit_code(self) -> int | None:
        return self.process.exit_code

    @property
    def succeeded(self) -> bool:
        return not self.error and self.process.exit_code == 0

    @property
    def timed_out(self) -> bool:
        return self.process.timed_out

    def describe(self) -> str:
        if self.error:
            return self.error
        if self.process.timed_out:
            return "timed out"
        if self.process.signal is not None:
            return f"killed by signal {self.process.signal}"
        text = f"exit code {self.process.exit_code}"
        tail = self.process.stderr.decode("utf-8", "replace").strip().splitlines()
        return text + (f" ({tail[-1]})" if tail and self.process.exit_code != 0 else "")


def parse_fence_metadata(text: bytes) -> FenceMetadata:
    """Parameters and actions of a fence agent's meta-data XML (empty when unreadable)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(text, parser)
    except etree.XMLSyntaxError:
        return FenceMetadata()
    parameters = frozenset(str(p.get("name")) for p in root.iter("parameter") if p.get("name"))
    actions = frozenset(str(a.get("name")) for a in root.iter("action") if a.get("name"))
    return FenceMetadata(parameters, actions)


def host_argument(device: FenceDevice, metadata: FenceMetadata) -> str | None:
    """The argument that names the target: ``pcmk_host_argument``, else port, plug, or none."""
    configured = device.params_dict.get("pcmk_host_argument")
    if configured is not None:
        return None if configured.lower() == "none" else configured
    if "port" in metadata.parameters:
        return "port"
    if "plug" in metadata.parameters:
        return "plug"
    return None


def host_map(device: FenceDevice) -> dict[str, str]:
    """``pcmk_host_map`` ("node1:1;node2:2,3", also "=" and spaces) as node -> port."""
    text = device.params_dict.get("pcmk_host_map", "")
    mapping: dict[str, str] = {}
    for entry in text.replace(";", " ").split():
        for separator in (":", "="):
            if separator in entry:
                node, _, port = entry.partition(separator)
                if node:
                    mapping[node] = port
                break
    return mapping


def host_list(device: FenceDevice) -> list[str]:
    """``pcmk_host_list``: nodes separated by spaces, commas or semicolons."""
    text = device.params_dict.get("pcmk_host_list", "")
    return text.replace(",", " ").replace(";", " ").split()


def fence_arguments(device: FenceDevice, action: str, target: str | None,
                    metadata: FenceMetadata) -> dict[str, str]:
    """The ``name=value`` arguments for one action, as Pacemaker's ``make_args()``."""
    params = device.params_dict
    args = {"action": params.get(f"pcmk_{action}_action", action)}
    if target is not None:
        args["nodename"] = target
        argument = host_argument(device, metadata)
        if argument is not None and params.get(argument, "dynamic").lower() == "dynamic":
            args[argument] = host_map(device).get(target, target)
    for name, value in params.items():
        if not is_pacemaker_param(name) and name not in args:
            args[name] = value
    return args


def stdin_text(arguments: Mapping[str, str]) -> bytes:
    """One ``name=value`` per line (values with a newline cannot be passed: cut there)."""
    return "".join(f"{name}={value.splitlines()[0] if value else ''}\n"
                   for name, value in arguments.items()).encode()


@dataclass
class FenceAgents:
    """Runs the fence agents found in ``directory`` through ``spawner``."""

    spawner: Spawner
    directory: Path = FENCE_AGENT_DIR
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    _metadata: dict[str, FenceMetadata] = field(default_factory=dict)

    def path(self, agent: str) -> Path:
        return self.directory / agent

    def is_installed(self, agent: str) -> bool:
        path = self.path(agent)
        return is_plain_name(agent) and path.is_file()

    async def raw_metadata(self, agent: str) -> bytes | None:
        """The agent's meta-data XML (``action=metadata`` on stdin), or None."""
        if not self.is_installed(agent):
            return None
        try:
            proc = await self.spawner.run([str(self.path(agent))], self._env(), METADATA_TIMEOUT_S,
                                          stdin=b"action=metadata\n", output_cap=_OUTPUT_CAP)
        except SpawnerClosed:
            return None
        return proc.stdout if proc.exit_code == 0 else None

    async def metadata(self, agent: str) -> FenceMetadata:
        cached = self._metadata.get(agent)
        if cached is not None:
            return cached
        raw = await self.raw_metadata(agent)
        found = parse_fence_metadata(raw) if raw is not None else FenceMetadata()
        if raw is not None:
            self._metadata[agent] = found
        return found

    async def run(self, device: FenceDevice, action: str, target: str | None, timeout_s: float) -> FenceRun:
        """Run ``action`` of ``device`` (against ``target``); never raises for the agent's faults."""
        metadata = await self.metadata(device.agent)
        arguments = fence_arguments(device, action, target, metadata)
        pairs = tuple(arguments.items())
        if not self.is_installed(device.agent):
            return FenceRun(device.id, action, pairs, ProcessResult(None),
                            error=f"fence agent {device.agent} not found in {self.directory}")
        try:
            proc = await self.spawner.run([str(self.path(device.agent))], self._env(), timeout_s,
                                          stdin=stdin_text(arguments), output_cap=_OUTPUT_CAP)
        except SpawnerClosed as error:
            return FenceRun(device.id, action, pairs, ProcessResult(None), error=str(error))
        run = FenceRun(device.id, action, pairs, proc,
                       error=f"cannot execute {self.path(device.agent)}: {proc.spawn_error}"
                       if proc.spawn_errno is not None else "")
        log.debug("fence device %s: %s%s: %s", device.id, action, f" {target}" if target else "",
                  run.describe())
        return run

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in self.environ.items() if not k.startswith(("OCF_", "CRM_"))}
        env.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        return env
