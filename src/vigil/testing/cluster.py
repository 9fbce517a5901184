"""A whole vigil cluster on one machine, on loopback only: etcd members, vigil nodes, cuttable links.

Why: a cluster resource manager is only tested by losing machines, links
and the store's members while it runs.  :class:`LocalCluster` starts, as real
processes on ``127.0.0.N`` addresses (never outside ``127.0.0.0/8``, never
etcd's default port 2379, no network namespaces):

- a 3-member etcd (Debian's ``/usr/bin/etcd``, or ``etcd`` on PATH), each
  member on its own address (``127.0.0.11``, ``.12``, ``.13``) with free
  ports and its own data directory, ready-checked through every member's
  ``/health`` (a quorum read, what ``etcdctl endpoint health`` asks);
  :class:`EtcdMember` kills (SIGKILL), pauses (SIGSTOP), resumes (SIGCONT),
  stops and restarts one member;
- N vigil nodes (``vigil run`` through ``python -m vigil``, so no import of
  the daemon here), node K on ``127.0.0.(20+K)``, each with its own state
  directory, its own agent runtime directory (``TMPDIR``, ``HA_RSCTMP`` and ``HA_VARRUN``
  per node: two nodes' ``ocf:vigil:*`` and ``ocf:heartbeat:Dummy`` state
  files never collide) and its own log file; :class:`VigilNode` kills (kill
  -9), pauses, resumes, stops gracefully and restarts it;
- a TCP proxy per node↔etcd-member link, on the node's own address: node K
  reaches the store only through its three proxies, so a test can cut one
  node off the store while the others keep it (:meth:`LocalCluster.cut`:
  ``pass``, ``drop`` — close every connection, reset new ones at once —,
  ``blackhole`` — accept, forward nothing, hold what was sent —, and heal).

Everything it starts is ended by PID when the ``with`` block ends, a
failing test included: the members and nodes it spawned, and every process
their agents left behind (found by a tag in their environment, which agents
inherit, so a node killed with ``kill -9`` leaves nothing running).
:meth:`LocalCluster.stray_processes` says what is still alive.

Use::

    with LocalCluster(Path("cluster.yaml")) as cluster:   # nodes node1..node3
        cluster.cut("node2", "drop")          # node2 loses etcd; cluster.heal("node2")
        cluster.leader().kill()               # etcd's raft leader dies
        cluster.node("node1").kill()          # kill -9; .pause(), .resume(), .restart()
        cluster.store_url()                   # etcd://127.0.0.11:P,...: the store, direct

Measured here (2 cores shared with other work, Debian's etcd 3.4.23, Python
3.11; 8 runs, min / median / max): the 3-member etcd is healthy 0.33 / 1.36 /
2.07 s after the spawn (the spread is raft's first, randomised election);
3 vigil nodes started together serve their API 1.26 / 1.37 / 1.48 s after
that; the whole cluster is ready 1.63 / 2.62 / 3.55 s after ``__enter__``;
``close()``, every node stopping its resources gracefully, takes 0.49 / 0.58 /
0.69 s.  Through the proxies, a dropped link makes a store call fail at once
(gRPC: connection reset), and the first call after the heal works within
about 1 s (gRPC's reconnect back-off); a blackholed link fails a call only
after gRPC's keepalive gives up (7 s, the store's channel options).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from vigil.testing.link_proxy import LinkMode, LinkProxy, ProxyHub

# The environment variable every process the cluster starts carries (agents inherit it), so that
# cleanup finds what a killed node's agents left running, and ends exactly those, by PID.
TAG_VARIABLE = "VIGIL_LOCAL_CLUSTER"
# Ports never used: etcd's defaults, where a packaged etcd.service may listen.
RESERVED_PORTS = frozenset({2379, 2380})
INSTALL_HINT = "install Debian's etcd-server (scripts/install-test-deps.sh does) or put etcd on PATH"


class ClusterError(RuntimeError):
    """Something of the local cluster did not start or did not stop; the message says what and
    ends with the tail of its log."""


def etcd_binary() -> str | None:
    """``etcd`` on PATH, else Debian's ``/usr/bin/etcd``; None when there is neither."""
    found = shutil.which("etcd")
    if found:
        return found
    return "/usr/bin/etcd" if os.access("/usr/bin/etcd", os.X_OK) else None


