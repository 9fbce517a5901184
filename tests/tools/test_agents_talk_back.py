"""Debian's agents, unmodified, talk back to a running `vigil run` through vigil's own commands.

``ocf:pacemaker:ping`` publishes ``pingd`` (attrd_updater, dampened) and a
location rule on it decides where a resource may run; ``ocf:pacemaker:attribute``
sets its attribute on start and unsets it on stop, and a resource whose rule
needs it follows; a test agent asks what Debian's agents ask (crm_node,
crm_attribute, crm_master, attrd_updater, crm_mon, cibadmin) and gets
Pacemaker's answers; an alert agent finds the same commands.  Without a
daemon, an agent run by hand gets a clear refusal at once.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from pathlib import Path

from lxml import etree

from tests.daemon.conftest import VIGIL, Daemon, cib, primitive, wait_for
from tests.tools.conftest import RNG, needs_debian_agents, needs_ping, needs_schema
from vigil.daemon.statedir import store_url
from vigil.store import open_store

pytestmark = needs_debian_agents

NOT_PINGABLE = ("pingd", "lte", "0")


def ping_clone(tmp_path: Path) -> str:
    ping = primitive("ping", "ocf:pacemaker:ping", {"host_list": "127.0.0.1", "attempts": "1"}, interval="5s")
    return f'      <clone id="ping-clone">\n{ping}\n      </clone>'


def dummy(rsc: str, tmp_path: Path) -> str:
    return primitive(rsc, "ocf:heartbeat:Dummy", {"state": str(tmp_path / f"{rsc}.state")}, interval="5s")


def rule_location(rsc: str, attribute: str, operation: str, value: str) -> str:
    """rsc is kept off (-INFINITY) every node where ``attribute operation value`` or it is not defined."""
    return f"""
      <rsc_location id="{rsc}-needs-{attribute}" rsc="{rsc}">
        <rule id="{rsc}-needs-{attribute}-rule" score="-INFINITY" boolean-op="or">
          <expression id="{rsc}-e1" attribute="{attribute}" operation="{operation}" value="{value}"
                      type="{'integer' if operation in ('lte', 'gt') else 'string'}"/>
          <expression id="{rsc}-e2" attribute="{attribute}" operation="not_defined"/>
        </rule>
      </rsc_location>"""


def vigil(daemon: Daemon, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VIGIL), *args, "--state-dir", str(daemon.state_dir)], capture_output=True,
                          text=True, check=False, timeout=60)


def runs_on(daemon: Daemon, rsc: str) -> tuple[str, ...]:
    return tuple(daemon.resource(rsc).nodes)


def permanent_attribute(daemon: Daemon, name: str) -> str | None:
    config = daemon.snapshot().cluster.config
    for node in config.nodes:
        if node.uname == daemon.node:
            return next((v for s in node.attributes for k, v in s.values if k == name), None)
    return None


@needs_ping
def test_ping_publishes_pingd_and_a_rule_on_it_decides_where_a_resource_runs(
        daemon: Daemon, tmp_path: Path) -> None:
    constraints = rule_location("web", *NOT_PINGABLE)
    daemon.write_config(cib(f"{ping_clone(tmp_path)}\n{dummy('web', tmp_path)}", constraints=constraints))
    daemon.start()
    # ping's start publishes pingd with its default dampening (5s): web waits for it, then starts.
    wait_for("ping to publish pingd", lambda: daemon.attribute("pingd") == "1", timeout=30)
    wait_for("web to start where pingd is set", lambda: runs_on(daemon, "web") == (daemon.node,))
    starts = [e for e in daemon.operation_log() if e.resource == "web" and e.record.operation == "start"]
    pingd_set = [e for e in daemon.operation_log() if e.resource.startswith("ping")
                 and e.record.operation == "start"]
    assert starts and pingd_set and starts[0].revision > pingd_set[0].revision

    status = vigil(daemon, "status", "--format", "json")
    assert status.returncode == 0, status.stderr
    node = json.loads(status.stdout)["nodes"][0]
    assert node["attributes"]["pingd"] == "1"

    # ping stops: it removes pingd (after its dampening), and web may no longer run here.
    assert vigil(daemon, "resource", "stop", "ping-clone").returncode == 0
    wait_for("pingd to be removed", lambda: daemon.attribute("pingd") is None, timeout=30)
    wait_for("web to stop once pingd is gone", lambda: runs_on(daemon, "web") == ())


def test_the_attribute_agent_sets_its_attribute_and_a_resource_follows_it(
        daemon: Daemon, tmp_path: Path) -> None:
    flag = primitive("flag", "ocf:pacemaker:attribute",
                     {"name": "flag-up", "active_value": "yes", "inactive_value": "no",
                      "state": str(tmp_path / "flag.state")}, interval="5s")
    constraints = rule_location("follower", "flag-up", "ne", "yes")
    daemon.write_config(cib(f"{flag}\n{dummy('follower', tmp_path)}", constraints=constraints))
    daemon.start()
    wait_for("the attribute agent to start", lambda: runs_on(daemon, "flag") == (daemon.node,))
    assert daemon.attribute("flag-up") == "yes"
    wait_for("the follower to start where flag-up=yes", lambda: runs_on(daemon, "follower") == (daemon.node,))
    wait_for("the cluster to settle", daemon.is_settled)
    # Its monitor reads the attribute back through attrd_updater --query: it stays running.
    assert not daemon.resource("flag").failed

    assert vigil(daemon, "resource", "stop", "flag").returncode == 0
    wait_for("the attribute agent to set its inactive value", lambda: daemon.attribute("flag-up") == "no")
    wait_for("the follower to stop", lambda: runs_on(daemon, "follower") == ())


def answers(out: Path) -> dict[str, tuple[str, int]]:
    """The test agent's answers: question -> (stdout, exit code)."""
    found = {}
    for path in out.iterdir():
        if path.suffix == ".err":
            continue
        text, _, rc = path.read_text().rpartition("rc=")
        found[path.name] = (text.rstrip("\n"), int(rc))
    return found


