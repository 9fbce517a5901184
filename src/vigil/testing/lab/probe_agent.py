"""``ocf:lab:Probe``: the fault lab's resource agent, which writes down every start and stop.

Why a resource agent of its own: the lab's central audit ("no non-clone
resource ever active on two nodes at the same time") must be read from what
the agents did, not from what vigil recorded.  Every action of this agent
appends one JSON line to the lab's **activity log** (``LAB_DIR/activity.log``,
opened ``O_APPEND``: one ``write`` per line, so lines from several processes
never interleave), with the node, the resource instance, the agent's pid and
``time.monotonic()`` (``CLOCK_MONOTONIC``, one clock for every process of the
machine, so the lines of three nodes can be ordered):

- ``start-begin`` before a start does anything, ``start-ok`` / ``start-fail``
  after it; ``stop-begin``, then ``stop-ok`` once the resource is gone or
  ``stop-fail``; ``monitor`` for every recurring monitor (with its ``rc``) and
  for a probe that finds the resource running; ``hang`` before an action
  that the lab made hang.
- An agent that cannot write its line fails the action (an audit read from
  an incomplete log would be worthless).

"Running" is a state file, ``STATE_DIR/INSTANCE`` (``STATE_DIR`` defaults to
``$TMPDIR/lab-probe``: each lab node has its own ``TMPDIR``, which the lab's
fence agent empties as a power cycle would).  The lab injects failures with
marker files next to it, each consumed by the action it breaks:

- ``INSTANCE.fail-monitor``: recurring monitors return the exit code written
  in it (1 when empty) until the next stop removes it;
- ``INSTANCE.fail-start`` / ``INSTANCE.fail-stop``: the next start / stop
  fails with 1 (a failed stop leaves the resource running);
- ``INSTANCE.hang-monitor`` / ``INSTANCE.hang-start``: the next recurring
  monitor / start sleeps far past any timeout (the executor kills it).

Standard library only, and no import of vigil: the lab writes this file as
``OCF_ROOT/resource.d/lab/Probe`` with a ``#!`` line naming the lab's own
Python (``-I -S``: isolated, no site, about 25 ms to start).  A test double,
never for production.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

OCF_SUCCESS = 0
OCF_ERR_GENERIC = 1
OCF_ERR_ARGS = 2
OCF_ERR_UNIMPLEMENTED = 3
OCF_ERR_CONFIGURED = 6
OCF_NOT_RUNNING = 7

ACTIVITY_LOG = "activity.log"
# How long an action the lab made hang sleeps: far past any timeout the lab configures.
HANG_S = 3600.0

METADATA = """<?xml version="1.0"?>
<resource-agent name="Probe" version="1.0">
<version>1.1</version>
<longdesc lang="en">
The fault lab's resource: running is a state file. Every start and stop, every
recurring monitor, is appended to the lab's activity log with the node, the
instance, the pid and the monotonic time, so the lab can audit that no
resource ever ran on two nodes at once. Marker files next to the state file
make a monitor, a start or a stop fail, or hang. A test double (vigil's fault
lab, docs/reliability.md), never for production.
</longdesc>
<shortdesc lang="en">The fault lab's audited resource (test double)</shortdesc>
<parameters>
<parameter name="lab_dir" required="1">
<longdesc lang="en">The lab's directory: the activity log is LAB_DIR/activity.log.</longdesc>
<shortdesc lang="en">The lab's directory</shortdesc>
<content type="string"/>
</parameter>
<parameter name="state_dir">
<longdesc lang="en">Directory of the state and marker files (default: $TMPDIR/lab-probe).</longdesc>
<shortdesc lang="en">State directory</shortdesc>
<content type="string"/>
</parameter>
<parameter name="generation">
<longdesc lang="en">Any text; the lab changes it so that a configuration change restarts
the resource.</longdesc>
<shortdesc lang="en">Configuration generation</shortdesc>
<content type="string" default="0"/>
</parameter>
</parameters>
<actions>
<action name="start" timeout="20s"/>
<action name="stop" timeout="20s"/>
<action name="monitor" timeout="20s" interval="10s" depth="0"/>
<action name="validate-all" timeout="20s"/>
<action name="meta-data" timeout="5s"/>
</actions>
</resource-agent>
"""


def exit_reason(text: str) -> None:
    """The executor shows the last such line on stderr as the action's exit reason."""
    prefix = os.environ.get("OCF_EXIT_REASON_PREFIX", "ocf-exit-reason:")
    print(f"{prefix}{text}", file=sys.stderr)


