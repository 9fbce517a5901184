"""The LSB class: init scripts (``/etc/init.d/NAME`` or a configured directory).

An LSB script takes ``start``, ``stop`` and ``status``; the cluster's
``monitor`` is its ``status``.  Its exit codes are translated to OCF as
Pacemaker does (``services__lsb2ocf``):

- ``start``, ``stop`` and the rest share OCF's codes 0-7; anything above 7
  is a generic error;
- ``status`` has its own: 0 running; 1 (dead, pid file left), 2 (dead, lock
  file left) and 3 (stopped) are *not running*; 150 and 151 (Pacemaker's
  codes for not installed and insufficient privileges) map to OCF 5 and 4;
  anything else, 4 (unknown) included, is a generic error.

An init script gets no ``OCF_*`` variable and no parameters, only the
inherited environment; it has no meta-data, so vigil builds some from its
``### BEGIN INIT INFO`` header.  systemd units are the systemd class's (``systemd.py``).
"""

from __future__ import annotations

import os
from pathlib import Path

from vigil.executor.metadata import ActionSpec, AgentMetadata
from vigil.executor.outcome import not_run, to_result
from vigil.executor.process import Spawner
from vigil.executor.request import ActionRequest, AgentSpec
from vigil.executor.results import ActionResult
from vigil.model.names import agent_name_problem
from vigil.model.results import ExecStatus, OcfRc

DEFAULT_INIT_DIR = Path("/etc/init.d")
LSB_STATUS_NOT_INSTALLED = 150
LSB_STATUS_INSUFFICIENT_PRIV = 151
_STATUS_ACTIONS = ("status", "monitor")
_DEFAULT_TIMEOUT_MS = 15_000


def lsb_to_ocf(action: str, code: int) -> OcfRc:
    """Translate an init script's exit code for ``action`` into an OCF code."""
    if action not in _STATUS_ACTIONS:
        return OcfRc(code) if 0 <= code <= 7 else OcfRc.ERR_GENERIC
    if code == 0:
        return OcfRc.SUCCESS
    if code in (1, 2, 3):
        return OcfRc.NOT_RUNNING
    if code == LSB_STATUS_NOT_INSTALLED:
        return OcfRc.ERR_INSTALLED
    if code == LSB_STATUS_INSUFFICIENT_PRIV:
        return OcfRc.ERR_PERM
    return OcfRc.ERR_GENERIC


def read_header(path: Path) -> dict[str, str]:
    """The fields of an init script's LSB header (``Provides``, ``Short-Description`` ...)."""
    fields: dict[str, str] = {}
    inside = False
    last = ""
    try:
        with path.open(encoding="utf-8", errors="replace") as script:
            for line in script:
                if line.startswith("### BEGIN INIT INFO"):
                    inside = True
                    continue
                if not inside:
                    continue
                if line.startswith("### END INIT INFO") or not line.startswith("#"):
                    break
                body = line[1:]
                if last == "Description" and body[:1] in (" ", "\t") and body[1:2] in (" ", "\t"):
                    fields[last] += " " + body.strip()
                    continue
                key, sep, value = body.strip().partition(":")
                if sep and key and " " not in key:
                    fields[key] = value.strip()
                    last = key
    except OSError:
        return {}
    return fields


class LsbClass:
    """Init scripts in one directory."""

    standard = "lsb"

    def __init__(self, init_dir: Path = DEFAULT_INIT_DIR) -> None:
        self.init_dir = init_dir

    def path(self, spec: AgentSpec) -> Path:
        return self.init_dir / spec.type

    def outside(self, spec: AgentSpec) -> str | None:
        """Why ``spec`` would name a file outside the init directory (a path, ``..``), or None."""
        return agent_name_problem(str(spec), "name", spec.type)

    def agents(self) -> list[str]:
        """Executable files of the init directory, as Pacemaker lists them."""
        try:
            return sorted(
                p.name
                for p in self.init_dir.iterdir()
                if not p.name.startswith(".") and p.is_file() and os.access(p, os.X_OK)
            )
        except OSError:
            return []

    def metadata(self, spec: AgentSpec) -> AgentMetadata:
        """Meta-data built from the script's LSB header."""
        header = read_header(self.path(spec))
        actions = tuple(
            ActionSpec(name, _DEFAULT_TIMEOUT_MS)
            for name in ("start", "stop", "status", "restart", "force-reload")
        )
        actions += (
            ActionSpec("monitor", _DEFAULT_TIMEOUT_MS, interval_ms=15_000),
            ActionSpec("meta-data", 5_000),
        )
        return AgentMetadata(
            name=spec.type,
            ocf_version="1.1",
            shortdesc=header.get("Short-Description", spec.type),
            longdesc=header.get("Description", header.get("Short-Description", spec.type)),
            actions=actions,
        )

    async def run(
        self,
        spawner: Spawner,
        request: ActionRequest,
        inherited: dict[str, str],
        warnings: tuple[str, ...] = (),
    ) -> ActionResult:
        """Run one action of an init script."""
        outside = self.outside(request.agent)
        if outside is not None:
            return not_run(request, OcfRc.ERR_INSTALLED, ExecStatus.NOT_INSTALLED, outside)
        path = self.path(request.agent)
        if not path.exists() or path.is_dir():
            return not_run(
                request, OcfRc.ERR_INSTALLED, ExecStatus.NOT_INSTALLED, f"init script {path} not found"
            )
        if request.action in ("validate-all", "meta-data"):
            return not_run(
                request,
                OcfRc.ERR_UNIMPLEMENTED,
                ExecStatus.NOT_SUPPORTED,
                f"LSB init scripts have no {request.action} action",
            )
        action = "status" if request.action == "monitor" else request.action
        proc = await spawner.run([str(path), action], inherited, request.timeout_ms / 1000)
        return to_result(
            request,
            proc,
            str(path),
            lambda code: lsb_to_ocf(action, code),
            {},
            use_exit_reason=False,
            warnings=warnings,
        )
