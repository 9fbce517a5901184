"""Commands without a running daemon: ``config load``/``show`` use the store directly (real SQLite,
real agents checked), every other command says clearly that vigil is not running."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from vigil.cli.main import cli
from vigil.daemon.statedir import store_url
from vigil.model.config import Config
from vigil.store import open_store

CIB = """<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config>
      <cluster_property_set id="opts">
        <nvpair id="opts-stonith" name="stonith-enabled" value="false"/>
      </cluster_property_set>
    </crm_config>
    <nodes>{nodes}</nodes>
    <resources>
      <primitive id="web" class="ocf" provider="heartbeat" type="{agent}">
        <operations>
          <op id="web-mon" name="monitor" interval="10s"/>
        </operations>
      </primitive>
    </resources>
    <constraints/>
  </configuration>
  <status/>
</cib>
"""


def write_cib(path: Path, *, nodes: str = "", agent: str = "Dummy") -> Path:
    path.write_text(CIB.format(nodes=nodes, agent=agent))
    return path


def vigil(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


def stored(state: Path) -> tuple[Config, int]:
    async def read() -> tuple[Config, int]:
        store = open_store(store_url(state), create=False)
        try:
            return await store.get_config()
        finally:
            await store.close()

    return asyncio.run(read())


def test_config_load_and_show_without_a_daemon(tmp_path: Path) -> None:
    state = tmp_path / "state"
    code, out, err = vigil("config", "load", str(write_cib(tmp_path / "cib.xml")), "--state-dir", str(state))
    assert code == 0, err
    assert out.startswith(f"{tmp_path / 'cib.xml'}: configuration loaded (revision ")
    assert "no vigil is running: stored for its next start" in out
    config, revision = stored(state)
    assert [p.id for p in config.primitives()] == ["web"] and revision > 0
    code, out, _ = vigil("config", "show", "--state-dir", str(state))
    assert code == 0
    assert '<primitive id="web" class="ocf" provider="heartbeat" type="Dummy">' in out
    assert f'epoch="{revision}"' in out
    # The same file again changes nothing.
    code, out, _ = vigil("config", "load", str(tmp_path / "cib.xml"), "--state-dir", str(state))
    assert code == 0 and "nothing changed" in out
    assert stored(state)[1] == revision


def test_a_bad_configuration_without_a_daemon_changes_nothing(tmp_path: Path) -> None:
    state = tmp_path / "state"
    vigil("config", "load", str(write_cib(tmp_path / "good.xml")), "--state-dir", str(state))
    before = stored(state)
    bad = write_cib(tmp_path / "bad.xml", agent="../NoSuchAgent",
                    nodes='<node id="a" uname="a"/><node id="b" uname="b"/>')
    code, out, err = vigil("config", "load", str(bad), "--node", "n1", "--state-dir", str(state))
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert lines[0] == f"vigil: error: {bad}: 3 problems; nothing was changed"
    assert lines[1].startswith("  nodes: this node 'n1' is not among the configured nodes (a, b)")
    assert lines[2].startswith("  nodes: 2 nodes are configured (a, b)")
    assert lines[3].startswith("  resource web: agent 'ocf:heartbeat:../NoSuchAgent': its type")
    broken = tmp_path / "broken.xml"
    broken.write_text("<cib>\n<configuration>\n")
    code, _, err = vigil("config", "load", str(broken), "--state-dir", str(state))
    assert code == 2 and f"  {broken}:3" in err
    assert stored(state) == before


def test_a_configuration_that_does_not_parse_creates_no_store(tmp_path: Path) -> None:
    state = tmp_path / "state"
    broken = tmp_path / "broken.xml"
    broken.write_text("<cib>\n<configuration>\n")
    code, _, err = vigil("config", "load", str(broken), "--state-dir", str(state))
    assert code == 2 and f"  {broken}:3" in err
    assert not state.exists()


def test_load_names_the_node_and_checks_the_revision(tmp_path: Path) -> None:
    state = tmp_path / "state"
    code, _, _ = vigil("config", "load", str(write_cib(tmp_path / "cib.xml")), "--node", "n1",
                       "--state-dir", str(state))
    assert code == 0
    config, revision = stored(state)
    assert [n.uname for n in config.nodes] == ["n1"]
    other = write_cib(tmp_path / "other.xml", nodes='<node id="n1" uname="n1"/>', agent="Stateful")
    code, _, err = vigil("config", "load", str(other), "--if-revision", str(revision - 1),
                         "--state-dir", str(state))
    assert code == 1 and f"the configuration is at revision {revision}, not {revision - 1}" in err
    code, _, err = vigil("config", "load", str(other), "--if-revision", str(revision),
                         "--state-dir", str(state))
    assert code == 0, err
    assert stored(state)[0].primitives()[0].type == "Stateful"


def test_show_errors(tmp_path: Path) -> None:
    code, _, err = vigil("config", "show", "--state-dir", str(tmp_path / "none"))
    assert code == 1 and err.startswith("vigil: error:")
    state = tmp_path / "state"
    vigil("config", "load", str(write_cib(tmp_path / "cib.xml")), "--state-dir", str(state))
    code, _, err = vigil("config", "show", "--format", "yaml", "--state-dir", str(state))
    assert code == 0, err


def test_help_says_config_works_without_a_daemon() -> None:
    for command in (["config", "--help"], ["config", "load", "--help"], ["config", "show", "--help"]):
        code, out, _ = vigil(*command)
        assert code == 0 and "without a running vigil" in " ".join(out.split())


@pytest.mark.parametrize("command", [
    ["status"], ["status", "--format", "json"], ["resource", "stop", "web"], ["resource", "cleanup"],
    ["node", "standby"], ["failcount", "show"], ["failcount", "clear", "web"], ["history", "web"],
    ["simulate", "--live"],
])
def test_commands_say_when_no_daemon_runs(tmp_path: Path, command: list[str]) -> None:
    code, out, err = vigil(*command, "--state-dir", str(tmp_path))
    assert (code, out) == (1, "")
    assert err.startswith(f"vigil: error: vigil is not running with the state directory {tmp_path} ")
    assert f"start it with `vigil run --state-dir {tmp_path} --config FILE`" in err


def test_a_daemon_that_died_is_reported_as_not_running(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gone = subprocess.Popen(["true"])
    gone.wait()
    (tmp_path / "api.json").write_text(json.dumps({"url": f"http://127.0.0.1:{port}", "pid": gone.pid,
                                                   "node": "n1"}))
    code, _, err = vigil("status", "--state-dir", str(tmp_path))
    assert code == 1
    assert err == (f"vigil: error: vigil is not running with state dir {tmp_path}: nothing answers at "
                   f"http://127.0.0.1:{port} (its process {gone.pid} is gone); start it with "
                   f"`vigil run --state-dir {tmp_path} --config FILE`\n")


def test_simulate_needs_a_file_or_live(tmp_path: Path) -> None:
    code, _, err = vigil("simulate")
    assert code == 2 and "give a CIB file to simulate, or --live" in err
    code, _, err = vigil("simulate", "--live", "--steps", "2", str(tmp_path / "x.xml"))
    assert code == 2 and "it takes none of: a CIB file, --steps" in err


# -- a read never creates a store; a store that is gone is an error (issue 12, defects 6 and 10) --------

VIGIL = Path(sys.executable).parent / "vigil"


def test_show_without_a_store_says_how_to_make_one_and_creates_nothing(tmp_path: Path) -> None:
    state = tmp_path / "state"
    code, out, err = vigil("config", "show", "--state-dir", str(state))
    assert (code, out) == (1, "")
    assert err == (f"vigil: error: {state / 'vigil.db'}: no vigil store there; create one with "
                   "`vigil config load FILE` or `vigil run --config FILE`, or check the path\n")
    assert not state.exists()


@pytest.mark.parametrize(("spoil", "message"), [
    (lambda db: db.write_bytes(b""), "the store file is empty (0 bytes)"),
    (lambda db: db.mkdir(), "a directory is where the store file should be"),
    (lambda db: db.write_bytes(b"not a database\n" * 300), "not a vigil store, or it is damaged"),
])
def test_show_and_run_refuse_a_store_that_is_gone(tmp_path: Path, spoil: Callable[[Path], object],
                                                  message: str) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    db = state / "vigil.db"
    spoil(db)

    def shape() -> object:
        return sorted(p.name for p in db.iterdir()) if db.is_dir() else db.read_bytes()

    before = shape()
    code, out, err = vigil("config", "show", "--state-dir", str(state))
    assert (code, out) == (1, "")
    assert err.startswith(f"vigil: error: {db}: ") and message in err
    result = subprocess.run([str(VIGIL), "run", "--state-dir", str(state), "--listen", "127.0.0.1:0",
                             "--node", "n1"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert f"vigil: error: {db}: " in result.stderr and message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (state / "api.json").exists()
    assert shape() == before  # nothing made in its place


def _as_a_user_who_cannot_write() -> list[str]:
    """Root writes anywhere: without CAP_DAC_OVERRIDE it obeys the modes like any other user."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("needs setpriv to drop root's right to write anywhere")
    caps = "-dac_override,-dac_read_search"
    return [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}"]


def test_show_reads_a_store_it_cannot_write(tmp_path: Path) -> None:
    state = tmp_path / "state"
    code, _, err = vigil("config", "load", str(write_cib(tmp_path / "cib.xml")), "--state-dir", str(state))
    assert code == 0, err
    before = {p.name: p.read_bytes() for p in state.iterdir()}
    os.chmod(state / "vigil.db", 0o444)
    os.chmod(state, 0o555)
    try:
        result = subprocess.run([*_as_a_user_who_cannot_write(), str(VIGIL), "config", "show",
                                 "--state-dir", str(state)], capture_output=True, text=True, timeout=60)
    finally:
        os.chmod(state, 0o700)
        os.chmod(state / "vigil.db", 0o644)
    assert result.returncode == 0, result.stderr
    assert '<primitive id="web" class="ocf" provider="heartbeat" type="Dummy">' in result.stdout
    assert {p.name: p.read_bytes() for p in state.iterdir()} == before