class Probe:
    """One action of one instance on one node, with the lab's directories."""

    def __init__(self, environ: dict[str, str]) -> None:
        self.instance = environ.get("OCF_RESOURCE_INSTANCE", "Probe")
        self.node = environ.get("OCF_RESKEY_CRM_meta_on_node", "")
        self.clone = environ.get("OCF_RESKEY_CRM_meta_clone")
        self.interval_ms = int(environ.get("OCF_RESKEY_CRM_meta_interval", "0") or 0)
        self.generation = environ.get("OCF_RESKEY_generation", "0")
        self.lab_dir = Path(environ.get("OCF_RESKEY_lab_dir", ""))
        default_state = Path(environ.get("TMPDIR", "/tmp")) / "lab-probe"
        self.state_dir = Path(environ.get("OCF_RESKEY_state_dir") or default_state)

    @property
    def state_file(self) -> Path:
        return self.state_dir / self.instance

    def marker(self, kind: str) -> Path:
        return self.state_dir / f"{self.instance}.{kind}"

    def take_marker(self, kind: str) -> str | None:
        """The marker's text, removing it (one action consumes it); None when there is none."""
        path = self.marker(kind)
        try:
            text = path.read_text()
            path.unlink()
        except FileNotFoundError:
            return None
        return text

    def log(self, event: str, op: str, rc: int | None = None) -> None:
        """Append one line to the activity log; raises OSError when it cannot."""
        line = json.dumps({"t": time.monotonic(), "ev": event, "node": self.node, "rsc": self.instance,
                           "clone": self.clone, "pid": os.getpid(), "op": op,
                           "interval": self.interval_ms, "rc": rc}, separators=(",", ":")) + "\n"
        fd = os.open(self.lab_dir / ACTIVITY_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)

    def hang(self, op: str) -> int:
        self.log("hang", op)
        time.sleep(HANG_S)
        return OCF_ERR_GENERIC

    def start(self) -> int:
        self.log("start-begin", "start")
        if self.take_marker("fail-start") is not None:
            exit_reason("the lab made this start fail")
            self.log("start-fail", "start", OCF_ERR_GENERIC)
            return OCF_ERR_GENERIC
        if self.take_marker("hang-start") is not None:
            return self.hang("start")
        temporary = self.state_dir / f".{self.instance}.{os.getpid()}"
        temporary.write_text(json.dumps({"generation": self.generation, "pid": os.getpid()}))
        temporary.replace(self.state_file)
        self.log("start-ok", "start", OCF_SUCCESS)
        return OCF_SUCCESS

    def stop(self) -> int:
        self.log("stop-begin", "stop")
        if self.take_marker("fail-stop") is not None:
            exit_reason("the lab made this stop fail")
            self.log("stop-fail", "stop", OCF_ERR_GENERIC)
            return OCF_ERR_GENERIC
        for path in (self.state_file, self.marker("fail-monitor"), self.marker("hang-monitor")):
            path.unlink(missing_ok=True)
        self.log("stop-ok", "stop", OCF_SUCCESS)
        return OCF_SUCCESS

    def monitor(self) -> int:
        recurring = self.interval_ms > 0
        if not self.state_file.exists():
            rc = OCF_NOT_RUNNING
        elif recurring and self.take_marker("hang-monitor") is not None:
            return self.hang("monitor")
        elif recurring and self.marker("fail-monitor").exists():
            text = self.marker("fail-monitor").read_text().strip()
            rc = int(text) if text.isdigit() else OCF_ERR_GENERIC
            exit_reason(f"the lab made this monitor fail with {rc}")
        else:
            rc = OCF_SUCCESS
        self.log("monitor", "monitor", rc)  # probes too: the audits ask whether a node was asked
        return rc


def validate() -> int:
    return OCF_SUCCESS


def prepare(probe: Probe) -> int | None:
    """Check the parameters and create the state directory; an OCF error code, or None when fine."""
    if not str(probe.lab_dir) or not probe.lab_dir.is_dir():
        exit_reason(f"lab_dir {str(probe.lab_dir)!r} is not a directory")
        return OCF_ERR_CONFIGURED
    probe.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    return None


def main(argv: list[str]) -> int:
    action = argv[1] if len(argv) > 1 else ""
    if action in ("meta-data", "metadata"):
        sys.stdout.write(METADATA)
        return OCF_SUCCESS
    probe = Probe(dict(os.environ))
    actions: dict[str, Callable[[], int]] = {"start": probe.start, "stop": probe.stop,
                                             "monitor": probe.monitor, "validate-all": validate}
    if action not in actions:
        exit_reason(f"unknown action {action!r}")
        return OCF_ERR_UNIMPLEMENTED
    try:
        problem = prepare(probe)
        if problem is not None:
            return problem
        return actions[action]()
    except OSError as error:
        exit_reason(f"{action}: {error}")
        return OCF_ERR_GENERIC


if __name__ == "__main__":
    sys.exit(main(sys.argv))
