"""``vigil demo cluster``: a 3-node vigil cluster on this machine, to watch and to break.

Why a command: a cluster needs an etcd of several members and a ``vigil
run`` per node, each with its own addresses, state directory and agent
runtime directory; getting that right by hand takes a page of commands.  The
demo uses the test harness (:class:`vigil.testing.cluster.LocalCluster`), so
what people try is what the tests run: everything on loopback addresses
(127.0.0.N), started and ended by PID, nothing left behind after Ctrl-C.
"""

from __future__ import annotations

import shlex
import signal
import sys
import time
from pathlib import Path
from types import FrameType

import click

from vigil.errors import VigilError
from vigil.testing.cluster import ClusterError, LocalCluster

# examples/demo-cluster.yaml of a source checkout (the demo is run from one, as `make run` is).
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "demo-cluster.yaml"


@click.group()
def demo() -> None:
    """Demonstrations that run on this machine alone."""


@demo.command("cluster")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              default=None,
              help="The configuration the nodes start with (default: examples/demo-cluster.yaml).")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the etcd data, state directories and logs go (default: a new directory in /tmp, "
                   "removed at the end unless --keep).")
@click.option("--keep", is_flag=True, help="Keep the working directory (logs, state) after stopping.")
@click.option("--duration", type=click.FloatRange(min=0), default=None, metavar="SECONDS",
              help="Stop by itself after SECONDS (default: run until Ctrl-C).")
def cluster(config_file: Path | None, workdir: Path | None, keep: bool, duration: float | None) -> None:
    """Start a 3-member etcd and 3 vigil nodes on loopback addresses; Ctrl-C stops everything.

    A preview of issue 15: every node runs `vigil run` against the same etcd,
    but until the controller is elected each node acts for its own resources
    only (a node that is lost is not noticed, its services do not move).
    """
    config = config_file or EXAMPLE
    if not config.exists():
        raise VigilError(f"no configuration at {config}: give one with --config (examples/demo-cluster.yaml "
                         "of vigil's source is the example)")
    click.echo("starting a 3-member etcd and 3 vigil nodes on 127.0.0.N ...")
    stopping = _stop_on_signals()
    try:
        local = LocalCluster(config, workdir=workdir, keep=keep or workdir is not None)
        with local:
            click.echo(_instructions(local))
            _watch(local, duration, stopping)
            click.echo("stopping every node (each stops its resources first), then etcd ...")
    except ClusterError as error:
        raise VigilError(str(error)) from None
    click.echo(f"everything stopped in {local.timings.get('close', 0):.1f} s"
               + (f"; logs and state kept in {local.workdir}" if local.keep else ""))


def _stop_on_signals() -> list[int]:
    """SIGINT and SIGTERM end the watch (the cluster is then closed, not left running); the list
    receives the signals seen."""
    seen: list[int] = []

    def handler(signum: int, _frame: FrameType | None) -> None:
        seen.append(signum)

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return seen


def _watch(local: LocalCluster, duration: float | None, stopping: list[int]) -> None:
    """Until a signal (or ``duration``): report a node or member that exits (someone killed it)."""
    reported: set[str] = set()
    deadline = None if duration is None else time.monotonic() + duration
    while not stopping and (deadline is None or time.monotonic() < deadline):
        for name, process in [*((m.name, m.process) for m in local.members),
                              *((n.name, n.process) for n in local.nodes)]:
            if process is not None and process.poll() is not None and name not in reported:
                reported.add(name)
                click.echo(f"{name} (pid {process.pid}) exited with {process.returncode}")
        time.sleep(0.2)


def _vigil() -> str:
    """How this vigil was called (``.venv/bin/vigil``, ``vigil``), for the commands printed."""
    argv0 = sys.argv[0] if sys.argv else ""
    return shlex.quote(argv0) if Path(argv0).name == "vigil" else "vigil"


def _instructions(local: LocalCluster) -> str:
    vigil = _vigil()
    first, second = local.nodes[0], local.nodes[1]
    lines = [f"ready in {local.timings['total']:.1f} s (etcd {local.timings['etcd']:.1f} s).", "",
             local.describe(), "", "Watch it (in another terminal):"]
    for node in local.nodes:
        lines.append(f"  {vigil} status --state-dir {shlex.quote(str(node.state_dir))}    "
                     f"# {node.name}; API {node.api_url}/api/v1/status")
    lines += [
        f"  tail -f {shlex.quote(str(first.log_path))}",
        "",
        "Break it:",
        f"  kill \"$(cut -d' ' -f1 {shlex.quote(str(first.agent_dir / 'web.pid'))})\"   "
        "# web fails; 3 times and it moves to another node",
        f"  kill \"$(cut -d' ' -f1 {shlex.quote(str(second.agent_dir / 'nova-compute.pid'))})\"   "
        f"# nova-compute on {second.name}: a light stop, a restart",
        f"  kill -9 {local.members[0].pid}    # an etcd member: the store stays writable",
        f"  kill -STOP {second.pid}; sleep 10; kill -CONT {second.pid}    # freeze {second.name}",
        f"  kill -9 {second.pid}    # {second.name} dies (its resources keep running, as on a real machine)",
        "",
        "A preview: until the controller is elected (issue 15), each node acts for its own resources",
        "only; a lost node is not noticed, so its services do not move and it is not fenced.",
        "Ctrl-C stops every node (each stops its resources), then etcd; nothing is left running.",
    ]
    return "\n".join(lines)
