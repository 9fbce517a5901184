"""The executor of one node: agent classes, meta-data cache, parameter check, one spawner.

``await Executor().run(request)`` runs one action of any supported agent and
returns its result; nothing here knows why the action runs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from vigil.executor.environment import inherited_environment, ocf_root
from vigil.executor.fetch import MetadataFetch as MetadataFetch  # re-exported: its old home
from vigil.executor.lsb import DEFAULT_INIT_DIR, LsbClass
from vigil.executor.metadata import AgentMetadata, MetadataCache, MetadataError, check_params, parse_metadata
from vigil.executor.ocf import OcfClass
from vigil.executor.outcome import not_run
from vigil.executor.process import Spawner, SpawnerClosed
from vigil.executor.request import ActionRequest, AgentSpec
from vigil.executor.results import ActionResult
from vigil.executor.systemd import ServiceClass, SystemdClass, SystemdSettings
from vigil.model.results import ExecStatus, OcfRc

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InstalledAgents:
    """The agents installed on this node, per class and provider.

    ``ocf`` merges the OCF root's providers with the ones bundled with vigil;
    ``bundled`` says where each bundled provider's agents are.
    """

    ocf_root: Path
    ocf: tuple[tuple[str, tuple[str, ...]], ...]
    lsb_dir: Path
    lsb: tuple[str, ...]
    bundled: tuple[tuple[str, Path], ...] = ()


class AgentClass(Protocol):
    """A further agent class plugged into an executor (fencing plugs in ``stonith``)."""

    async def run(self, request: ActionRequest) -> ActionResult: ...

    async def fetch_metadata(self, spec: AgentSpec) -> MetadataFetch: ...


class Executor:
    """Runs agents' actions on this node.

    ``check_params`` makes a start refuse a required parameter that is
    missing, with a clear message, instead of letting the agent fail
    somewhere less clear; a value of the wrong type is only logged as a
    warning (the agent judges its values, as under Pacemaker, and real
    agents' own defaults break their declared types).  ``environ`` replaces
    the inherited environment (for tests).
    """

    def __init__(
        self,
        spawner: Spawner | None = None,
        *,
        ocf_root_dir: Path | None = None,
        lsb_dir: Path = DEFAULT_INIT_DIR,
        check_params: bool = True,
        environ: Mapping[str, str] | None = None,
        bundled_ocf: Mapping[str, Path] | None = None,
    ) -> None:
        self.spawner = spawner if spawner is not None else Spawner()
        self.ocf = OcfClass(ocf_root_dir if ocf_root_dir is not None else ocf_root(environ), bundled_ocf)
        self.lsb = LsbClass(lsb_dir)
        # Classes beyond OCF and LSB, by standard, plugged in by whoever builds
        # the executor (vigil run adds stonith: vigil.fencing.device).
        self.classes: dict[str, AgentClass] = {}
        # systemd units over D-Bus, and the service alias (an init script, else a unit): systemd.py.
        self.systemd = SystemdClass(SystemdSettings.from_environ(environ))
        self.classes["systemd"] = self.systemd
        self.classes["service"] = ServiceClass(
            self.systemd, self.lsb, lambda request: self.lsb.run(self.spawner, request, self.inherited))
        self.check_params = check_params
        self.inherited = inherited_environment(environ)
        self._cache = MetadataCache()

    async def run(self, request: ActionRequest) -> ActionResult:
        """Run one action and return its result; never raises for an agent's misbehaviour."""
        standard = request.agent.standard
        try:
            if standard == "ocf":
                warnings: tuple[str, ...] = ()
                if request.action == "start" and self.check_params and self.ocf.missing(request) is None:
                    refusal, warnings = await self._check_start(request)
                    if refusal is not None:
                        return refusal
                return await self.ocf.run(self.spawner, request, self.inherited, warnings)
            if standard == "lsb":
                return await self.lsb.run(self.spawner, request, self.inherited)
            if standard in self.classes:
                return await self.classes[standard].run(request)
        except SpawnerClosed as err:
            return not_run(request, OcfRc.ERR_GENERIC, ExecStatus.INVALID, str(err))
        return not_run(
            request,
            OcfRc.ERR_UNIMPLEMENTED,
            ExecStatus.NOT_SUPPORTED,
            f"agent class {standard!r} is not supported ({', '.join(['ocf', 'lsb', *self.classes])} are)",
        )

    async def _check_start(self, request: ActionRequest) -> tuple[ActionResult | None, tuple[str, ...]]:
        fetch = await self.fetch_metadata(request.agent)
        if fetch.metadata is None:
            warning = f"parameters not checked: {fetch.error}"
            log.warning("%s: %s", request.resource_id, warning)
            return None, (warning,)
        check = check_params(fetch.metadata, request.params_dict)
        if check.errors:
            reason = f"not started: its parameters do not fit {request.agent}'s meta-data: " + "; ".join(
                check.errors
            )
            return not_run(request, OcfRc.ERR_CONFIGURED, ExecStatus.ERROR_FATAL, reason, check.warnings), ()
        for warning in check.warnings:
            log.warning("%s: %s", request.resource_id, warning)
        return None, check.warnings

    async def fetch_metadata(
        self, spec: AgentSpec, timeout_ms: int | None = None, *, use_cache: bool = True
    ) -> MetadataFetch:
        """Meta-data of an agent, from the cache when the agent's file has not changed.

        ``use_cache=False`` always runs the agent (and refreshes the cache).
        """
        if spec.standard == "lsb":
            outside = self.lsb.outside(spec)
            if outside is not None:
                return MetadataFetch(None, None, outside)
            if not self.lsb.path(spec).is_file():
                return MetadataFetch(None, None, f"init script {self.lsb.path(spec)} not found")
            return MetadataFetch(None, self.lsb.metadata(spec))
        if spec.standard in self.classes:
            return await self.classes[spec.standard].fetch_metadata(spec)
        if spec.standard != "ocf":
            return MetadataFetch(None, None, f"agent class {spec.standard!r} is not supported")
        path = self.ocf.path(spec)
        try:
            stat = path.stat()
        except OSError:
            stamp = None
        else:
            stamp = (stat.st_mtime_ns, stat.st_size)
            cached = self._cache.get(str(path), stamp) if use_cache else None
            if cached is not None:
                return MetadataFetch(None, cached)
        request = (
            self.ocf.metadata_request(spec)
            if timeout_ms is None
            else self.ocf.metadata_request(spec, timeout_ms)
        )
        try:
            result = await self.ocf.run(self.spawner, request, self.inherited)
        except SpawnerClosed as err:
            return MetadataFetch(None, None, str(err))
        if not result.is_one_of((OcfRc.SUCCESS,)):
            return MetadataFetch(result, None, f"meta-data of {spec} failed: {result.describe()}")
        try:
            metadata = parse_metadata(result.stdout, f"meta-data of {spec}")
        except MetadataError as err:
            return MetadataFetch(result, None, str(err))
        if stamp is not None:
            self._cache.put(str(path), stamp, metadata)
        return MetadataFetch(result, metadata)

    async def metadata(self, spec: AgentSpec) -> AgentMetadata:
        """Meta-data of an agent; raises :class:`MetadataError` saying why there is none."""
        fetch = await self.fetch_metadata(spec)
        if fetch.metadata is None:
            raise MetadataError(fetch.error)
        return fetch.metadata

    def installed_agents(self) -> InstalledAgents:
        """Every agent found, per class and provider."""
        ocf = tuple((provider, tuple(self.ocf.agents(provider))) for provider in self.ocf.providers())
        bundled = tuple(
            (provider, directory)
            for provider, directory in sorted(self.ocf.bundled.items())
            if self.ocf.bundled_agents(provider)
        )
        return InstalledAgents(self.ocf.root, ocf, self.lsb.init_dir, tuple(self.lsb.agents()), bundled)

    async def close(self) -> None:
        """End every action in flight and refuse new ones."""
        await self.spawner.shutdown()
