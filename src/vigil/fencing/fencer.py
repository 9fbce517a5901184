"""The fencer: pick the devices that can fence a node, run them, report what happened.

As Pacemaker's fencer decides (``daemons/fenced``):

- The devices are the configuration's ``stonith`` primitives (a device
  need not be "started" to be used; one with ``target-role=Stopped`` is
  not used).
- A ``<fencing-topology>`` with levels for the target is tried level by
  level in ``index`` order; within a level every device must succeed,
  and the first level that does ends the fencing.  Without levels, every
  device that can fence the target is tried in configuration order until
  one succeeds.
- Whether a device can fence a node is ``pcmk_host_check``: ``static-list``
  (the default when ``pcmk_host_list`` or ``pcmk_host_map`` is set: the
  node is listed), ``dynamic-list`` (the default when the agent has a
  ``list`` action: the node, or its ``pcmk_host_map`` alias, is in the
  output of ``list``), ``status`` (the default when the agent has
  ``status``: ``status`` answers 0 "on" or 2 "off" for the node) or
  ``none`` (any node).
- ``reboot`` becomes ``off`` for an agent without ``reboot``; each action
  is bounded by ``pcmk_<action>_timeout``, else ``stonith-timeout``
  (default 60 s).

Who runs the devices: in a cluster, the controller's node, for any node but
itself (docs/cluster.md); on one machine the node itself, since there is no
other (Pacemaker would ask another node).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from vigil.fencing.agent import FenceAgents, FenceDevice, FenceRun, host_list, host_map
from vigil.model.config import Config, FencingLevel, Primitive
from vigil.model.isodate import parse_interval_ms
from vigil.model.nvsets import resolve_nvsets
from vigil.model.options import raw_options
from vigil.model.resources import TARGET_ROLE, all_resources, effective_meta
from vigil.model.rule_eval import RuleContext

log = logging.getLogger(__name__)

DEFAULT_STONITH_TIMEOUT_S = 60.0
# Pacemaker's execution statuses and legacy return codes for a fencing result.
STATUS_DONE, STATUS_TIMEOUT, STATUS_ERROR, STATUS_NO_DEVICE = 0, 2, 4, 10
_LEGACY_RC = {STATUS_DONE: 0, STATUS_TIMEOUT: -62, STATUS_ERROR: -201, STATUS_NO_DEVICE: -19}
_STATUS_TEXT = {STATUS_DONE: "OK", STATUS_TIMEOUT: "Timed Out", STATUS_ERROR: "Error",
                STATUS_NO_DEVICE: "No fence device"}


@dataclass(frozen=True)
class FenceOutcome:
    """What became of one fencing request."""

    target: str
    action: str
    status: int
    device: str
    reason: str
    ref: str
    runs: tuple[FenceRun, ...] = ()

    @property
    def succeeded(self) -> bool:
        return self.status == STATUS_DONE

    @property
    def rc(self) -> int:
        """Pacemaker's legacy result code, as fencing alerts give it (``CRM_alert_rc``)."""
        return _LEGACY_RC.get(self.status, -201)

    def description(self, executioner: str, client: str, origin: str) -> str:
        """Pacemaker's ``stonith__event_description()``, e.g.
        ``Operation reboot of n1 by n1 for vigil.42@n1: OK (ref=...)``."""
        reason = f" ({self.reason})" if self.reason and not self.succeeded else ""
        return (f"Operation {self.action} of {self.target} by {executioner} for {client}@{origin}: "
                f"{_STATUS_TEXT.get(self.status, 'Error')}{reason} (ref={self.ref})")


def fence_devices(config: Config, now: int) -> list[FenceDevice]:
    """The configured fence devices, their parameters resolved, in configuration order."""
    devices = []
    ctx = RuleContext(now=now)
    for found in all_resources(config):
        prim = found.resource
        if not isinstance(prim, Primitive) or prim.cls != "stonith":
            continue
        if effective_meta(config, found, now).get(TARGET_ROLE, "").lower() == "stopped":
            continue
        devices.append(FenceDevice(prim.id, prim.type, tuple(resolve_nvsets(prim.params, ctx).items())))
    return devices


def levels_for(config: Config, target: str, node_attrs: Mapping[str, str]) -> list[FencingLevel]:
    """The topology levels that apply to ``target``, by index."""
    found = []
    for level in config.fencing_levels:
        if level.target is not None:
            matches = level.target == target
        elif level.target_pattern is not None:
            try:
                matches = re.search(level.target_pattern, target) is not None
            except re.error:
                matches = False
        elif level.target_attribute is not None:
            matches = node_attrs.get(level.target_attribute) == level.target_value
        else:
            matches = False
        if matches:
            found.append(level)
    return sorted(found, key=lambda level: level.index)