def free_port(host: str) -> int:
    """A TCP port free on ``host`` now (the kernel's choice), never one of etcd's defaults."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
        if port not in RESERVED_PORTS:
            return port


def loopback(last: int) -> str:
    """``127.0.0.LAST``: every address the cluster uses is one of these, so nothing leaves the machine."""
    if not 1 <= last <= 254:
        raise ValueError(f"127.0.0.{last} is not a loopback host address")
    return f"127.0.0.{last}"


def wait_until(what: str, condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> None:
    """Poll ``condition`` until it holds, at most ``timeout`` seconds (every wait here is bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.1f} s waiting for {what}")
        time.sleep(interval)


def _tail(path: Path, size: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-size:]
    except OSError:
        return ""


def _signal(process: subprocess.Popen[bytes] | None, signum: int) -> bool:
    """Send ``signum`` to ``process`` by its PID, if it is ours and still running."""
    if process is None or process.poll() is not None:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signum)
        return True
    return False


def _end(process: subprocess.Popen[bytes] | None, grace: float, *, signalled: bool = False) -> None:
    """SIGCONT (a paused process cannot stop), SIGTERM, wait ``grace`` s, then SIGKILL; reaped.

    ``signalled``: SIGTERM was sent already (a second one would tell vigil to stop at once,
    leaving its resources running)."""
    if process is None or process.poll() is not None:
        return
    if not signalled:
        _signal(process, signal.SIGCONT)
        _signal(process, signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        _signal(process, signal.SIGKILL)
        process.wait(10)


# -- etcd members ------------------------------------------------------------------------------


class _Signalled:
    """What a test does to a machine's process: kill it, freeze it, thaw it (by PID, never by name).

    SIGKILL is a machine that dies (a vigil node's agents keep running, as
    they would); SIGSTOP one that freezes, alive but silent (no RST is sent,
    a node's lease keepalives stop).
    """

    process: subprocess.Popen[bytes] | None
    paused: bool

    def kill(self) -> None:
        if _signal(self.process, signal.SIGKILL):
            assert self.process is not None
            self.process.wait(10)
        self.paused = False

    def pause(self) -> None:
        if _signal(self.process, signal.SIGSTOP):
            self.paused = True

    def resume(self) -> None:
        if _signal(self.process, signal.SIGCONT):
            self.paused = False


@dataclass
class EtcdMember(_Signalled):
    """One member of the local etcd cluster: its address, ports, data directory and process."""

    name: str
    host: str
    client_port: int
    peer_port: int
    data_dir: Path
    log_path: Path
    binary: str
    initial_cluster: str = ""
    token: str = ""
    env: Mapping[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    paused: bool = False
    started_once: bool = False

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.client_port}"

    @property
    def client_url(self) -> str:
        return f"http://{self.endpoint}"

    @property
    def peer_url(self) -> str:
        return f"http://{self.host}:{self.peer_port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def spawn(self) -> None:
        """Start the member (again, after a kill: the same data directory, ``existing`` state)."""
        if self.running():
            return
        state = "existing" if self.started_once else "new"
        argv = [
            self.binary, "--name", self.name, "--data-dir", str(self.data_dir),
            "--listen-client-urls", self.client_url, "--advertise-client-urls", self.client_url,
            "--listen-peer-urls", self.peer_url, "--initial-advertise-peer-urls", self.peer_url,
            "--initial-cluster", self.initial_cluster, "--initial-cluster-state", state,
            "--initial-cluster-token", self.token,
            # Short raft timers: a lost leader is replaced in about a second (etcd.md measured 1.2-1.7 s).
            "--heartbeat-interval", "100", "--election-timeout", "1000",
        ]
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, env=dict(self.env),
                                            start_new_session=True)
        self.started_once = True
        self.paused = False

    def healthy(self) -> bool:
        """The member answers ``/health`` with ``true``: it has a leader and serves a quorum read."""
        if not self.running() or self.paused:
            return False
        try:
            with urllib.request.urlopen(f"{self.client_url}/health", timeout=1) as reply:
                return b'"true"' in reply.read()
        except (OSError, ValueError):
            return False

    def wait_healthy(self, timeout: float = 20.0) -> None:
        def ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise ClusterError(f"etcd member {self.name} exited with {self.process.returncode}:\n"
                                   f"{_tail(self.log_path)}")
            return self.healthy()

        try:
            wait_until(f"etcd member {self.name} to be healthy", ready, timeout)
        except TimeoutError as error:
            raise ClusterError(f"{error}:\n{_tail(self.log_path)}") from None

    def stop(self, grace: float = 10.0) -> None:
        """A graceful stop by PID (SIGTERM), SIGKILL after ``grace`` s."""
        _end(self.process, grace)
        self.paused = False

    def restart(self, timeout: float = 20.0) -> None:
        """Start the member again on its data directory and wait until it is healthy."""
        self.stop()
        self.spawn()
        self.wait_healthy(timeout)


