"""``fence_lab``: the fault lab's fence agent, a test double for a power switch that really ends a node.

Why: ``fence_dummy`` only writes a file, so a "fenced" node's processes keep
running and its resources keep "running".  On real hardware fencing means the
machine is off: nothing it ran survives, nothing it kept in RAM or ``/tmp``
is there when it boots.  This agent does that to a lab node, on one machine:

1. ``kill -9`` of the node's ``vigil run`` (its pid, from the registry the lab
   writes: ``LAB_DIR/nodes/NODE.json``, checked against the cluster's tag in
   the process's environment so a reused pid is never hit);
2. ``kill -9`` of every process that node started (agents in flight, hung
   agents): every process whose environment carries the cluster's tag *and*
   the node's own ``TMPDIR`` (vigil passes its environment to its agents), again
   until none is left;
3. the node's agent state removed (its ``TMPDIR`` and ``HA_RSCTMP`` emptied):
   what a power cycle loses;
4. one ``fence`` line in the lab's activity log, with ``time.monotonic()``:
   from then on nothing of that node runs, which the audits rely on.

The lab starts the node again after its reboot delay, as a machine boots.
Actions: ``off`` and ``reboot`` do the above; ``on``, ``status``, ``monitor``
and ``list`` answer (the lab powers nodes on itself); ``metadata`` describes
the agent.  Arguments on stdin, one ``name=value`` per line (the fence-agents
API); the target is ``port`` (or ``nodename``).  Exit 0 on success.

Standard library only, no import of vigil: the lab writes it as
``FENCE_DIR/fence_lab`` (found through ``VIGIL_FENCE_AGENT_DIR``) with a
``#!`` line naming the lab's Python.  A test double: never for production.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

ACTIVITY_LOG = "activity.log"
# How long the agent keeps looking for the node's processes (seconds).
KILL_DEADLINE_S = 10.0

METADATA = """<?xml version="1.0" ?>
<resource-agent name="fence_lab" shortdesc="The fault lab's power switch (test double)">
<longdesc>Ends a lab node as a power switch would: kill -9 of its vigil and of every
process it started, its agent state removed. vigil's fault lab only
(docs/reliability.md); never for production.</longdesc>
<parameters>
<parameter name="action" unique="0" required="1">
<getopt mixed="-o, --action=[action]"/>
<content type="string" default="reboot"/>
<shortdesc lang="en">Fencing action</shortdesc>
</parameter>
<parameter name="port" unique="0" required="0">
<getopt mixed="-n, --plug=[id]"/>
<content type="string"/>
<shortdesc lang="en">The node to fence</shortdesc>
</parameter>
<parameter name="lab_dir" unique="0" required="1">
<getopt mixed="--lab-dir=[directory]"/>
<content type="string"/>
<shortdesc lang="en">The lab's directory (its node registry and activity log)</shortdesc>
</parameter>
</parameters>
<actions>
<action name="on"/>
<action name="off"/>
<action name="reboot"/>
<action name="status"/>
<action name="monitor"/>
<action name="list"/>
<action name="metadata"/>
</actions>
</resource-agent>
"""


def read_arguments(text: str) -> dict[str, str]:
    """``name=value`` lines (blank lines and ``#`` comments skipped)."""
    arguments: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            arguments[name.strip()] = value.strip()
    return arguments


def environ_of(pid: int) -> list[bytes] | None:
    """The environment of a live, non-zombie process; None when gone or not readable."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rpartition(")")[2].split()[0] in ("Z", "X"):
            return None
        return Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except (OSError, IndexError):
        return None


def node_processes(tag: bytes, tmpdir: bytes, spared: set[int]) -> list[int]:
    """Live processes carrying both the cluster's tag and the node's own TMPDIR."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in spared:
            continue
        environ = environ_of(int(entry.name))
        if environ is not None and tag in environ and tmpdir in environ:
            found.append(int(entry.name))
    return found


def kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


def empty(directory: Path) -> None:
    """Remove everything inside ``directory`` (kept itself): what a reboot loses."""
    if not directory.is_dir():
        return
    for entry in directory.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def power_off(lab_dir: Path, node: str, action: str) -> int:
    """Steps 1-4 of the module's docstring, holding the node's power lock; the exit code.

    The lab boots a node holding the same lock (``nodes/NODE.lock``), from its boot line to its
    registry entry: a fencing never falls between a boot and the registry naming the new process."""
    with open(lab_dir / "nodes" / f"{node}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return power_off_locked(lab_dir, node, action)


def power_off_locked(lab_dir: Path, node: str, action: str) -> int:
    try:
        entry = json.loads((lab_dir / "nodes" / f"{node}.json").read_text())
    except (OSError, ValueError) as error:
        print(f"fence_lab: no registry entry for {node!r} in {lab_dir / 'nodes'}: {error}", file=sys.stderr)
        return 1
    tag = f"{entry['tag_variable']}={entry['tag']}".encode()
    tmpdir = f"TMPDIR={entry['tmpdir']}".encode()
    spared = {os.getpid()}  # a node fencing itself still reports back, then is gone
    pid = int(entry.get("pid") or 0)
    if pid > 1 and pid not in spared and tag in (environ_of(pid) or []):
        kill(pid)
    deadline = time.monotonic() + KILL_DEADLINE_S
    while True:
        left = node_processes(tag, tmpdir, spared)
        if not left:
            break
        if time.monotonic() > deadline:
            print(f"fence_lab: processes of {node} would not die: {left}", file=sys.stderr)
            return 1
        for each in left:
            kill(each)
        time.sleep(0.02)
    for directory in (entry["tmpdir"], entry["rsctmp"]):
        empty(Path(directory))
    line = json.dumps({"t": time.monotonic(), "ev": "fence", "node": node, "op": action,
                       "pid": os.getpid()}, separators=(",", ":")) + "\n"
    fd = os.open(lab_dir / ACTIVITY_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
    return 0


def main(stdin: str) -> int:
    arguments = read_arguments(stdin)
    action = arguments.get("action", "reboot")
    if action in ("metadata", "meta-data"):
        sys.stdout.write(METADATA)
        return 0
    lab_dir = Path(arguments.get("lab_dir", ""))
    if not arguments.get("lab_dir") or not lab_dir.is_dir():
        print(f"fence_lab: lab_dir {arguments.get('lab_dir')!r} is not a directory", file=sys.stderr)
        return 1
    if action in ("monitor", "status", "on"):
        return 0
    if action == "list":
        for entry in sorted((lab_dir / "nodes").glob("*.json")):
            print(entry.stem)
        return 0
    if action not in ("off", "reboot"):
        print(f"fence_lab: unsupported action {action!r}", file=sys.stderr)
        return 1
    node = arguments.get("port") or arguments.get("plug") or arguments.get("nodename") or ""
    if not node:
        print("fence_lab: no target (port or nodename)", file=sys.stderr)
        return 1
    return power_off(lab_dir, node, action)


if __name__ == "__main__":
    sys.exit(main(sys.stdin.read()))
