"""A real, private systemd for tests of the ``systemd`` class, on a machine whose PID 1 need not be systemd.

Why: the systemd class talks to systemd over D-Bus (``LoadUnit``,
``StartUnit``, ``JobRemoved`` ...), and a fake systemd would only test vigil
against its author's reading of systemd.  :class:`PrivateSystemd` starts the
real one, as root, without touching the machine's own:

- ``unshare --mount`` gives it a mount namespace of its own, where a
  directory holding an empty ``system/`` is bound over ``/run/systemd``
  (``systemd --user`` refuses to run unless the machine looks booted with
  systemd, which is what ``/run/systemd/system`` says); no other process
  sees that mount;
- it runs ``/usr/lib/systemd/systemd --user`` with ``XDG_RUNTIME_DIR``,
  ``XDG_CONFIG_HOME`` and ``XDG_DATA_HOME`` inside the test's directory, so
  it reads units only from there (and the packages' ``/usr/lib/systemd/user``)
  and is started on a target of its own (``--unit``) that wants nothing but
  a D-Bus daemon;
- that D-Bus daemon is a unit of this manager (``dbus.socket`` listening on
  ``$XDG_RUNTIME_DIR/bus``, ``dbus.service`` running ``dbus-daemon
  --session``), as in a user session: a manager connects to its bus only once
  it sees ``dbus.service`` running, so a bus started beside it would never
  be used.  :attr:`bus_address` is that socket, reachable from outside the
  namespace (it lives in the test's directory): vigil, even a ``vigil run``
  in another process, is pointed at it with ``VIGIL_SYSTEMD_BUS``;
- drop-ins go to ``$XDG_RUNTIME_DIR/systemd/user`` (:attr:`dropin_dir`), the
  user manager's runtime unit directory: what ``/run/systemd/system`` is to
  the system manager, where Pacemaker writes its drop-ins;
- units the test installs go to ``$XDG_CONFIG_HOME/systemd/user``
  (:attr:`unit_dir`, what ``/etc/systemd/system`` is to the system manager).

A manager moves every process of the cgroup it starts in into its own
``init.scope``: started where the test runs, it would take the whole
machine's processes with it (it did, once: at the root of every hierarchy).
So it starts in a fresh cgroup of its own, ``/vigil-systemd-<token>`` in
every cgroup hierarchy, where it is alone; the cgroups are removed when it
stops.

Everything is ended by PID: :meth:`PrivateSystemd.stop` sends SIGTERM to
the manager (which stops its units and exits), then SIGKILL to whatever is
still in its cgroups (only processes it started), and waits for them.

Use (as root)::

    reason = unavailable_reason()          # None, or why it cannot run here (pytest.skip it)
    with PrivateSystemd.start(tmp_path) as systemd:
        systemd.write_unit("web.service", "[Service]\\nExecStart=/bin/sleep infinity\\n")
        os.environ.update(systemd.environ())   # VIGIL_SYSTEMD_BUS, VIGIL_SYSTEMD_DROPIN_DIR
        systemd.active_state("web.service")    # "inactive"
        os.kill(systemd.main_pid("web.service"), signal.SIGKILL)
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from jeepney import DBusAddress, Properties, new_method_call
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import DBusConnection, open_dbus_connection
from jeepney.wrappers import DBusErrorResponse

SYSTEMD = Path("/usr/lib/systemd/systemd")
DBUS_DAEMON = "dbus-daemon"
CGROUP_ROOT = Path("/sys/fs/cgroup")
MANAGER = DBusAddress("/org/freedesktop/systemd1", bus_name="org.freedesktop.systemd1",
                      interface="org.freedesktop.systemd1.Manager")
# The manager's own target: a bus, nothing else of the packages' default.target.
TARGET = "vigil-test.target"
_UNITS = {
    "dbus.socket": "[Unit]\nDescription=D-Bus of the test's systemd\n\n[Socket]\nListenStream=%t/bus\n",
    "dbus.service": (
        "[Unit]\nDescription=D-Bus of the test's systemd\nRequires=dbus.socket\n\n"
        "[Service]\nExecStart={dbus} --session --address=systemd: --nofork --nopidfile "
        "--systemd-activation --nosyslog\n"
    ),
    TARGET: "[Unit]\nDescription=vigil's test target\nWants=dbus.socket dbus.service\n",
}
# Run in the new mount namespace: join the cgroups ($1 = cgroup.procs files, colon-separated;
# the first ones must succeed), bind the fake /run/systemd, become the manager.
_SCRIPT = r"""
set -e
required=$1; optional=$2; run_systemd=$3; shift 3
old_ifs=$IFS; IFS=:
for procs in $required; do echo $$ > "$procs"; done
for procs in $optional; do echo $$ > "$procs" 2>/dev/null || true; done
IFS=$old_ifs
mkdir -p /run/systemd
mount --bind "$run_systemd" /run/systemd
exec "$@"
"""


class SystemdUnavailable(RuntimeError):
    """A private systemd cannot run here; the message says why (a test skips with it)."""


def unavailable_reason() -> str | None:
    """Why :meth:`PrivateSystemd.start` cannot work on this machine, or None when it can."""
    if os.geteuid() != 0:
        return "a private systemd needs root (a mount namespace, cgroups)"
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    if not os.access(SYSTEMD, os.X_OK):
        return f"{SYSTEMD} is not installed (Debian package systemd)"
    if shutil.which(DBUS_DAEMON) is None:
        return "dbus-daemon is not installed (Debian package dbus-daemon)"
    if not _cgroup_mounts():
        return "no cgroup file system is mounted"
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        return f"unshare --mount is not permitted here: {probe.stderr.strip()}"
    return None


@dataclass(frozen=True)
class _Hierarchy:
    """One mounted cgroup hierarchy; ``required`` when systemd tracks its processes there."""

    mountpoint: Path
    required: bool


def _cgroup_mounts() -> list[_Hierarchy]:
    """Every cgroup hierarchy but cpuset (systemd leaves a v1 cpuset alone; joining one needs setup)."""
    found: list[_Hierarchy] = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        before, _, after = line.partition(" - ")
        fields, tail = before.split(), after.split()
        if len(fields) < 5 or len(tail) < 3 or tail[0] not in ("cgroup", "cgroup2"):
            continue
        options = tail[2].split(",")
        if "cpuset" in options:
            continue
        required = tail[0] == "cgroup2" or "name=systemd" in options
        found.append(_Hierarchy(Path(fields[4]), required))
    return found


@dataclass
class PrivateSystemd:
    """A running ``systemd --user`` in its own mount namespace and cgroups; see the module docstring."""

    directory: Path
    process: subprocess.Popen[bytes]
    cgroup: str
    hierarchies: list[_Hierarchy] = field(default_factory=list)

    # -- where things are ---------------------------------------------------------------------

    @property
    def runtime_dir(self) -> Path:
        return self.directory / "runtime"

    @property
    def bus_address(self) -> str:
        """The manager's D-Bus, as vigil's ``VIGIL_SYSTEMD_BUS`` takes it."""
        return f"unix:path={self.runtime_dir / 'bus'}"

    @property
    def dropin_dir(self) -> Path:
        """Where this manager reads runtime drop-ins (``<unit>.d/*.conf``): ``VIGIL_SYSTEMD_DROPIN_DIR``."""
        return self.runtime_dir / "systemd" / "user"

    @property
    def unit_dir(self) -> Path:
        """Where the test installs its units (the user manager's ``/etc/systemd/system``)."""
        return self.directory / "config" / "systemd" / "user"

    @property
    def log_file(self) -> Path:
        return self.directory / "systemd.log"

    @property
    def pid(self) -> int:
        return self.process.pid

    def environ(self) -> dict[str, str]:
        """The settings that point vigil's systemd class at this manager."""
        return {"VIGIL_SYSTEMD_BUS": self.bus_address, "VIGIL_SYSTEMD_DROPIN_DIR": str(self.dropin_dir)}

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    # -- starting and stopping -------------------------------------------------------------------

    @classmethod
    def start(cls, directory: Path, timeout: float = 30.0) -> PrivateSystemd:
        """Start a manager whose files all live under ``directory``; raises :class:`SystemdUnavailable`."""
        reason = unavailable_reason()
        if reason is not None:
            raise SystemdUnavailable(reason)
        directory.mkdir(parents=True, exist_ok=True)
        run_systemd = directory / "run-systemd"
        (run_systemd / "system").mkdir(parents=True, exist_ok=True)
        for sub in ("runtime", "config", "data", "home"):
            (directory / sub).mkdir(mode=0o700, exist_ok=True)
        units = directory / "config" / "systemd" / "user"
        units.mkdir(parents=True, exist_ok=True)
        dbus = shutil.which(DBUS_DAEMON) or DBUS_DAEMON
        for name, text in _UNITS.items():
            (units / name).write_text(text.format(dbus=dbus))
        cgroup = f"vigil-systemd-{secrets.token_hex(6)}"
        hierarchies = _make_cgroups(cgroup)
        env = {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "HOME": str(directory / "home"),
            "XDG_RUNTIME_DIR": str(directory / "runtime"),
            "XDG_CONFIG_HOME": str(directory / "config"),
            "XDG_DATA_HOME": str(directory / "data"),
            "DBUS_SESSION_BUS_ADDRESS": f"unix:path={directory / 'runtime' / 'bus'}",
            "LANG": "C.UTF-8",
        }
        procs = {
            required: ":".join(str(h.mountpoint / cgroup / "cgroup.procs")
                               for h in hierarchies if h.required == required)
            for required in (True, False)
        }
        argv = ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", _SCRIPT, "sh",
                procs[True], procs[False], str(run_systemd),
                str(SYSTEMD), "--user", f"--unit={TARGET}", "--log-target=console", "--log-level=info"]
        with (directory / "systemd.log").open("ab") as log:
            process = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        manager = cls(directory, process, cgroup, hierarchies)
        try:
            manager._wait_ready(timeout)
        except BaseException:
            manager.stop()
            raise
        return manager

    def _wait_ready(self, timeout: float) -> None:
        """Until systemd answers on its bus (it connects once it sees dbus.service running)."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemdUnavailable(
                    f"the private systemd exited with {self.process.returncode}:\n{self.log()}")
            try:
                with self._connection() as conn:
                    reply = conn.send_and_get_reply(
                        new_method_call(message_bus, "NameHasOwner", "s", (MANAGER.bus_name,)), timeout=2)
                    if reply.body[0]:
                        return
                    last = "systemd is not on its bus yet"
            except (OSError, EOFError, TimeoutError, DBusErrorResponse) as error:
                last = f"{type(error).__name__}: {error}"
            time.sleep(0.05)
        raise SystemdUnavailable(f"the private systemd did not answer within {timeout:.0f} s ({last}):\n"
                                 f"{self.log()}")

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM to the manager, SIGKILL to what outlives it in its cgroups; remove the cgroups."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                self.process.wait(timeout=10)
        _remove_cgroups(self.cgroup, self.hierarchies)

    def __enter__(self) -> PrivateSystemd:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    # -- units ----------------------------------------------------------------------------------

    def write_unit(self, name: str, text: str) -> Path:
        """Install a unit file (the manager sees it at its next Reload, or when first loaded)."""
        path = self.unit_dir / name
        path.write_text(text)
        return path

    def reload(self) -> None:
        self.call(MANAGER, "Reload")

    def unit_path(self, unit: str) -> str:
        return str(self.call(MANAGER, "LoadUnit", "s", (unit,))[0])

    def property(self, unit: str, interface: str, name: str) -> Any:
        """A property of a unit (``org.freedesktop.systemd1.Unit`` ``ActiveState`` ...)."""
        address = DBusAddress(self.unit_path(unit), bus_name=MANAGER.bus_name,
                              interface=f"org.freedesktop.systemd1.{interface}")
        return self.send(Properties(address).get(name))[0][1]

    def active_state(self, unit: str) -> str:
        return str(self.property(unit, "Unit", "ActiveState"))

    def main_pid(self, unit: str) -> int:
        return int(self.property(unit, "Service", "MainPID"))

    def call(self, address: DBusAddress, method: str, signature: str | None = None,
             body: tuple[Any, ...] = ()) -> tuple[Any, ...]:
        return self.send(new_method_call(address, method, signature, body))

    def send(self, message: Any) -> tuple[Any, ...]:
        """Send one method call and return its reply's body; raises ``DBusErrorResponse``."""
        with self._connection() as conn:
            reply = conn.send_and_get_reply(message, timeout=10)
        if reply.header.message_type.name == "error":
            raise DBusErrorResponse(reply)
        return tuple(reply.body)

    @contextlib.contextmanager
    def _connection(self) -> Iterator[DBusConnection]:
        conn = open_dbus_connection(self.bus_address)
        try:
            yield conn
        finally:
            conn.close()


def _make_cgroups(name: str) -> list[_Hierarchy]:
    """Create ``/<name>`` in every hierarchy (see :func:`_cgroup_mounts`); the ones made."""
    made: list[_Hierarchy] = []
    for hierarchy in _cgroup_mounts():
        try:
            (hierarchy.mountpoint / name).mkdir()
        except OSError as error:
            if hierarchy.required:
                _remove_cgroups(name, made)
                where = hierarchy.mountpoint / name
                raise SystemdUnavailable(f"cannot create cgroup {where}: {error}") from error
            continue
        made.append(hierarchy)
    if not any(h.required for h in made):
        _remove_cgroups(name, made)
        raise SystemdUnavailable("neither a cgroup v2 nor a name=systemd hierarchy is mounted")
    return made


def _cgroup_pids(directory: Path) -> set[int]:
    """The processes in ``directory`` and every cgroup under it."""
    pids: set[int] = set()
    for procs in directory.rglob("cgroup.procs"):
        with contextlib.suppress(OSError, ValueError):
            pids.update(int(line) for line in procs.read_text().split())
    return pids


def _remove_cgroups(name: str, hierarchies: list[_Hierarchy], timeout: float = 10.0) -> None:
    """SIGKILL what is left in the manager's cgroups (all its own descendants), then remove them."""
    tops = [h.mountpoint / name for h in hierarchies if (h.mountpoint / name).is_dir()]
    deadline = time.monotonic() + timeout
    while tops and time.monotonic() < deadline:
        left = set().union(*(_cgroup_pids(top) for top in tops))
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for top in tops:
            for directory in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
                with contextlib.suppress(OSError):
                    directory.rmdir()
            try:
                top.rmdir()
            except FileNotFoundError:
                pass
            except OSError as error:
                if error.errno not in (errno.EBUSY, errno.ENOTEMPTY):
                    raise
        tops = [top for top in tops if top.is_dir()]
        if tops:
            time.sleep(0.05)