# -- vigil nodes -------------------------------------------------------------------------------------


@dataclass
class VigilNode(_Signalled):
    """One ``vigil run`` process: node ``name`` on ``host``, its directories, its links to etcd."""

    name: str
    host: str
    port: int
    workdir: Path
    config_file: Path | None
    store_url: str
    tag: str
    member_ttl: int
    base_env: Mapping[str, str]
    links: list[LinkProxy] = field(default_factory=list)
    extra_args: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = None
    paused: bool = False

    @property
    def state_dir(self) -> Path:
        return self.workdir / "state"

    @property
    def tmp_dir(self) -> Path:
        """The node's TMPDIR: ``ocf:vigil:*`` agents keep their state in ``TMPDIR/vigil-agents-UID``."""
        return self.workdir / "tmp"

    @property
    def agent_dir(self) -> Path:
        return self.tmp_dir / f"vigil-agents-{os.getuid()}"

    @property
    def rsc_tmp(self) -> Path:
        """The node's ``HA_RSCTMP``: where ``ocf:heartbeat:*`` agents keep their state files."""
        return self.workdir / "rsctmp"

    @property
    def log_path(self) -> Path:
        return self.workdir / "vigil.log"

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def command(self) -> list[str]:
        argv = [sys.executable, "-m", "vigil", "run", "--store", self.store_url, "--node", self.name,
                "--state-dir", str(self.state_dir), "--listen", f"{self.host}:{self.port}",
                "--member-ttl", str(self.member_ttl)]
        if self.config_file is not None:
            argv += ["--config", str(self.config_file)]
        return [*argv, *self.extra_args]

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in self.base_env.items() if k not in ("VIGIL_STORE", "VIGIL_STATE_DIR")}
        # HA_VARRUN too: agents such as ocf:pacemaker:Stateful keep their state there (each
        # machine has its own /var/run).
        env.update({"TMPDIR": str(self.tmp_dir), "HA_RSCTMP": str(self.rsc_tmp),
                    "HA_VARRUN": str(self.rsc_tmp), TAG_VARIABLE: self.tag})
        return env

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def spawn(self) -> None:
        """Start ``vigil run`` (its output appended to :attr:`log_path`); see :meth:`wait_ready`."""
        if self.running():
            return
        for directory in (self.workdir, self.tmp_dir, self.rsc_tmp):
            directory.mkdir(parents=True, exist_ok=True)
        with suppress_missing():
            (self.state_dir / "api.json").unlink()  # a kill -9 leaves it; ready means written anew
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, env=self.environment(),
                                            start_new_session=True)
        self.paused = False

    def serving(self) -> bool:
        """The daemon wrote its API address (it does so once its controller runs) and answers."""
        if not self.running():
            return False
        if not (self.state_dir / "api.json").exists():
            return False
        try:
            with urllib.request.urlopen(f"{self.api_url}/healthz", timeout=1) as reply:
                return bool(reply.status == 200)
        except urllib.error.HTTPError as error:
            return error.code == 503  # serving, but its store does not record now
        except OSError:
            return False

    def wait_ready(self, timeout: float = 30.0) -> None:
        def ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise ClusterError(f"vigil node {self.name} exited with {self.process.returncode}:\n"
                                   f"{_tail(self.log_path)}")
            return self.serving()

        try:
            wait_until(f"vigil node {self.name} to serve its API", ready, timeout)
        except TimeoutError as error:
            raise ClusterError(f"{error}:\n{_tail(self.log_path)}") from None

    def health(self) -> tuple[int, dict[str, object]]:
        """``GET /healthz``: (HTTP status, body); 503 while the node's store does not record."""
        try:
            with urllib.request.urlopen(f"{self.api_url}/healthz", timeout=5) as reply:
                return reply.status, dict(json.loads(reply.read()))
        except urllib.error.HTTPError as error:
            return error.code, dict(json.loads(error.read() or b"{}"))

    def stop(self, grace: float = 30.0) -> int | None:
        """The graceful stop (SIGTERM: every resource here stopped in order), SIGKILL after ``grace`` s."""
        _end(self.process, grace)
        self.paused = False
        return self.process.returncode if self.process is not None else None

    def restart(self, timeout: float = 30.0) -> None:
        self.stop()
        self.spawn()
        self.wait_ready(timeout)

    def log(self) -> str:
        return _tail(self.log_path, 100_000)

    def cut(self, mode: LinkMode = "drop") -> None:
        """Set every link of this node to etcd to ``mode``."""
        for link in self.links:
            link.set(mode)

    def heal(self) -> None:
        self.cut("pass")