def talker_agent(tmp_path: Path, out: Path) -> str:
    return primitive("talker", "ocf:test:Talker", {"state": str(tmp_path / "talker.state"), "out": str(out)},
                     interval="10s")


ALERT_AGENT = """#!/bin/sh
# Writes down which crm_node an alert agent finds, and what it answers.
echo "$HA_SBIN_DIR $(command -v crm_node) $(crm_node -n)" > "$CRM_alert_recipient"
"""


def test_an_agent_asking_the_cluster_gets_pacemakers_answers(daemon: Daemon, tmp_path: Path) -> None:
    out = tmp_path / "answers"
    talker = talker_agent(tmp_path, out)
    alert = tmp_path / "alert.sh"
    alert.write_text(ALERT_AGENT)
    alert.chmod(0o755)
    seen_by_alert = tmp_path / "alert.out"
    alerts = (f'<alerts><alert id="tools" path="{alert}"><recipient id="tools-to" value="{seen_by_alert}"/>'
              "</alert></alerts>")
    daemon.write_config(cib(talker).replace("</constraints>", f"</constraints>\n    {alerts}"))
    daemon.start()
    wait_for("the talker to start", lambda: runs_on(daemon, "talker") == (daemon.node,))
    got = answers(out)

    node = daemon.node
    assert got["node-name"] == (node, 0)
    assert got["node-list"] == (f"1 {node} member", 0)
    assert got["node-partition"] == (node, 0)
    assert got["node-quorum"] == ("1", 0)
    assert got["set-forever"] == ("", 0)
    assert got["get-forever"] == (node, 0)
    assert got["get-forever-text"] == (f"scope=nodes  name=talker-home value={node}", 0)
    assert got["get-missing"] == ("", 105)
    assert got["set-reboot"] == ("", 0)
    assert got["query-all"] == (f'name="talker-seen" host="{node}" value="yes"', 0)
    assert got["query-missing"][0] == "" and got["query-missing"][1] != 0
    assert got["promotion"] == ("", 0)
    assert got["promotion-get"] == ("10", 0)
    assert 'name="talker-seen"' in got["cib-xpath"][0] and 'value="yes"' in got["cib-xpath"][0]
    # Each where Pacemaker keeps it: permanent in the configuration, transient in the status.
    assert permanent_attribute(daemon, "talker-home") == node
    assert daemon.attribute("talker-seen") == "yes"
    assert daemon.attribute("master-talker") == "10"

    wait_for("the alert agent to run", lambda: seen_by_alert.exists())
    sbin, found, name = seen_by_alert.read_text().split()
    assert (found, name) == (f"{sbin}/crm_node", node)
    assert Path(sbin) == daemon.state_dir / "bin"


