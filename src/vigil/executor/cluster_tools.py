"""The directory of Pacemaker's command names that every agent vigil runs finds first.

``attrd_updater``, ``crm_attribute`` ... are small ``#!/bin/sh`` shims
(mode 0755) that run vigil's own commands with the Python that runs vigil:
``python -m vigil.cli.cluster_tools NAME "$@"``.  ``vigil run`` writes them
in ``STATE_DIR/bin`` when it starts; the environment of every resource,
fence and alert agent then has that directory first in ``PATH`` and as
``HA_SBIN_DIR`` (:func:`~vigil.executor.environment.with_cluster_tools`),
and ``VIGIL_STATE_DIR`` naming the state directory, through which the
commands reach this node's daemon.  ``vigil agent run`` puts them in a
temporary directory (:func:`temporary_tools_dir`), so an agent run by hand
meets the same commands (and, without a daemon, their clear refusal).

The module is named here as text: the executor does not import the command
line (it sits above it).
"""

from __future__ import annotations

import atexit
import os
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

from vigil.errors import VigilError

# Keep in step with vigil.cli.cluster_tools.TOOLS (a test checks it).
TOOL_NAMES = ("attrd_updater", "crm_attribute", "crm_master", "crm_node", "crm_mon", "cibadmin",
              "crm_resource", "stonith_admin")
TOOLS_MODULE = "vigil.cli.cluster_tools"
# The state directory's subdirectory the daemon writes them in.
TOOLS_SUBDIR = "bin"
SHIM_MODE = 0o755


def shim_text(name: str, python: str | None = None) -> str:
    """The shell script that runs vigil's ``name`` with ``python`` (default: this interpreter)."""
    interpreter = shlex.quote(python or sys.executable)
    return (f"#!/bin/sh\n# vigil's {name}, written by vigil for the agents it runs: do not edit.\n"
            f"exec {interpreter} -m {TOOLS_MODULE} {name} \"$@\"\n")


class ToolsDirError(VigilError):
    """The shims cannot be written: agents would not find vigil's commands."""


def install_shims(directory: Path, python: str | None = None) -> Path:
    """Write (or refresh) the shims in ``directory``, created if needed; the directory.

    A shim already as it should be is left alone, so a restart does not
    rewrite files an agent may be running; others are replaced whole (a new
    file renamed over the old one).  :class:`ToolsDirError` when it cannot.
    """
    try:
        directory.mkdir(mode=0o755, parents=True, exist_ok=True)
        for name in TOOL_NAMES:
            _install_shim(directory, name, shim_text(name, python))
    except OSError as error:
        raise ToolsDirError(f"cannot write vigil's commands for agents in {directory}: "
                            f"{error.strerror or error}") from None
    return directory


def _install_shim(directory: Path, name: str, text: str) -> None:
    """One shim, replaced whole unless it is already as it should be."""
    target = directory / name
    try:
        if target.read_text() == text and (target.stat().st_mode & 0o777) == SHIM_MODE:
            return
    except OSError:
        pass
    temporary = directory / f".{name}.tmp"
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, SHIM_MODE)
    try:
        os.fchmod(fd, SHIM_MODE)
        os.write(fd, text.encode())
    finally:
        os.close(fd)
    temporary.replace(target)


def temporary_tools_dir() -> Path:
    """Shims in a new temporary directory, removed when this process ends (``vigil agent run``)."""
    directory = Path(tempfile.mkdtemp(prefix="vigil-tools-"))
    atexit.register(shutil.rmtree, directory, True)
    return install_shims(directory)
