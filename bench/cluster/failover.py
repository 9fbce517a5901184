"""How long failover takes on a real 3-node vigil cluster on this machine (issue 15, item 7).

    .venv/bin/python bench/cluster/failover.py                 # 10 runs of each part
    .venv/bin/python bench/cluster/failover.py --runs 10 --json failover.json
    .venv/bin/python bench/cluster/failover.py --runs 1        # a quick check (about 20 s)

Starts a :class:`vigil.testing.cluster.LocalCluster` (a 3-member etcd and
three ``vigil run`` nodes, loopback only) with one resource R
(``ocf:vigil:Service``, monitor every 2 s, stickiness 100) and a
``fence_dummy`` device per node (``pcmk_host_list``: that node; its
``status_file`` is written when it runs, so its modification time says when
the node was fenced).  The nodes are started without ``--member-ttl``: the
membership lease has vigil's default TTL (3 s) unless ``--member-ttl`` asks.

1. **Node loss.**  R is settled on a node (``vigil status`` shows it there,
   every node online, nothing pending); that node's ``vigil run`` gets kill -9.
   Measured: from the kill until R's new process is alive on another node
   (its pid file written by the start, that pid alive).  Every run checks
   that the lost node's fence device ran after the kill and *before* R
   started elsewhere (the pid file's mtime, and the logs' order); a run that
   fails the check is a safety violation and the script exits 1.  The parts
   come from the logs' timestamps (millisecond resolution): the lease expiry
   noticed (``is lost``), the fencing done (``Operation reboot of``), the
   start begun (``runs R_start_0``), then the process seen alive.  Runs
   alternate between killing the controller's node (R moved there first with
   ``vigil resource move`` then ``clear``) and another node.  After each run
   the killed node is "rebooted": the R process its agents left running (a
   real fenced machine would have lost it) is killed, its pid file removed,
   and the node restarted; the next run waits until everything settles.
2. **Monitor failure.**  R on a node that is not the controller; after a
   random wait of up to one monitor interval, R's process (the pid in its
   pid file) gets SIGKILL.  Measured: from the kill until the recovery's new
   process is alive on that node; parts from the logs (recovery planned by
   the controller, stop begun, start begun).  The monitor interval bounds
   the detection: on average half of it passes before the failed monitor.

Prints a table (median and max per part, per group) and, as context only,
reference figures from the issue that are not measured here.  Exits 0, 1 on
a safety violation, 2 when the cluster cannot be run (no etcd, no fence_dummy,
a node that does not start or settle).  See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from vigil.testing.cluster import (
    INSTALL_HINT,
    ClusterError,
    LocalCluster,
    VigilNode,
    etcd_binary,
    wait_until,
)

RESOURCE = "R"
MONITOR_S = 2
FENCE_DUMMY = Path("/usr/sbin/fence_dummy")
NODES = ("node1", "node2", "node3")
# How long a failover may take before the run counts as failed (seconds).
FAILOVER_TIMEOUT_S = 60.0
SETTLE_TIMEOUT_S = 90.0
POLL_S = 0.01
# Reference figures quoted by issue 15; never measured by this script.
REFERENCES = (
    ("Pacemaker: corosync token timeout at 3 nodes (detection only; fencing and recovery come on top)", 3.65),
    ("Patroni on etcd: its default 30 s TTL", 30.0),
)


class BenchError(Exception):
    """The benchmark cannot go on; the message says what and where to look."""


# -- observing a node --------------------------------------------------------------------------------


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie is dead)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def pid_file(node: VigilNode) -> Path:
    """R's pid file under ``node``'s own agent directory: there only when ``node``'s agent started R."""
    return node.agent_dir / f"{RESOURCE}.pid"