@needs_schema
def test_crm_mon_from_inside_an_agent_validates_against_pacemakers_schema(
        daemon: Daemon, tmp_path: Path) -> None:
    out = tmp_path / "answers"
    talker = talker_agent(tmp_path, out)
    daemon.write_config(cib(talker))
    daemon.start()
    wait_for("the talker to start", lambda: runs_on(daemon, "talker") == (daemon.node,))
    text, rc = answers(out)["crm-mon"]
    assert rc == 0, (out / "crm-mon.err").read_text()
    document = etree.fromstring(text.encode())
    schema = etree.RelaxNG(etree.parse(str(RNG)))
    assert schema.validate(document), schema.error_log
    assert [node.get("name") for node in document.iterfind("nodes/node")] == [daemon.node]


def test_transient_attributes_are_cleared_when_the_node_joins_again_and_its_failures_kept(
        daemon: Daemon, tmp_path: Path) -> None:
    daemon.write_config(cib(dummy("web", tmp_path)))
    daemon.start()
    wait_for("web to start", lambda: runs_on(daemon, "web") == (daemon.node,))
    tool = daemon.state_dir / "bin" / "attrd_updater"
    env = {**os.environ, "VIGIL_STATE_DIR": str(daemon.state_dir)}
    subprocess.run([str(tool), "-n", "published", "-U", "1"], env=env, check=True, timeout=30)
    assert daemon.attribute("published") == "1"
    assert daemon.stop() == 0

    async def failed_once() -> None:
        async with open_store(store_url(daemon.state_dir), create=False) as store:
            await store.set_node_attribute(daemon.node, "fail-count-web#monitor_5000", "1")
            await store.set_node_attribute(daemon.node, "standby", "on")

    asyncio.run(failed_once())
    daemon.start(config=False)
    wait_for("the node to join again", lambda: daemon.attribute("published") is None)
    assert daemon.attribute("fail-count-web#monitor_5000") == "1"
    assert daemon.attribute("standby") == "on"


@needs_ping
def test_an_agent_run_by_hand_without_a_daemon_is_refused_at_once(tmp_path: Path,
                                                                   tools_ocf_root: Path) -> None:
    env = {**os.environ, "VIGIL_STATE_DIR": str(tmp_path / "no-vigil"), "HA_VARRUN": str(tmp_path),
           "HA_RSCTMP": str(tmp_path), "OCF_ROOT": str(tools_ocf_root)}
    began = time.monotonic()
    command = [str(VIGIL), "agent", "run", "ocf:pacemaker:ping", "start", "-p", "host_list=127.0.0.1",
               "-p", "attempts=1"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert time.monotonic() - began < 60
    assert "attrd_updater: Could not update pingd=1: cannot reach the cluster (not connected)" in done.stdout
    assert f"no vigil runs with the state directory {tmp_path / 'no-vigil'}" in done.stdout
    assert done.returncode != 0


COMMANDS = [["attrd_updater", "-n", "x", "-U", "1"], ["crm_attribute", "-n", "x", "-G"], ["crm_node", "-l"],
            ["crm_mon", "-1", "-X"], ["cibadmin", "-Q"], ["crm_resource", "-z", "-r", "web", "-g", "cpu"],
            ["stonith_admin", "-H", "*"]]


def test_the_shims_reach_the_daemon_and_say_so_at_once_when_it_is_gone(daemon: Daemon,
                                                                        tmp_path: Path) -> None:
    daemon.write_config(cib(dummy("web", tmp_path)))
    daemon.start()
    env = {**os.environ, "VIGIL_STATE_DIR": str(daemon.state_dir)}
    tools = [[str(daemon.state_dir / "bin" / command[0]), *command[1:]] for command in COMMANDS]
    for tool in tools:
        answered = subprocess.run(tool, env=env, capture_output=True, text=True, timeout=30, check=False)
        assert answered.returncode in (0, 105), (tool, answered.stderr)
    daemon.kill9()  # api.json stays behind, naming a port nothing listens on
    for tool in tools:
        began = time.monotonic()
        refused = subprocess.run(tool, env=env, capture_output=True, text=True, timeout=30, check=False)
        assert time.monotonic() - began < 10
        assert refused.returncode == 102, (tool, refused.stderr)
        assert "cannot reach the cluster (not connected)" in refused.stderr