def stonith_timeout_s(config: Config, now: int) -> float:
    text = raw_options(config, RuleContext(now=now)).get("stonith-timeout")
    if text is None:
        return DEFAULT_STONITH_TIMEOUT_S
    try:
        return max(1.0, parse_interval_ms(text) / 1000)
    except ValueError:
        return DEFAULT_STONITH_TIMEOUT_S


class Fencer:
    """Fences nodes with the configured devices (see the module's docstring)."""

    def __init__(self, agents: FenceAgents) -> None:
        self.agents = agents

    async def can_fence(self, device: FenceDevice, target: str, timeout_s: float) -> bool:
        params = device.params_dict
        metadata = await self.agents.metadata(device.agent)
        check = params.get("pcmk_host_check")
        if check is None:
            if "pcmk_host_list" in params or "pcmk_host_map" in params:
                check = "static-list"
            elif metadata.supports("list"):
                check = "dynamic-list"
            elif metadata.supports("status"):
                check = "status"
            else:
                check = "none"
        check = check.lower()
        if check == "none":
            return True
        if check == "static-list":
            return target in host_list(device) or target in host_map(device)
        if check == "dynamic-list":
            run = await self.agents.run(device, "list", None, self._timeout(device, "list", timeout_s))
            if not run.succeeded:
                log.warning("fence device %s: list failed (%s)", device.id, run.describe())
                return False
            alias = host_map(device).get(target, target)
            names = {re.split(r"[,\s]", line.strip(), maxsplit=1)[0]
                     for line in run.process.stdout.decode("utf-8", "replace").splitlines() if line.strip()}
            return alias in names
        if check == "status":
            run = await self.agents.run(device, "status", target, self._timeout(device, "status", timeout_s))
            return not run.error and run.exit_code in (0, 2)
        log.error("fence device %s: invalid pcmk_host_check %r", device.id, check)
        return False

    @staticmethod
    def _timeout(device: FenceDevice, action: str, default_s: float) -> float:
        text = device.params_dict.get(f"pcmk_{action}_timeout")
        if text is None:
            return default_s
        try:
            return max(1.0, parse_interval_ms(text) / 1000)
        except ValueError:
            return default_s

    async def _run(self, device: FenceDevice, action: str, target: str, timeout_s: float) -> FenceRun:
        metadata = await self.agents.metadata(device.agent)
        if action == "reboot" and metadata.actions and not metadata.supports("reboot"):
            log.info("fence device %s cannot reboot: using off", device.id)
            action = "off"
        return await self.agents.run(device, action, target, self._timeout(device, action, timeout_s))

    async def fence(self, config: Config, target: str, action: str, *, now: int,
                    node_attrs: Mapping[str, str] | None = None) -> FenceOutcome:
        """Fence ``target`` (``action``: reboot, off or on) with the configured devices."""
        ref = str(uuid.uuid4())
        timeout_s = stonith_timeout_s(config, now)
        devices = {device.id: device for device in fence_devices(config, now)}
        levels = levels_for(config, target, node_attrs or {})
        runs: list[FenceRun] = []
        if levels:
            for level in levels:
                missing = [name for name in level.devices if name not in devices]
                if missing:
                    log.error("fencing level %s names unknown device(s) %s", level.id, ", ".join(missing))
                    continue
                level_runs = []
                for name in level.devices:
                    run = await self._run(devices[name], action, target, timeout_s)
                    level_runs.append(run)
                    if not run.succeeded:
                        break
                runs.extend(level_runs)
                if all(run.succeeded for run in level_runs):
                    return FenceOutcome(target, action, STATUS_DONE, ",".join(level.devices), "", ref,
                                        tuple(runs))
            return self._failed(target, action, ref, runs, "no fencing level succeeded")
        for device in devices.values():
            if not await self.can_fence(device, target, timeout_s):
                continue
            run = await self._run(device, action, target, timeout_s)
            runs.append(run)
            if run.succeeded:
                return FenceOutcome(target, action, STATUS_DONE, device.id, "", ref, tuple(runs))
        if not runs:
            return FenceOutcome(target, action, STATUS_NO_DEVICE, "", f"no fence device can fence {target}",
                                ref)
        return self._failed(target, action, ref, runs, "every device that can fence it failed")

    @staticmethod
    def _failed(target: str, action: str, ref: str, runs: list[FenceRun], why: str) -> FenceOutcome:
        if not runs:
            return FenceOutcome(target, action, STATUS_NO_DEVICE, "", why, ref)
        last = runs[-1]
        status = STATUS_TIMEOUT if last.timed_out else STATUS_ERROR
        return FenceOutcome(target, action, status, last.device, f"{last.device}: {last.describe()}", ref,
                            tuple(runs))