def service_pid(node: VigilNode) -> int | None:
    try:
        return int(pid_file(node).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def runs_here(node: VigilNode) -> bool:
    pid = service_pid(node)
    return pid is not None and alive(pid)


def mtime_ns(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def fence_mark(directory: Path, node: str) -> Path:
    return directory / f"fence-{node}.status"


def vigil_cli(node: VigilNode, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """``vigil ARGS --state-dir`` of ``node``: talks to that node's daemon (never raises on failure)."""
    return subprocess.run([sys.executable, "-m", "vigil", *args, "--state-dir", str(node.state_dir)],
                          capture_output=True, text=True, timeout=timeout, check=False)


def status(node: VigilNode) -> dict[str, Any] | None:
    """``vigil status --format json`` as ``node`` sees it; None while it does not answer."""
    if not node.running():
        return None
    try:
        run = vigil_cli(node, "status", "--format", "json")
    except subprocess.TimeoutExpired:
        return None
    if run.returncode != 0:
        return None
    with contextlib.suppress(ValueError):
        report = json.loads(run.stdout)
        if isinstance(report, dict):
            return report
    return None


def resource_nodes(report: dict[str, Any]) -> list[str]:
    found = [r for r in report.get("resources", []) if r.get("id") == RESOURCE]
    return [str(n) for n in found[0].get("nodes", [])] if found else []


def quiet(report: dict[str, Any], target: str) -> bool:
    """In the controller's ``report``: every node online, R started on ``target`` alone, the last
    transition complete and nothing pending."""
    nodes = report.get("nodes", [])
    last = report.get("last_transition") or {}
    return (len(nodes) == len(NODES) and all(n.get("online") for n in nodes)
            and resource_nodes(report) == [target] and not report.get("pending")
            and last.get("outcome") == "complete")


def monitored(report: dict[str, Any], target: str) -> bool:
    """``target``'s own report (each node lists the monitors its agent runs) shows R's monitor."""
    return any(m.get("resource") == RESOURCE and m.get("node") == target for m in report.get("monitors", []))


# -- the logs ------------------------------------------------------------------------------------------


def log_times(node: VigilNode, needle: str, since: float) -> list[float]:
    """Epoch times of ``node``'s log lines containing ``needle`` logged at or after ``since``.

    The daemon logs local time with millisecond resolution: a line is kept
    from one millisecond before ``since`` on.
    """
    found: list[float] = []
    for line in node.log().splitlines():
        if needle not in line:
            continue
        try:
            stamp = datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
        except ValueError:
            continue
        if stamp >= since - 0.001:
            found.append(stamp)
    return found


def first_logged(nodes: Sequence[VigilNode], needle: str, since: float) -> float | None:
    times = [t for node in nodes for t in log_times(node, needle, since)]
    return min(times) if times else None


# -- the cluster ---------------------------------------------------------------------------------------


def configuration(fence_dir: Path) -> str:
    devices = "".join(
        f"  - id: fence-{node}\n    agent: stonith:fence_dummy\n"
        f"    params: {{pcmk_host_list: {node}, status_file: {fence_mark(fence_dir, node)}}}\n"
        for node in NODES)
    return f"""\
options:
  stonith-enabled: true
  no-quorum-policy: stop
  cluster-recheck-interval: 1min
rsc_defaults:
  resource-stickiness: 100
nodes:
{"".join(f"  - name: {node}{chr(10)}" for node in NODES)}resources:
  - id: {RESOURCE}
    agent: ocf:vigil:Service
    ops:
      - {{name: monitor, interval: {MONITOR_S}s, timeout: 10s}}
      - {{name: stop, interval: 0, timeout: 10s}}
{devices}"""


@dataclass
class DefaultTtlNode(VigilNode):
    """A node started without ``--member-ttl``: its lease has the cluster's ``member-ttl`` (default 3 s)."""

    def command(self) -> list[str]:
        argv = super().command()
        at = argv.index("--member-ttl")
        return argv[:at] + argv[at + 2:]


def start_cluster(workdir: Path, member_ttl: int | None) -> LocalCluster:
    """The cluster, every node serving its API; the caller closes it."""
    fence_dir = workdir / "fence"
    fence_dir.mkdir(parents=True, exist_ok=True)
    cluster = LocalCluster(configuration(fence_dir), workdir=workdir / "cluster", node_names=NODES,
                           member_ttl=member_ttl or 3, start_nodes=False)
    try:
        cluster.start()
        if member_ttl is None:
            cluster.nodes = [DefaultTtlNode(**{f.name: getattr(n, f.name) for f in fields(n)})
                             for n in cluster.nodes]
        for node in cluster.nodes:
            node.spawn()
        for node in cluster.nodes:
            node.wait_ready()
    except BaseException:
        cluster.close()
        raise
    return cluster


def controller_report(cluster: LocalCluster) -> dict[str, Any] | None:
    """A running node's status, the controller's own view when it can be had."""
    for node in cluster.nodes:
        report = status(node)
        if report is not None:
            leader = report.get("controller")
            if leader and leader != node.name and cluster.node(str(leader)).running():
                return status(cluster.node(str(leader))) or report
            return report
    return None


def wait_for(what: str, condition: Callable[[], bool], timeout: float, interval: float = 0.3) -> None:
    try:
        wait_until(what, condition, timeout, interval)
    except TimeoutError as error:
        raise BenchError(str(error)) from None


def settle_on(cluster: LocalCluster, target: VigilNode) -> str:
    """R settled on ``target`` (moved there first if needed) and the cluster quiet; the controller's name."""
    def on_target() -> bool:
        report = controller_report(cluster)
        return (report is not None and resource_nodes(report) == [target.name] and runs_here(target)
                and not any(runs_here(n) for n in cluster.nodes if n is not target))

    if not on_target():
        moved = vigil_cli(target, "resource", "move", RESOURCE, target.name)
        if moved.returncode != 0:
            raise BenchError(f"vigil resource move {RESOURCE} {target.name} failed: {moved.stderr.strip()}")
        wait_for(f"{RESOURCE} to move to {target.name}", on_target, SETTLE_TIMEOUT_S)
        cleared = vigil_cli(target, "resource", "clear", RESOURCE)
        if cleared.returncode != 0:
            raise BenchError(f"vigil resource clear {RESOURCE} failed: {cleared.stderr.strip()}")
    seen: dict[str, Any] = {}

    def settled() -> bool:
        report = controller_report(cluster)
        seen["report"] = report
        if report is None or not report.get("controller") or not quiet(report, target.name):
            return False
        if not runs_here(target):
            return False
        own = report if report.get("node") == target.name else status(target)
        return own is not None and monitored(own, target.name)

    wait_for(f"{RESOURCE} to settle on {target.name}", settled, SETTLE_TIMEOUT_S)
    return str(seen["report"].get("controller"))


def wait_running_elsewhere(nodes: Sequence[VigilNode], old_pid: int | None) -> tuple[VigilNode, float]:
    """The node where R's new process is alive, and when it was seen (time.monotonic())."""
    deadline = time.monotonic() + FAILOVER_TIMEOUT_S
    while time.monotonic() < deadline:
        for node in nodes:
            pid = service_pid(node)
            if pid is not None and pid != old_pid and alive(pid):
                return node, time.monotonic()
        time.sleep(POLL_S)
    raise BenchError(f"{RESOURCE} did not run again within {FAILOVER_TIMEOUT_S:.0f} s")


def power_off_leftovers(node: VigilNode) -> None:
    """What the fencing of a real machine does and fence_dummy does not: its R process ends.

    Only R's process group, found through its pid file (ours: the cluster started it)."""
    pid = service_pid(node)
    if pid is not None and alive(pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(FileNotFoundError):
        pid_file(node).unlink()


# -- part 1: node loss ---------------------------------------------------------------------------------


@dataclass
class NodeLossRun:
    """One kill -9 of the node running R; seconds from the kill (None: not found in the logs)."""

    run: int
    killed: str
    killed_controller: bool
    successor: str
    total_s: float
    lost_s: float | None
    fenced_s: float | None
    start_begun_s: float | None
    new_controller_s: float | None
    safe: bool
    problem: str = ""


def pick_victim(cluster: LocalCluster, number: int, kill_controller: bool) -> VigilNode:
    """The controller's node, or one of the others (in turn)."""
    report = controller_report(cluster)
    if report is None or not report.get("controller"):
        raise BenchError("no node reports a controller")
    leader = str(report["controller"])
    others = [n for n in cluster.nodes if n.name != leader]
    return cluster.node(leader) if kill_controller else others[number % len(others)]


def safety_problem(fence_dir: Path, victim: VigilNode, successor: VigilNode, killed_at: float,
                   fenced_log: float | None, start_log: float | None) -> str:
    """Why this run broke "fenced before started elsewhere" ("" when it did not).

    The fence device's status file and R's pid file (written by the start on
    the successor) are compared in nanoseconds; the log lines, when both are
    there, in milliseconds (the fencing's result, the start's beginning).
    """
    fenced_ns = mtime_ns(fence_mark(fence_dir, victim.name))
    started_ns = mtime_ns(pid_file(successor))
    if fenced_ns is None or fenced_ns < int(killed_at * 1e9):
        return f"{victim.name}'s fence device did not run after the kill"
    if started_ns is None or fenced_ns >= started_ns:
        return f"{RESOURCE} started on {successor.name} before {victim.name} was fenced (pid file mtime)"
    if fenced_log is not None and start_log is not None and fenced_log > start_log:
        return f"the logs show {RESOURCE}_start_0 on {successor.name} before the fencing of {victim.name}"
    return ""


def node_loss_run(cluster: LocalCluster, fence_dir: Path, number: int, kill_controller: bool) -> NodeLossRun:
    victim = pick_victim(cluster, number, kill_controller)
    leader = settle_on(cluster, victim)
    survivors = [n for n in cluster.nodes if n is not victim]
    old_pid = service_pid(victim)
    killed_at = time.time()
    killed_mono = time.monotonic()
    victim.kill()
    successor, seen = wait_running_elsewhere(survivors, old_pid)

    def logged(nodes: Sequence[VigilNode], needle: str) -> float | None:
        """Seconds from the kill to the first such log line (None: not logged)."""
        stamp = first_logged(nodes, needle, killed_at)
        return None if stamp is None else round(stamp - killed_at, 3)

    fenced = logged(survivors, f"Operation reboot of {victim.name} ")
    start = logged([successor], f"runs {RESOURCE}_start_0")
    problem = safety_problem(fence_dir, victim, successor, killed_at,
                             None if fenced is None else killed_at + fenced,
                             None if start is None else killed_at + start)
    result = NodeLossRun(
        run=number, killed=victim.name, killed_controller=victim.name == leader, successor=successor.name,
        total_s=round(seen - killed_mono, 3), lost_s=logged(survivors, f"node {victim.name} is lost"),
        fenced_s=fenced, start_begun_s=start,
        new_controller_s=logged(survivors, "is the controller (term") if victim.name == leader else None,
        safe=not problem, problem=problem)
    # "Reboot" the lost node: its leftover R process ends, then it joins again.
    power_off_leftovers(victim)
    victim.spawn()
    victim.wait_ready()
    return result


# -- part 2: monitor failure ---------------------------------------------------------------------------


@dataclass
class MonitorRun:
    """One SIGKILL of R's process on a node that is not the controller; seconds from the kill."""

    run: int
    node: str
    total_s: float
    planned_s: float | None
    stop_begun_s: float | None
    start_begun_s: float | None
    moved: bool = False


def monitor_run(cluster: LocalCluster, number: int, rng: random.Random) -> MonitorRun:
    report = controller_report(cluster)
    if report is None or not report.get("controller"):
        raise BenchError("no node reports a controller")
    target = [n for n in cluster.nodes if n.name != str(report["controller"])][number % 2]
    leader = cluster.node(settle_on(cluster, target))
    time.sleep(rng.uniform(0, MONITOR_S))  # the kill falls anywhere in the monitor's period
    old_pid = service_pid(target)
    if old_pid is None:
        raise BenchError(f"{RESOURCE} has no pid file on {target.name}")
    killed_at = time.time()
    killed_mono = time.monotonic()
    with contextlib.suppress(ProcessLookupError):
        os.kill(old_pid, signal.SIGKILL)
    where, seen = wait_running_elsewhere(cluster.nodes, old_pid)

    def logged(node: VigilNode, needle: str) -> float | None:
        stamp = first_logged([node], needle, killed_at)
        return None if stamp is None else round(stamp - killed_at, 3)

    return MonitorRun(
        run=number, node=target.name, total_s=round(seen - killed_mono, 3),
        planned_s=logged(leader, f"Recover {RESOURCE} "),
        stop_begun_s=logged(target, f"runs {RESOURCE}_stop_0"),
        start_begun_s=logged(where, f"runs {RESOURCE}_start_0"), moved=where is not target)


# -- the report ----------------------------------------------------------------------------------------


@dataclass
class Summary:
    n: int
    median: dict[str, float | None] = field(default_factory=dict)
    max: dict[str, float | None] = field(default_factory=dict)


def summarise(rows: Sequence[Any], columns: Sequence[str]) -> Summary:
    summary = Summary(n=len(rows))
    for column in columns:
        values = [getattr(row, column) for row in rows if getattr(row, column) is not None]
        summary.median[column] = round(statistics.median(values), 3) if values else None
        summary.max[column] = round(max(values), 3) if values else None
    return summary


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


LOSS_COLUMNS = ("lost_s", "fenced_s", "start_begun_s", "total_s")
MONITOR_COLUMNS = ("planned_s", "stop_begun_s", "start_begun_s", "total_s")


def print_node_loss(runs: Sequence[NodeLossRun], ttl: str) -> dict[str, Summary]:
    print(f"\nNode loss: kill -9 of the node running {RESOURCE} -> {RESOURCE}'s new process alive on another"
          f" node, fence_dummy fencing in between; member TTL {ttl}.")
    print("Seconds after the kill: lease expiry noticed ('is lost'), fenced ('Operation reboot'),"
          " start begun ('runs R_start_0'), running (new process seen alive).")
    print(f"{'run':>3}  {'killed':<7} {'controller?':<11} {'to':<6} {'lost':>5} {'fenced':>6} {'start':>6}"
          f" {'running':>7}  safe")
    for r in runs:
        print(f"{r.run:>3}  {r.killed:<7} {'yes' if r.killed_controller else 'no':<11} {r.successor:<6}"
              f" {seconds(r.lost_s):>5} {seconds(r.fenced_s):>6} {seconds(r.start_begun_s):>6}"
              f" {seconds(r.total_s):>7}  {'yes' if r.safe else 'NO: ' + r.problem}")
    groups = {"all": list(runs), "controller's node killed": [r for r in runs if r.killed_controller],
              "another node killed": [r for r in runs if not r.killed_controller]}
    summaries = {}
    for name, rows in groups.items():
        if not rows:
            continue
        s = summaries[name] = summarise(rows, LOSS_COLUMNS)
        print(f"  {name} (n={s.n}), lost / fenced / start / running: median "
              + " / ".join(seconds(s.median[c]) for c in LOSS_COLUMNS)
              + ", max " + " / ".join(seconds(s.max[c]) for c in LOSS_COLUMNS))
    elections = [r.new_controller_s for r in runs if r.new_controller_s is not None]
    if elections:
        print(f"  a new controller elected, after the controller's node was killed: median "
              f"{statistics.median(elections):.2f} s, max {max(elections):.2f} s")
    return summaries


def print_monitor(runs: Sequence[MonitorRun]) -> Summary:
    print(f"\nMonitor failure: SIGKILL of {RESOURCE}'s process on a node that is not the controller -> the"
          f" recovery's new process alive; monitor interval {MONITOR_S} s.")
    print("Seconds after the kill: recovery planned (controller's log), stop begun, start begun (node's log),"
          " running (new process seen alive).")
    print(f"{'run':>3}  {'node':<6} {'planned':>7} {'stop':>5} {'start':>5} {'running':>7}")
    for r in runs:
        print(f"{r.run:>3}  {r.node:<6} {seconds(r.planned_s):>7} {seconds(r.stop_begun_s):>5}"
              f" {seconds(r.start_begun_s):>5} {seconds(r.total_s):>7}"
              + ("  (recovered on another node)" if r.moved else ""))
    s = summarise(runs, MONITOR_COLUMNS)
    print(f"  all (n={s.n}), planned / stop / start / running: median "
          + " / ".join(seconds(s.median[c]) for c in MONITOR_COLUMNS)
          + ", max " + " / ".join(seconds(s.max[c]) for c in MONITOR_COLUMNS))
    return s


def print_references(failover_median: float | None) -> None:
    print("\nReference figures quoted by issue 15 (NOT measured here, other systems, for context only):")
    for what, figure in REFERENCES:
        ratio = (f"; measured failover median / this = {failover_median / figure:.2f}"
                 if failover_median else "")
        print(f"  {what}: {figure:g} s{ratio}")


def machine(load_before: tuple[float, float, float]) -> dict[str, object]:
    """What the figures depend on; the load averages say whether other work shared the cores."""
    return {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "date": datetime.date.today().isoformat(), "load_average_before": load_before,
            "load_average_after": os.getloadavg()}


# -- main ----------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10, help="runs of each part (default 10)")
    parser.add_argument("--part", choices=("both", "node-loss", "monitor"), default="both")
    parser.add_argument("--member-ttl", type=int, default=None, metavar="SECONDS",
                        help="pass --member-ttl to every node (default: not passed, vigil's default 3 s)")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="write every run here")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep the cluster's directories and logs here (default: a temporary one,"
                        " removed)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the waits before the monitor kills")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error(f"--runs must be at least 1, not {args.runs}")
    if args.member_ttl is not None and args.member_ttl < 2:
        parser.error(f"--member-ttl must be at least 2 (etcd's shortest lease), not {args.member_ttl}")
    return args


def preflight() -> None:
    if etcd_binary() is None:
        raise BenchError(f"no etcd server binary: {INSTALL_HINT}")
    if not FENCE_DUMMY.exists():
        raise BenchError(f"no {FENCE_DUMMY}: install Debian's fence-agents (the benchmark fences with it)")


def run(args: argparse.Namespace, workdir: Path) -> int:
    rng = random.Random(args.seed)
    load_before = os.getloadavg()
    cluster = start_cluster(workdir, args.member_ttl)
    loss: list[NodeLossRun] = []
    monitor: list[MonitorRun] = []
    try:
        print(f"cluster ready; its logs are under {cluster.workdir}", flush=True)
        for number in range(1, args.runs + 1 if args.part in ("both", "node-loss") else 1):
            # Odd runs kill the controller's node, even runs another node.
            lost = node_loss_run(cluster, workdir / "fence", number, kill_controller=number % 2 == 1)
            loss.append(lost)
            print(f"  node loss {number}/{args.runs}: killed {lost.killed} -> {lost.successor} in"
                  f" {lost.total_s:.2f} s" + ("" if lost.safe else f"  SAFETY VIOLATION: {lost.problem}"),
                  flush=True)
        for number in range(1, args.runs + 1 if args.part in ("both", "monitor") else 1):
            failed = monitor_run(cluster, number, rng)
            monitor.append(failed)
            print(f"  monitor failure {number}/{args.runs}: {failed.node} in {failed.total_s:.2f} s",
                  flush=True)
    finally:
        cluster.close()
    ttl = f"{args.member_ttl} s (--member-ttl)" if args.member_ttl else "3 s (vigil's default)"
    report: dict[str, object] = {"machine": machine(load_before), "member_ttl": ttl,
                                 "monitor_interval_s": MONITOR_S}
    median = None
    if loss:
        summaries = print_node_loss(loss, ttl)
        median = summaries["all"].median["total_s"]
        report["node_loss"] = {"runs": [asdict(r) for r in loss],
                               "summary": {k: asdict(v) for k, v in summaries.items()}}
    if monitor:
        report["monitor_failure"] = {"runs": [asdict(r) for r in monitor],
                                     "summary": asdict(print_monitor(monitor))}
    print_references(median)
    print(f"\nload average (1 min) before / after: {load_before[0]:.1f} / {os.getloadavg()[0]:.1f}"
          f" on {os.cpu_count()} cores")
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nevery run written to {args.json}")
    unsafe = [r for r in loss if not r.safe]
    if unsafe:
        print(f"\nSAFETY VIOLATION in {len(unsafe)} run(s): " + "; ".join(r.problem for r in unsafe),
              file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    own = args.workdir is None
    workdir = Path(args.workdir or Path(os.environ.get("TMPDIR", "/tmp")) / f"vigil-failover-{os.getpid()}")
    try:
        preflight()
        workdir.mkdir(parents=True, exist_ok=True)
        return run(args, workdir)
    except (BenchError, ClusterError) as error:
        print(f"failover benchmark: {error}", file=sys.stderr)
        if own and any(workdir.glob("cluster/*/vigil.log")):
            print(f"(the cluster's logs are kept in {workdir / 'cluster'})", file=sys.stderr)
            own = False
        return 2
    finally:
        if own:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
