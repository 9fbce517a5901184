"""vigil's commands for agents, without a daemon: option parsing as Pacemaker's tools parse them, the
output shapes scripts depend on, the shims and the environment agents get, and the refusal without vigil.

Where Pacemaker's own tool can answer without its daemons (``crm_attribute``
on a CIB file), the test compares vigil's answer with it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from tests.tools.conftest import RNG, needs_schema
from vigil.cli.cluster_tools import (
    TOOLS,
    attrd_updater,
    cibadmin,
    crm_attribute,
    crm_mon,
    crm_node,
    stonith_admin,
)
from vigil.cli.cluster_tools.__main__ import ENTRY_POINTS
from vigil.cli.cluster_tools.__main__ import main as tools_main
from vigil.cli.cluster_tools.common import ON_NODE_ENV, ToolError, local_target
from vigil.daemon.main import Daemon, DaemonOptions
from vigil.executor.cluster_tools import SHIM_MODE, TOOL_NAMES, install_shims, shim_text
from vigil.executor.environment import with_cluster_tools


def attribute_options(*argv: str) -> argparse.Namespace:
    return crm_attribute.parser().parse(list(argv))


def target(*argv: str, **environ: str) -> crm_attribute.Target:
    return crm_attribute.resolve(attribute_options(*argv), environ)


# -- crm_attribute and crm_master -------------------------------------------------------------------


def test_crm_attribute_finds_the_section_as_pacemaker_does() -> None:
    assert target("-N", "n2", "-n", "x", "-G") == crm_attribute.Target("nodes", "x", "n2")
    assert target("-n", "stonith-enabled", "-G") == crm_attribute.Target("crm_config", "stonith-enabled")
    assert target("-N", "n2", "-n", "x", "-l", "reboot", "-v", "1").section == "status"
    assert target("-t", "status", "-n", "x").node is None  # the agent's node, asked of the daemon
    assert target("-t", "status", "-n", "x", **{ON_NODE_ENV: "n3"}).node == "n3"
    assert target("-N", "localhost", "-n", "x", **{ON_NODE_ENV: "n3"}).node == "n3"
    # -t and -l set one thing: the last one given wins.
    assert target("-l", "reboot", "-t", "crm_config", "-n", "x").section == "crm_config"
    assert target("-t", "crm_config", "-l", "reboot", "-n", "x").section == "status"
    assert target("-t", "forever", "-N", "n1", "-n", "x").section == "nodes"
    utilization = crm_attribute.Target("nodes", "cpu", "n1", utilization=True)
    assert target("-z", "-N", "n1", "-n", "cpu") == utilization


def test_a_promotion_score_is_the_transient_master_attribute_of_the_resource() -> None:
    assert target("-p", "-v", "5", OCF_RESOURCE_INSTANCE="db", **{ON_NODE_ENV: "n1"}) == \
        crm_attribute.Target("status", "master-db", "n1")
    assert target("--promotion", "web", "-G").name == "master-web"
    assert target("-p", "db", "-l", "forever", "-N", "n1").section == "nodes"
    with pytest.raises(ToolError) as refused:
        target("-p", "-v", "5")
    assert refused.value.exit_code == 64


@pytest.mark.parametrize("argv", [["-t", "rsc_defaults", "-n", "x"], ["-l", "sometimes", "-n", "x"],
                                  ["-t", "elsewhere", "-n", "x"],
                                  ["-z", "-l", "reboot", "-n", "x", "-N", "n1"],
                                  ["-P", "pingd*", "-G"], ["-n", "x", "-v"], ["--bogus"]])
def test_crm_attribute_refuses_what_it_cannot_do_with_the_usage_exit_code(argv: list[str]) -> None:
    with pytest.raises(ToolError) as refused:
        crm_attribute.resolve(attribute_options(*argv), {})
    assert refused.value.exit_code == 64
    assert refused.value.message


def test_crm_attribute_prints_what_pacemakers_prints(tmp_path: Path) -> None:
    line = crm_attribute.output_line("status", "pingd", "100")
    assert line == "scope=status  name=pingd value=100"
    real = shutil.which("crm_attribute") or "/usr/sbin/crm_attribute"
    if not Path(real).exists():
        pytest.skip("Pacemaker's crm_attribute is not installed: compared with the shape only")
    cib = tmp_path / "cib.xml"
    cib.write_text("""<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="1" num_updates="0"
     admin_epoch="0"><configuration><crm_config/><nodes><node id="1" uname="n1"/></nodes><resources/>
     <constraints/></configuration><status><node_state id="1" uname="n1"><transient_attributes id="1">
     <instance_attributes id="status-1"><nvpair id="status-1-pingd" name="pingd" value="100"/>
     </instance_attributes></transient_attributes></node_state></status></cib>""")
    env = {**os.environ, "CIB_file": str(cib)}
    theirs = subprocess.run([real, "-N", "n1", "-n", "pingd", "-l", "reboot", "-G"], env=env,
                            capture_output=True, text=True, timeout=30, check=False)
    assert theirs.stdout.rstrip("\n") == line
    missing = subprocess.run([real, "-N", "n1", "-n", "nope", "-l", "reboot", "-G"], env=env,
                             capture_output=True, text=True, timeout=30, check=False)
    assert missing.returncode == 105 and crm_attribute.NO_SUCH in missing.stderr


def test_crm_master_is_crm_attribute_on_the_master_attribute_forever_unless_told() -> None:
    env = {"OCF_RESOURCE_INSTANCE": "redis"}
    argv = crm_attribute.master_arguments(["-l", "reboot", "-v", "5", "-N", "n1"], env)
    assert argv == ["-n", "master-redis", "--lifetime", "forever", "-l", "reboot", "-v", "5", "-N", "n1"]
    expected = crm_attribute.Target("status", "master-redis", "n1")
    assert crm_attribute.resolve(attribute_options(*argv), env) == expected
    quiet = crm_attribute.master_arguments(["-r", "other", "-Q", "-G", "-N", "n1"], env)
    options = attribute_options(*quiet)
    assert options.quiet and options.query and options.name == "master-other"
    assert crm_attribute.resolve(options, env).section == "nodes"
    with pytest.raises(ToolError):
        crm_attribute.master_arguments(["-G"], {})


# -- attrd_updater -------------------------------------------------------------------------------------


def test_attrd_updater_takes_what_debians_agents_give_it() -> None:
    p = attrd_updater.parser()
    ping = p.parse(["-n", "pingd", "-B", "1", "-d", "5s"])
    assert (ping.name, ping.update_both, ping.delay) == ("pingd", "1", "5s")
    sysinfo = p.parse(["-S", "status", "-n", "cpu_info", "-v", "x"])
    assert sysinfo.update == "x"
    mariadb = p.parse(["-p", "-N", "n2", "-n", "db-gtid", "-Q"])
    assert mariadb.private and mariadb.query and mariadb.node == "n2"
    assert attrd_updater.query_line("pingd", "n1", "100") == 'name="pingd" host="n1" value="100"'


def test_attrd_updater_query_line_is_what_scripts_eval() -> None:
    line = attrd_updater.query_line("db-gtid", "n2", "0-1-42")
    script = f"eval {line}; echo \"$name|$host|$value\""
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=10, check=True)
    assert done.stdout.strip() == "db-gtid|n2|0-1-42"


def test_attrd_updater_refresh_needs_nothing_and_a_change_needs_a_name() -> None:
    assert attrd_updater.main(["-R"]) == 0
    with pytest.raises(ToolError) as refused:
        attrd_updater.main(["-U", "1"])
    assert refused.value.exit_code == 64


# -- crm_node --------------------------------------------------------------------------------------------

MEMBERSHIP = {"node": "db-2", "node_id": "db-2", "have_quorum": False,
              "nodes": [{"id": "db-1", "name": "db-1", "member": True},
                        {"id": "7", "name": "db-2", "member": True},
                        {"id": "db-3", "name": "db-3", "member": False}]}


def node_answer(argv: list[str], capsys: pytest.CaptureFixture[str], **environ: str) -> str:
    options = crm_node.parser().parse(argv)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in environ.items():
            patch.setenv(key, value)
        if ON_NODE_ENV not in environ:
            patch.delenv(ON_NODE_ENV, raising=False)
        crm_node._answer(options.command[-1] if options.command else "name-for-id", options, MEMBERSHIP)
    return capsys.readouterr().out


def test_crm_node_answers_as_pacemakers(capsys: pytest.CaptureFixture[str]) -> None:
    assert node_answer(["-p"], capsys) == "db-1 db-2\n"
    assert node_answer(["-q"], capsys) == "0\n"
    # Ids are numbers, as corosync's: a name-like id is the node's position.
    assert node_answer(["-l"], capsys) == "1 db-1 member\n7 db-2 member\n3 db-3 lost\n"
    assert node_answer(["-i"], capsys) == "7\n"
    assert node_answer(["-i"], capsys, **{ON_NODE_ENV: "db-3"}) == "3\n"
    assert node_answer(["-N", "3"], capsys) == "db-3\n"
    # The last command given wins (rabbitmq-server-ha runs `crm_node -l -p`).
    assert node_answer(["-l", "-p"], capsys) == "db-1 db-2\n"


def test_crm_node_name_is_the_executors_node_without_asking(capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ON_NODE_ENV, "node-7.example.com")
    monkeypatch.setenv("VIGIL_STATE_DIR", "/nonexistent")
    assert crm_node.main(["-n"]) == 0
    assert capsys.readouterr().out == "node-7.example.com\n"


def test_local_target_is_the_option_else_the_executors_node() -> None:
    assert local_target("n2", {ON_NODE_ENV: "n1"}) == "n2"
    assert local_target("auto", {ON_NODE_ENV: "n1"}) == "n1"
    assert local_target(None, {}) is None


# -- cibadmin, crm_mon, stonith_admin ----------------------------------------------------------------------

CIB = """<cib epoch="3"><configuration><crm_config/><nodes><node id="n1" uname="n1"/>
<node id="n2" uname="n2"/></nodes><resources/><constraints/></configuration><status>
<node_state id="n1" uname="n1" crmd="online"><transient_attributes id="n1"><instance_attributes id="s1">
<nvpair id="s1-c" name="rmq-node-attr-cookie" value="rabbit@n1"/></instance_attributes></transient_attributes>
</node_state>
<node_state id="n2" uname="n2" crmd="offline"><transient_attributes id="n2"><instance_attributes id="s2">
<nvpair id="s2-c" name="rmq-node-attr-cookie" value="rabbit@n2"/></instance_attributes></transient_attributes>
</node_state></status></cib>"""


def test_cibadmin_xpath_prints_one_match_alone_and_several_in_an_xpath_query() -> None:
    online = cibadmin.select(CIB, None, "//node_state[@crmd='online']//nvpair[@name='rmq-node-attr-cookie']")
    assert online == ['<nvpair id="s1-c" name="rmq-node-attr-cookie" value="rabbit@n1"/>\n']
    every = cibadmin.select(CIB, None, "//node_state//nvpair[@name='rmq-node-attr-cookie']")
    root = etree.fromstring(every[0].encode())
    assert root.tag == "xpath-query" and [n.get("value") for n in root] == ["rabbit@n1", "rabbit@n2"]
    # rabbitmq-cluster's own pipeline on the answer.
    script = "grep rmq-node-attr-cookie | sed -n -e 's/^.*value=.\\(.*\\)\".*$/\\1/p'"
    found = subprocess.run(["sh", "-c", script], input=online[0], capture_output=True, text=True, timeout=10,
                           check=True)
    assert found.stdout.strip() == "rabbit@n1"
    nodes = etree.fromstring(cibadmin.select(CIB, "nodes", None)[0].encode())
    assert nodes.tag == "nodes" and len(nodes) == 2
    with pytest.raises(ToolError) as missing:
        cibadmin.select(CIB, None, "//nvpair[@name='nope']")
    assert missing.value.exit_code == 105
    with pytest.raises(ToolError) as bad:
        cibadmin.select(CIB, None, "//[")
    assert bad.value.exit_code == 64


def test_cibadmin_only_queries() -> None:
    with pytest.raises(ToolError) as refused:
        cibadmin.main(["-R", "-x", "new.xml"])
    assert refused.value.exit_code == 64 and "only queries" in refused.value.message


def test_crm_mon_simple_status_is_one_nagios_line() -> None:
    report: dict[str, Any] = {"have_quorum": True, "nodes": [{"name": "n1", "online": True}],
                              "resources": [{"kind": "clone", "members": [{"kind": "primitive"}] * 2},
                                            {"kind": "primitive"}]}
    assert crm_mon.simple_status(report) == ("CLUSTER OK: 1 node online, 3 resource instances configured", 0)
    report["nodes"].append({"name": "n2", "online": False})
    assert crm_mon.simple_status(report) == ("CLUSTER WARN: offline node: n2", 1)
    report["have_quorum"] = False
    assert crm_mon.simple_status(report) == ("CLUSTER CRIT: No quorum", 2)


@pytest.mark.parametrize("argv", [["-d"], ["-h", "out.html"], ["--output-as=html"]])
def test_crm_mon_offers_one_shot_text_and_xml_only(argv: list[str]) -> None:
    with pytest.raises(ToolError) as refused:
        crm_mon.main(argv)
    assert refused.value.exit_code == 64


ENTRIES = [{"target": "n2", "action": "reboot", "succeeded": False, "completed": 1_700_000_000,
            "executioner": "n1", "origin": "n1", "client": "vigil.12", "device": "ipmi", "revision": 4},
           {"target": "n2", "action": "reboot", "succeeded": True, "completed": 1_700_000_100,
            "executioner": "n1", "origin": "n1", "client": "vigil.12", "device": "ipmi", "revision": 5}]


@needs_schema
def test_stonith_admin_xml_is_valid_against_pacemakers_schema() -> None:
    schema = etree.RelaxNG(etree.parse(str(RNG)))
    for body in (stonith_admin.history_lines(ENTRIES, xml=True, verbose=False),
                 stonith_admin.history_lines([], xml=True, verbose=False),
                 stonith_admin.device_lines(["ipmi", "pdu"], xml=True, quiet=False), []):
        document = etree.fromstring(stonith_admin.result_xml("stonith_admin -H *", body).encode())
        assert schema.validate(document), schema.error_log
    failed = stonith_admin.result_xml("stonith_admin -l n1", [], 102, "not connected")
    assert schema.validate(etree.fromstring(failed.encode())), schema.error_log


def test_stonith_admin_text() -> None:
    assert stonith_admin.device_lines(["ipmi"], xml=False, quiet=False) == ["ipmi", "1 fence device found"]
    assert stonith_admin.device_lines(["ipmi"], xml=False, quiet=True) == ["ipmi"]
    last = stonith_admin.history_lines(ENTRIES, xml=False, verbose=False)
    assert len(last) == 1 and last[0].startswith("reboot of n2 successful: delegate=n1, client=vigil.12")
    assert len(stonith_admin.history_lines(ENTRIES, xml=False, verbose=True)) == 2
    xml = "".join(stonith_admin.history_lines(ENTRIES, xml=True, verbose=False))
    assert 'status="failed"' in xml and 'status="success"' in xml


# -- the shims, the environment, the refusal -----------------------------------------------------------


def test_the_shims_are_the_tools_and_run_them(tmp_path: Path) -> None:
    assert TOOL_NAMES == TOOLS == tuple(ENTRY_POINTS)
    install_shims(tmp_path / "bin")
    for name in TOOL_NAMES:
        shim = tmp_path / "bin" / name
        assert shim.read_text() == shim_text(name)
        assert shim.stat().st_mode & 0o777 == SHIM_MODE
    before = (tmp_path / "bin" / "crm_node").stat().st_mtime_ns
    install_shims(tmp_path / "bin")  # a restart leaves them as they are
    assert (tmp_path / "bin" / "crm_node").stat().st_mtime_ns == before
    version = subprocess.run([str(tmp_path / "bin" / "crm_node"), "--version"], capture_output=True,
                             text=True, timeout=30, check=False)
    assert version.returncode == 0 and version.stdout.startswith("Pacemaker")


def test_agents_find_the_tools_first_and_the_state_directory(tmp_path: Path) -> None:
    env = with_cluster_tools({"PATH": f"/usr/bin:{tmp_path / 'bin'}", "HOME": "/root"}, tmp_path / "bin",
                             tmp_path)
    assert env["PATH"] == f"{tmp_path / 'bin'}:/usr/bin"
    assert env["HA_SBIN_DIR"] == str(tmp_path / "bin")
    assert env["VIGIL_STATE_DIR"] == str(tmp_path)
    assert env["HOME"] == "/root"


def test_the_daemon_gives_resource_fence_and_alert_agents_the_tools(tmp_path: Path) -> None:
    daemon = Daemon(DaemonOptions(state_dir=tmp_path / "state", node="n1"))
    tools = str((tmp_path / "state" / "bin").absolute())
    for env in (daemon.executor.inherited, daemon.fence_agents._env(), daemon.events.inherited):
        assert env["PATH"].split(":")[0] == tools
        assert env["HA_SBIN_DIR"] == tools
        assert env["VIGIL_STATE_DIR"] == str((tmp_path / "state").absolute())


@pytest.mark.parametrize("tool", TOOLS)
def test_without_vigil_every_tool_says_the_cluster_cannot_be_reached_at_once(tool: str,
                                                                             tmp_path: Path) -> None:
    args = {"attrd_updater": ["-n", "pingd", "-U", "1"], "crm_attribute": ["-n", "x", "-G"],
            "crm_master": ["-r", "db", "-G"], "crm_node": ["-l"], "crm_mon": ["-1"], "cibadmin": ["-Q"],
            "crm_resource": ["-z", "-r", "vm", "-g", "cpu"], "stonith_admin": ["-l", "n1"]}[tool]
    env = {**os.environ, "VIGIL_STATE_DIR": str(tmp_path / "none")}
    env.pop(ON_NODE_ENV, None)
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "vigil.cli.cluster_tools", tool, *args], env=env,
                          capture_output=True, text=True, timeout=30, check=False)
    assert time.monotonic() - began < 10
    assert done.returncode == 102, done.stderr
    assert done.stderr.startswith(f"{tool}: ")
    assert "cannot reach the cluster (not connected)" in done.stderr and str(tmp_path / "none") in done.stderr


def test_an_unknown_tool_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert tools_main(["crm_shadow"]) == 64
    assert "attrd_updater" in capsys.readouterr().err
