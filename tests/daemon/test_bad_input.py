"""A bad configuration or command line: a clear error, exit code 2, nothing stored changed."""

from __future__ import annotations

from pathlib import Path

from tests.daemon.conftest import Daemon, cib, primitive, wait_for


def stored_revision(daemon: Daemon) -> tuple[int, int]:
    snapshot = daemon.snapshot()
    return snapshot.revision, snapshot.config_revision


def good_config(tmp_path: Path) -> str:
    return cib(primitive("svc", "ocf:test:Recorder", {"state": str(tmp_path / "svc.state")}))


def start_once_and_stop(daemon: Daemon, tmp_path: Path) -> tuple[int, int]:
    daemon.write_config(good_config(tmp_path))
    daemon.start()
    wait_for("the cluster to settle", daemon.is_settled)
    assert daemon.stop() == 0
    return stored_revision(daemon)


def test_malformed_xml_is_refused_with_its_line_and_changes_nothing(daemon: Daemon, tmp_path: Path) -> None:
    before = start_once_and_stop(daemon, tmp_path)
    daemon.write_config(good_config(tmp_path).replace("</resources>", "</resource>"))
    result = daemon.run_to_exit("--config", str(daemon.config_file))
    assert result.returncode == 2
    assert f"{daemon.config_file}:" in result.stderr and "malformed XML" in result.stderr
    assert "nothing was changed" in result.stderr and "Traceback" not in result.stderr
    assert stored_revision(daemon) == before


def test_an_agent_name_that_is_no_name_is_refused_and_changes_nothing(daemon: Daemon, tmp_path: Path) -> None:
    # (An agent merely missing on this node is that resource's problem: test_broken_agent.py.)
    before = start_once_and_stop(daemon, tmp_path)
    daemon.write_config(good_config(tmp_path).replace('type="Recorder"', 'type="../NoSuchAgent"'))
    result = daemon.run_to_exit("--config", str(daemon.config_file))
    assert result.returncode == 2
    assert "resource svc: agent 'ocf:test:../NoSuchAgent': its type" in result.stderr
    assert "Traceback" not in result.stderr
    assert stored_revision(daemon) == before


def test_other_mistakes_each_get_one_clear_line(daemon: Daemon, tmp_path: Path) -> None:
    two_nodes = good_config(tmp_path).replace(
        "<nodes/>", '<nodes><node id="1" uname="n1"/><node id="2" uname="n2"/></nodes>')
    daemon.write_config(two_nodes.replace('class="ocf"', 'class="nagios"', 1))
    result = daemon.run_to_exit("--config", str(daemon.config_file))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "the SQLite store keeps a cluster on one machine only" in result.stderr
    assert "agent class 'nagios'" in result.stderr and "not supported yet" in result.stderr
    result = daemon.run_to_exit("--config", str(tmp_path / "missing.xml"))
    assert result.returncode == 2 and "cannot read the configuration" in result.stderr
    daemon.write_config(good_config(tmp_path))
    result = daemon.run_to_exit("--config", str(daemon.config_file), "--listen", "nowhere")
    assert result.returncode == 2 and "--listen: 'nowhere' is not HOST:PORT" in result.stderr
    (tmp_path / "file").write_text("")
    daemon.state_dir = tmp_path / "file"
    result = daemon.run_to_exit("--config", str(daemon.config_file))
    assert result.returncode == 1 and "cannot create the state directory" in result.stderr
    assert "Traceback" not in result.stderr
