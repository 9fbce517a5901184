"""Small things an operator trips on (issue 17, item 8), each on a real `vigil run`.

- ``contrib/vigil.service`` starts vigil on the stored configuration: a
  restart keeps what an operator did (a standby), as Pacemaker keeps its CIB.
- Under systemd (``$JOURNAL_STREAM`` naming stderr) every log line carries
  its sd-daemon priority, so errors reach the journal as errors.
- The node name defaults to ``uname -n`` in full, as Pacemaker's.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.daemon.conftest import VIGIL, Daemon, cib, log_lines, primitive, wait_for
from vigil.cli import agent as agent_cli
from vigil.cli.main import cli
from vigil.daemon.main import Daemon as VigilDaemon

UNIT = Path(__file__).resolve().parents[2] / "contrib" / "vigil.service"


def exec_start(state_dir: Path, etc: Path) -> list[str]:
    """The unit's ExecStart, run from this checkout, on the test's state directory and /etc/vigil."""
    line = next(line for line in UNIT.read_text().splitlines() if line.startswith("ExecStart="))
    argv = shlex.split(line.removeprefix("ExecStart="))
    assert argv[0].endswith("/vigil") and argv[1] == "run", line
    moved = [arg.replace("/var/lib/vigil", str(state_dir)).replace("/etc/vigil", str(etc))
             for arg in argv[2:]]
    return [str(VIGIL), "run", *moved, "--listen", "127.0.0.1:0", "--node", "n1"]


def vigil(daemon: Daemon, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VIGIL), *args, "--state-dir", str(daemon.state_dir)], capture_output=True,
                          text=True, check=False, timeout=60, env=daemon.env())


def start_as_the_unit(daemon: Daemon, argv: list[str]) -> None:
    log = daemon.log_file.open("ab")
    daemon.process = subprocess.Popen(argv, env=daemon.env(), stdout=log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL)
    log.close()
    wait_for("the daemon to serve its API", lambda: (daemon.state_dir / "api.json").exists()
             and daemon.process is not None and daemon.process.poll() is None)


def test_a_restart_of_the_unit_keeps_an_operators_standby(daemon: Daemon, tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    svc_log = tmp_path / "svc.log"
    config = cib(primitive("svc", "ocf:test:Recorder", {"state": str(tmp_path / "svc.state"),
                                                        "log": str(svc_log)}))
    (etc / "cluster.yaml").write_text(config)  # the file the unit would have been told to load
    loaded = vigil(daemon, "config", "load", str(etc / "cluster.yaml"), "--node", "n1")
    assert loaded.returncode == 0, loaded.stderr
    argv = exec_start(daemon.state_dir, etc)
    start_as_the_unit(daemon, argv)
    wait_for("svc to start", lambda: bool(log_lines(svc_log, "start")))
    standby = vigil(daemon, "node", "standby")
    assert standby.returncode == 0, standby.stderr
    wait_for("svc to stop for the standby", lambda: len(log_lines(svc_log, "stop")) == 1)
    assert daemon.stop() == 0

    start_as_the_unit(daemon, argv)  # systemctl restart vigil
    wait_for("the cluster to settle", daemon.is_settled)
    status = json.loads(vigil(daemon, "status", "--format", "json").stdout)
    assert [(n["name"], n["state"]) for n in status["nodes"]] == [("n1", "standby")]
    assert len(log_lines(svc_log, "start")) == 1, "the restart undid the standby"
    assert daemon.stop() == 0


def test_log_lines_carry_their_journal_priority_under_systemd(daemon: Daemon, tmp_path: Path) -> None:
    stream = tmp_path / "journal.stream"
    config = cib(primitive("svc", "ocf:test:Recorder", {"state": str(tmp_path / "svc.state")})
                 + primitive("ghost", "ocf:test:NoSuchAgent", {}))
    daemon.write_config(config)
    with stream.open("wb") as output:
        stat = os.fstat(output.fileno())
        env = {**daemon.env(), "JOURNAL_STREAM": f"{stat.st_dev}:{stat.st_ino}"}
        daemon.process = subprocess.Popen(
            daemon.command("--config", str(daemon.config_file), "--log-format", "json"),
            env=env, stdout=subprocess.DEVNULL, stderr=output, stdin=subprocess.DEVNULL)
    wait_for("the daemon to serve its API", lambda: (daemon.state_dir / "api.json").exists())
    wait_for("the cluster to settle", daemon.is_settled)
    assert daemon.stop() == 0
    lines = stream.read_text().splitlines()
    assert lines and all(line[:3] in ("<3>", "<4>", "<6>", "<7>") for line in lines), lines[:5]
    warning = next(line for line in lines if "cannot be used on this node" in line)
    assert warning.startswith("<4>") and json.loads(warning[3:])["level"] == "WARNING"
    assert any(line.startswith("<6>") and json.loads(line[3:])["level"] == "INFO" for line in lines)

    # An error that stops the start: vigil's last words are an error in the journal too.
    (tmp_path / "bad.xml").write_text(config.replace("</resources>", "</resource>"))
    with stream.open("wb") as output:
        stat = os.fstat(output.fileno())
        env = {**daemon.env(), "JOURNAL_STREAM": f"{stat.st_dev}:{stat.st_ino}"}
        code = subprocess.run(daemon.command("--config", str(tmp_path / "bad.xml")), env=env,
                              stdout=subprocess.DEVNULL, stderr=output, check=False, timeout=60).returncode
    lines = stream.read_text().splitlines()
    assert all(line[:3] in ("<3>", "<4>", "<6>", "<7>") for line in lines), lines
    said = [line for line in lines if "vigil: " in line]
    assert code == 2 and said[0].startswith("<3>vigil: error: ") and "malformed XML" in said[0]
    assert all(line.startswith("<3>") for line in said), said


def test_without_the_journal_no_line_has_a_prefix(daemon: Daemon, tmp_path: Path) -> None:
    # A shell started from a service inherits $JOURNAL_STREAM with another stderr.
    daemon.extra_env["JOURNAL_STREAM"] = "1:1"
    daemon.write_config(cib(primitive("svc", "ocf:test:Recorder", {"state": str(tmp_path / "svc.state")})))
    daemon.start()
    wait_for("the cluster to settle", daemon.is_settled)
    assert daemon.stop() == 0
    lines = daemon.log().splitlines()
    assert lines and not any(line.startswith("<") for line in lines)


def test_the_node_name_defaults_to_uname_n_in_full(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real = os.uname()
    fake = os.uname_result((real.sysname, "node1.example.com", real.release, real.version, real.machine))
    monkeypatch.setattr(os, "uname", lambda: fake)
    monkeypatch.setattr("socket.gethostname", lambda: "node1.example.com")
    seen: list[Any] = []

    async def record(self: VigilDaemon) -> None:
        seen.append(self.options.node)

    monkeypatch.setattr(VigilDaemon, "run", record)
    result = CliRunner().invoke(cli, ["run", "--state-dir", str(tmp_path / "state")])
    assert result.exit_code == 0, result.output
    assert seen == ["node1.example.com"]
    assert agent_cli._node_defaults(None, None) == ("node1.example.com", "node1.example.com")
