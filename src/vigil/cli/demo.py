"""``vigil demo cluster``: a 3-node vigil cluster on this machine, to watch and to break.

Why a command: a cluster needs an etcd of several members and a ``vigil
run`` per node, each with its own addresses, state directory and agent
runtime directory; getting that right by hand takes a page of commands.  The
demo uses the test harness (:class:`vigil.testing.cluster.LocalCluster`), so
what people try is what the tests run: everything on loopback addresses
(127.0.0.N), started and ended by PID, nothing left behind after Ctrl-C.

The configuration names its fence devices' status files under ``$WORKDIR``:
the demo writes a copy with its working directory filled in
(``WORKDIR/cluster.yaml``) and starts the nodes with that copy, so two demo
runs never share a fence device's state.
"""

from __future__ import annotations

import re
import shlex
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

import click

from vigil.cli.demo_watch import Picture, Watcher
from vigil.errors import VigilError
from vigil.fencing.agent import FENCE_AGENT_DIR
from vigil.testing.cluster import ClusterError, LocalCluster, VigilNode

# examples/demo-cluster.yaml of a source checkout (the demo is run from one, as `make run` is).
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "demo-cluster.yaml"
# What the configuration writes where the demo's working directory goes.
PLACEHOLDER = "$WORKDIR"
# A working directory the configuration can hold as it is (no quoting in YAML or XML).
PLAIN_PATH = re.compile(r"[A-Za-z0-9._/+-]+")
FENCE_AGENT = re.compile(r"stonith:([A-Za-z0-9_.+-]+)")
# vigil's default member-ttl: a lost node is noticed this many seconds after it went silent.
MEMBER_TTL_S = 3
# How long the demo waits for the cluster to settle (controller elected, every start done) before it
# says how to break it anyway.
SETTLE_TIMEOUT_S = 60.0
LOOK_EVERY_S = 0.5


@click.group()
def demo() -> None:
    """Demonstrations that run on this machine alone."""


@demo.command("cluster")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              default=None,
              help="The configuration the nodes start with (default: examples/demo-cluster.yaml); "
                   "$WORKDIR in it is replaced by the working directory.")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="A new or empty directory for the etcd data, state directories, logs and fence "
                   "status files (default: a new directory in /tmp, removed at the end unless --keep).")
@click.option("--keep", is_flag=True, help="Keep the working directory (logs, state) after stopping.")
@click.option("--duration", type=click.FloatRange(min=0), default=None, metavar="SECONDS",
              help="Stop by itself SECONDS after the cluster settled (default: run until Ctrl-C).")
def cluster(config_file: Path | None, workdir: Path | None, keep: bool, duration: float | None) -> None:
    """Start a 3-member etcd and 3 vigil nodes on loopback addresses, say how to watch and break
    them, and report what the cluster does; Ctrl-C stops everything.

    One node is elected controller; a node that is lost (killed, frozen, cut off from etcd) is
    fenced (fence_dummy, a stand-in for a power switch) before its resources start elsewhere.
    """
    config = config_file or EXAMPLE
    if not config.exists():
        raise VigilError(f"no configuration at {config}: give one with --config (examples/demo-cluster.yaml "
                         "of vigil's source is the example)")
    text = config.read_text()
    _check_fence_agents(text, config)
    directory = _working_directory(workdir, text, config)
    try:
        (directory / "fence").mkdir(exist_ok=True)
        _run(text.replace(PLACEHOLDER, str(directory)), directory, duration)
    finally:
        if workdir is None and not keep:
            shutil.rmtree(directory, ignore_errors=True)
    kept = keep or workdir is not None
    if kept:
        click.echo(f"logs, state and fence status files kept in {directory}")