@contextlib.contextmanager
def suppress_missing() -> Iterator[None]:
    with contextlib.suppress(FileNotFoundError):
        yield


# -- the cluster -----------------------------------------------------------------------------------


class LocalCluster:
    """A 3-member etcd, N vigil nodes and the links between them, on loopback; a context manager.

    ``config`` (a path, or the text of a YAML/CIB configuration written to
    ``workdir/cluster.yaml``) is what every node is started with.  ``node_names``
    are the ``--node`` names, node K (from 1) on ``127.0.0.(node_base+K)``;
    the members on ``127.0.0.(member_base+K)``.  ``member_ttl`` is each
    node's ``--member-ttl``.  ``workdir`` defaults to a new temporary
    directory, removed at the end unless ``keep=True`` (its logs help after a
    failure).  ``start_nodes=False`` starts only etcd and the proxies.
    """

    def __init__(self, config: Path | str | None = None, *, workdir: Path | None = None,
                 node_names: Sequence[str] = ("node1", "node2", "node3"), members: int = 3,
                 member_base: int = 10, node_base: int = 20, member_ttl: int = 5,
                 cluster_name: str | None = None, env: Mapping[str, str] | None = None,
                 extra_args: Sequence[str] = (), keep: bool = False, start_nodes: bool = True,
                 ready_timeout: float = 40.0) -> None:
        binary = etcd_binary()
        if binary is None:
            raise ClusterError(f"no etcd server binary: {INSTALL_HINT}")
        self._own_workdir = workdir is None
        self.workdir = workdir if workdir is not None else Path(tempfile.mkdtemp(prefix="vigil-cluster-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.keep = keep
        self.tag = uuid.uuid4().hex
        self.cluster_name = cluster_name or f"local-{self.tag[:8]}"
        self.start_nodes = start_nodes
        self.ready_timeout = ready_timeout
        base_env = dict(os.environ if env is None else env)
        base_env[TAG_VARIABLE] = self.tag
        self.env = base_env
        token = f"vigil-{self.tag[:12]}"
        self.members: list[EtcdMember] = []
        for index in range(1, members + 1):
            host = loopback(member_base + index)
            self.members.append(EtcdMember(
                name=f"etcd{index}", host=host, client_port=free_port(host), peer_port=free_port(host),
                data_dir=self.workdir / "etcd" / f"etcd{index}",
                log_path=self.workdir / "etcd" / f"etcd{index}.log",
                binary=binary, token=token, env=base_env))
        initial = ",".join(f"{m.name}={m.peer_url}" for m in self.members)
        for member in self.members:
            member.initial_cluster = initial
        self.config_file: Path | None
        if isinstance(config, str):
            self.config_file = self.workdir / "cluster.yaml"
            self.config_file.write_text(config)
        else:
            self.config_file = config
        self.hub: ProxyHub | None = None
        self.nodes: list[VigilNode] = []
        self._node_names = tuple(node_names)
        self._node_base = node_base
        self._member_ttl = member_ttl
        self._extra_args = tuple(extra_args)
        self.timings: dict[str, float] = {}

    # -- life ------------------------------------------------------------------------------------

    def __enter__(self) -> LocalCluster:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def start(self) -> None:
        """Start etcd, the link proxies and (unless ``start_nodes=False``) every node; wait until ready.

        The times taken are in :attr:`timings` (``etcd``, ``nodes``, ``total``, in seconds)."""
        began = time.monotonic()
        for member in self.members:
            (member.data_dir.parent).mkdir(parents=True, exist_ok=True)
            member.spawn()
        for member in self.members:
            member.wait_healthy()
        self.timings["etcd"] = time.monotonic() - began
        self.hub = ProxyHub()
        for index, name in enumerate(self._node_names, start=1):
            host = loopback(self._node_base + index)
            links = [self.hub.add(host, (m.host, m.client_port)) for m in self.members]
            url = f"etcd://{','.join(link.endpoint for link in links)}/{self.cluster_name}"
            self.nodes.append(VigilNode(
                name=name, host=host, port=free_port(host), workdir=self.workdir / name,
                config_file=self.config_file, store_url=url, tag=self.tag, member_ttl=self._member_ttl,
                base_env=self.env, links=links, extra_args=self._extra_args))
        if self.start_nodes:
            nodes_began = time.monotonic()
            for node in self.nodes:
                node.spawn()
            for node in self.nodes:
                node.wait_ready(self.ready_timeout)
            self.timings["nodes"] = time.monotonic() - nodes_began
        self.timings["total"] = time.monotonic() - began

    def close(self, grace: float = 20.0) -> None:
        """End everything this cluster started, by PID: nodes (gracefully, in parallel: each stops
        its resources), what their agents left running, the proxies, the members.  Idempotent."""
        began = time.monotonic()
        for node in self.nodes:  # all at once: each node's graceful stop runs beside the others'
            _signal(node.process, signal.SIGCONT)
            _signal(node.process, signal.SIGTERM)
        for node in self.nodes:
            _end(node.process, max(0.5, grace - (time.monotonic() - began)), signalled=True)
            node.paused = False
        self._end_strays()
        if self.hub is not None:
            self.hub.close()
        for member in self.members:
            member.stop()
        self._end_strays()
        self.timings["close"] = time.monotonic() - began
        if self._own_workdir and not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def stray_processes(self) -> list[int]:
        """PIDs of live processes carrying this cluster's tag (started by its members, nodes or
        their agents), zombies excluded; empty once :meth:`close` has run."""
        needle = f"{TAG_VARIABLE}={self.tag}".encode()
        found: list[int] = []
        me = os.getpid()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == me:
                continue
            try:
                environ = (entry / "environ").read_bytes()
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if needle in environ.split(b"\0") and stat.rpartition(")")[2].split()[0] != "Z":
                found.append(int(entry.name))
        return sorted(found)

    def _end_strays(self) -> None:
        for _attempt in range(3):
            strays = self.stray_processes()
            if not strays:
                return
            for pid in strays:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGCONT)
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(TimeoutError):
                wait_until("stray processes to end", lambda: not self.stray_processes(), 3)

    # -- access ----------------------------------------------------------------------------------

    def node(self, name: str) -> VigilNode:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def member(self, name: str) -> EtcdMember:
        for member in self.members:
            if member.name == name:
                return member
        raise KeyError(name)

    @property
    def endpoints(self) -> str:
        """Every member's client endpoint, direct (no proxy): ``h:p,h:p,h:p``."""
        return ",".join(member.endpoint for member in self.members)

    def store_url(self, node: str | None = None) -> str:
        """The store's URL: direct to the members, or through ``node``'s links (what that node uses)."""
        if node is not None:
            return self.node(node).store_url
        return f"etcd://{self.endpoints}/{self.cluster_name}"

    def cut(self, node: str, mode: LinkMode = "drop", member: str | None = None) -> None:
        """Set ``node``'s links to etcd (only the one to ``member`` when given) to ``mode``."""
        target = self.node(node)
        if member is None:
            target.cut(mode)
            return
        target.links[[m.name for m in self.members].index(member)].set(mode)

    def heal(self, node: str, member: str | None = None) -> None:
        self.cut(node, "pass", member)

    def leader(self) -> EtcdMember | None:
        """The member that is etcd's raft leader now (from each member's ``/v3/maintenance/status``)."""
        for member in self.members:
            if not member.running() or member.paused:
                continue
            try:
                request = urllib.request.Request(f"{member.client_url}/v3/maintenance/status", data=b"{}",
                                                 method="POST")
                with urllib.request.urlopen(request, timeout=1) as reply:
                    status = json.loads(reply.read())
            except (OSError, ValueError):
                continue
            leader_id, own_id = status.get("leader"), status.get("header", {}).get("member_id")
            if leader_id is not None and leader_id == own_id:
                return member
        return None

    def describe(self) -> str:
        """What runs where, for people: members, nodes, state directories, API URLs, logs, PIDs."""
        lines = [f"etcd ({self.cluster_name}): {self.store_url()}"]
        for member in self.members:
            lines.append(f"  {member.name}: {member.client_url}  pid {member.pid}  log {member.log_path}")
        lines.append("vigil nodes:")
        for node in self.nodes:
            lines.append(f"  {node.name}: {node.api_url}  pid {node.pid}")
            lines.append(f"    state dir {node.state_dir}  log {node.log_path}")
            lines.append(f"    agent runtime TMPDIR={node.tmp_dir}  HA_RSCTMP={node.rsc_tmp}")
        return "\n".join(lines)