def _check_fence_agents(text: str, config: Path) -> None:
    """Every ``stonith:NAME`` the configuration uses is installed, else a clear error before
    anything starts (the nodes would refuse the configuration, each in its own log)."""
    missing = sorted({name for name in FENCE_AGENT.findall(text) if not (FENCE_AGENT_DIR / name).is_file()})
    if missing:
        raise VigilError(f"{config} uses the fence agent {', '.join(missing)}, which is not in "
                         f"{FENCE_AGENT_DIR}: install Debian's fence-agents package "
                         "(apt-get install fence-agents: fence_dummy and most fence agents)")


def _working_directory(workdir: Path | None, text: str, config: Path) -> Path:
    """``workdir`` (new or empty; created) or a new directory in /tmp: one the configuration can
    name where it says ``$WORKDIR``, checked before anything is created."""
    directory = workdir.resolve() if workdir is not None else Path(tempfile.gettempdir()).resolve()
    if PLACEHOLDER in text and not PLAIN_PATH.fullmatch(str(directory)):
        raise VigilError(f"the working directory {directory} has characters {config} cannot hold "
                         f"unquoted where it says {PLACEHOLDER}: give a --workdir of letters, digits "
                         "and . _ / + - only")
    if workdir is None:
        return Path(tempfile.mkdtemp(prefix="vigil-demo-", dir=directory))
    if directory.exists() and any(directory.iterdir()):
        raise VigilError(f"the working directory {directory} is not empty: give a new or empty one "
                         "(the demo's etcd starts from empty data)")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _run(configuration: str, directory: Path, duration: float | None) -> None:
    click.echo("starting a 3-member etcd and 3 vigil nodes on 127.0.0.N ...")
    stopping = _stop_on_signals()
    try:
        local = LocalCluster(configuration, workdir=directory, keep=True, member_ttl=MEMBER_TTL_S)
        with local:
            watcher = Watcher(local, directory / "fence")
            try:
                began = time.monotonic()
                picture = _settle(watcher, stopping)
                if not stopping:
                    click.echo(_instructions(local, picture, time.monotonic() - began))
                    _watch(watcher, duration, stopping)
            finally:
                watcher.close()
            click.echo("stopping every node (each stops its resources first), then etcd ...")
    except ClusterError as error:
        raise VigilError(str(error)) from None
    click.echo(f"everything stopped in {local.timings.get('close', 0):.1f} s")


def _stop_on_signals() -> list[int]:
    """SIGINT and SIGTERM end the watch (the cluster is then closed, not left running); the list
    receives the signals seen."""
    seen: list[int] = []

    def handler(signum: int, _frame: FrameType | None) -> None:
        seen.append(signum)

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return seen


def _settle(watcher: Watcher, stopping: list[int]) -> Picture:
    """Look until the cluster has a controller and nothing left to do (bounded); the last look."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    picture = watcher.look()
    while not picture.settled and not stopping and time.monotonic() < deadline:
        time.sleep(LOOK_EVERY_S)
        picture = watcher.look()
    watcher.changes(picture)  # the starting point of what is reported
    return picture


def _watch(watcher: Watcher, duration: float | None, stopping: list[int]) -> None:
    """Until a signal (or ``duration``): a line for each change the watcher sees."""
    deadline = None if duration is None else time.monotonic() + duration
    while not stopping and (deadline is None or time.monotonic() < deadline):
        for line in watcher.changes(watcher.look()):
            click.echo(line)
        time.sleep(LOOK_EVERY_S)


def _vigil() -> str:
    """How this vigil was called (``.venv/bin/vigil``, ``vigil``), for the commands printed."""
    argv0 = sys.argv[0] if sys.argv else ""
    return shlex.quote(argv0) if Path(argv0).name == "vigil" else "vigil"


def _state_dir(node: VigilNode) -> str:
    return shlex.quote(str(node.state_dir))


def _instructions(local: LocalCluster, picture: Picture, settle_s: float) -> str:
    vigil = _vigil()
    lines = [f"ready in {local.timings['total']:.1f} s (etcd {local.timings['etcd']:.1f} s), "
             + (f"settled {settle_s:.1f} s later." if picture.settled
                else f"not settled after {settle_s:.0f} s (see the nodes' logs)."),
             _summary(picture), "", local.describe(),
             f"  fence devices' status files in {local.workdir / 'fence'} (written when a node is fenced)",
             "", "Watch it (in another terminal; each node shows the whole cluster):"]
    for node in local.nodes:
        lines.append(f"  {vigil} status --state-dir {_state_dir(node)}    # {node.name}")
    watched = _pick(local, picture.controller)
    lines += [f"  watch -n1 {vigil} status --state-dir {_state_dir(watched)}",
              f"  tail -f {' '.join(shlex.quote(str(n.log_path)) for n in local.nodes)}",
              f"  cat {shlex.quote(str(local.workdir / 'fence'))}/*.status    # off/on: the last fencing",
              "This terminal says what changes: the controller, nodes' states, where each resource "
              "runs, fencing.", "", *_breaking(local, picture, vigil), "",
              "Ctrl-C stops every node (each stops its resources), then etcd; nothing is left running."]
    return "\n".join(lines)


def _summary(picture: Picture) -> str:
    placed = "; ".join(f"{rsc} on {', '.join(nodes) if nodes else 'no node'}"
                       for rsc, nodes in picture.placement.items())
    return f"controller: {picture.controller or 'none yet'}; {placed}"


def _pick(local: LocalCluster, name: str | None, *avoid: str | None) -> VigilNode:
    """Node ``name`` if there is one, else the first node not in ``avoid``."""
    for node in local.nodes:
        if node.name == name:
            return node
    return next((node for node in local.nodes if node.name not in avoid), local.nodes[0])


def _breaking(local: LocalCluster, picture: Picture, vigil: str) -> list[str]:
    """What to try, one at a time, with the nodes of this run: the one running web, the
    controller, and one that is neither."""
    web_nodes = picture.placement.get("web") or ()
    web = _pick(local, web_nodes[0] if web_nodes else None)
    controller = _pick(local, picture.controller, web.name)
    spare = _pick(local, None, web.name, controller.name)
    fence_file = shlex.quote(str(local.workdir / "fence" / f"{web.name}.status"))
    lines = [
        "Break it (one thing at a time; a node that died stays dead: run the demo again for a fresh "
        "cluster):",
        f"  kill -9 {web.pid}    # {web.name}, which runs web: {MEMBER_TTL_S} s later its membership "
        "lease expires,",
        f"      the controller fences it ({fence_file} is written), then web starts on another node,",
        "      all within a few seconds.  fence_dummy powers nothing off: the killed node's agents keep",
        "      running (a real power switch would end them; the demo ends them at Ctrl-C).",
        f"  kill -STOP {spare.pid}; sleep 10; kill -CONT {spare.pid}    # {spare.name} frozen past its "
        "lease: fenced, its",
        "      clone instance counted as stopped; awake, it finds its lease expired, acts on nothing of",
        "      before, and joins again (its compute stack starts again).",
        f"  {vigil} node standby {web.name} --state-dir {_state_dir(spare)}    # web moves away, "
        f"{web.name}'s compute stack",
        f"      stops; no fencing.  {vigil} node online {web.name} --state-dir {_state_dir(spare)} "
        "brings it back.",
    ]
    if controller is not web:
        lines += [f"  kill -9 {controller.pid}    # {controller.name}, the controller: another node takes "
                  f"over (the leader key) and",
                  f"      nothing restarts on the others; {controller.name} itself is fenced, as any "
                  "lost node."]
    else:
        lines += [f"  ({web.name} is also the controller: killing it, another node takes over as "
                  "controller as well.)"]
    lines += [
        f"  kill \"$(cut -d' ' -f1 {shlex.quote(str(web.agent_dir / 'web.pid'))})\"    # web's process "
        "fails: restarted in place; the third time, it moves",
        f"  kill -9 {local.members[0].pid}    # an etcd member: the store stays writable, nothing moves",
    ]
    return lines
