"""Meta-data: OCF 1.0 and 1.1 parsed, problems found, parameters checked; every Debian agent read."""

from __future__ import annotations

import asyncio

import pytest

from vigil.executor import AgentSpec, Executor, MetadataError, check_params, parse_metadata
from vigil.executor.metadata import missing_mandatory_actions

from .conftest import needs_debian_agents, run

OCF_1_0 = b"""<?xml version="1.0"?>
<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">
<resource-agent name="Old" version="0.9">
<version>1.0</version>
<longdesc lang="en">An agent in the old style.</longdesc>
<shortdesc lang="en">Old style</shortdesc>
<parameters>
<parameter name="ip" unique="1" required="1">
<longdesc lang="en">The address.</longdesc>
<shortdesc lang="en">IP address</shortdesc>
<content type="string" />
</parameter>
<parameter name="port" unique="0">
<longdesc lang="en">The port.</longdesc>
<shortdesc lang="fr">Le port</shortdesc>
<shortdesc lang="en">Port</shortdesc>
<content type="integer" default="80" />
</parameter>
</parameters>
<actions>
<action name="start" timeout="20s" />
<action name="stop" timeout="100" />
<action name="monitor" depth="0" timeout="20s" interval="10s" />
<action name="monitor" depth="10" timeout="60s" interval="1m" />
<action name="meta-data" timeout="5s" />
</actions>
</resource-agent>
"""

OCF_1_1 = b"""<?xml version="1.0"?>
<resource-agent name="New" version="2.0">
  <version>1.1</version>
  <shortdesc lang="en">New style</shortdesc>
  <longdesc lang="en">An agent in the new style.</longdesc>
  <parameters>
    <parameter name="a" unique-group="pair" reloadable="1">
      <shortdesc lang="en">A</shortdesc><longdesc lang="en">A.</longdesc>
      <content type="boolean" default="false"/>
    </parameter>
    <parameter name="b" unique-group="pair">
      <shortdesc lang="en">B</shortdesc><longdesc lang="en">B.</longdesc>
      <content type="select" default="x"><option value="x"/><option value="y"/></content>
    </parameter>
    <parameter name="old">
      <deprecated><replaced-with name="b"/><desc lang="en">Use b.</desc></deprecated>
      <shortdesc lang="en">Old</shortdesc><longdesc lang="en">Old.</longdesc>
      <content type="string"/>
    </parameter>
  </parameters>
  <actions>
    <action name="start" timeout="30s"/>
    <action name="stop" timeout="30s"/>
    <action name="monitor" timeout="10s" interval="10s" role="Promoted"/>
    <action name="monitor" timeout="10s" interval="11s" role="Unpromoted"/>
    <action name="promote" timeout="10s"/>
    <action name="demote" timeout="10s"/>
    <action name="meta-data" timeout="5s"/>
    <action name="validate-all" timeout="5s"/>
  </actions>
</resource-agent>
"""


def test_ocf_1_0() -> None:
    md = parse_metadata(OCF_1_0)
    assert (md.name, md.ocf_version, md.agent_version, md.shortdesc) == ("Old", "1.0", "0.9", "Old style")
    ip, port = md.parameters
    assert (ip.required, ip.unique_group, ip.type) == (True, "ip", "string")
    assert (port.unique_group, port.type, port.default, port.shortdesc) == (None, "integer", "80", "Port")
    assert md.timeout_ms("stop") == 100_000  # a bare number is seconds
    assert md.timeout_ms("monitor", 10_000) == 20_000
    assert md.timeout_ms("monitor", 60_000) == 60_000
    assert md.monitor_interval_ms() == 10_000
    assert md.problems == ()


def test_ocf_1_1() -> None:
    md = parse_metadata(OCF_1_1)
    a, b, old = md.parameters
    assert (a.type, a.reloadable, a.unique_group) == ("boolean", True, "pair")
    assert (b.type, b.options, b.unique_group) == ("select", ("x", "y"), "pair")
    assert (old.deprecated, old.replaced_with) == (True, ("b",))
    assert md.has_action("promote") and md.has_action("validate-all")
    assert md.action("monitor", 11_000) is not None and md.action("monitor", 11_000).role == "Unpromoted"
    assert md.problems == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"", "printed nothing"),
        (b"usage: agent {start|stop}", "not well-formed XML"),
        (b'<resource-agent name="x"><parameters><parameter', "not well-formed XML"),
        (b"<html><body/></html>", "root element is <html>"),
    ],
)
def test_what_is_not_meta_data_is_an_error_that_says_why(text: bytes, message: str) -> None:
    with pytest.raises(MetadataError, match=message):
        parse_metadata(text)


def test_entities_are_not_resolved() -> None:
    hostile = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
    <resource-agent name="x"><shortdesc>&x;</shortdesc></resource-agent>"""
    md = parse_metadata(hostile)
    assert "root:" not in md.shortdesc


def test_problems_are_listed_not_fatal() -> None:
    md = parse_metadata(b"""<resource-agent><parameters><parameter name="p"><content type="time"/></parameter>
        </parameters><actions><action name="start"/><action name="stop" timeout="soon"/></actions>
        </resource-agent>""")
    text = "\n".join(md.problems)
    for expected in (
        "no name attribute",
        "no <version>",
        "no <shortdesc> for the agent",
        "type 'time'",
        "action 'start' has no timeout",
        "'soon' is not a duration",
        "mandatory action 'monitor' is not advertised",
    ):
        assert expected in text
    assert missing_mandatory_actions(md) == ["monitor", "meta-data"]


def test_parameters_are_checked_against_meta_data() -> None:
    old = parse_metadata(OCF_1_0)
    check = check_params(old, {"port": "eighty", "colour": "blue", "crm_feature_set": "3.16.1"})
    assert check.errors == ("required parameter 'ip' (IP address) is missing: give it with ip=VALUE",)
    assert check.warnings == (
        "parameter 'port' is declared an integer, but is 'eighty' (the agent is given it as it is)",
        "parameter 'colour' is not in Old's meta-data; the agent will likely ignore it",
    )
    assert check_params(old, {"ip": "10.0.0.1", "port": "+8080"}).errors == ()
    new = parse_metadata(OCF_1_1)
    check = check_params(new, {"a": "maybe", "b": "z", "old": "1"})
    assert check.errors == ()
    assert check.warnings == (
        "parameter 'a' is declared a boolean (true/false, yes/no, on/off, 1/0), but is 'maybe' "
        "(the agent is given it as it is)",
        "parameter 'b' is declared one of x, y, but is 'z' (the agent is given it as it is)",
        "parameter 'old' is deprecated; use b instead",
    )
    assert check_params(new, {"a": "Yes", "b": "y"}) == check_params(new, {})


@needs_debian_agents
def test_every_installed_ocf_agent_has_readable_meta_data() -> None:
    async def fetch_all() -> list[tuple[AgentSpec, str, list[str]]]:
        executor = Executor()
        specs = [
            AgentSpec("ocf", name, provider)
            for provider, names in executor.installed_agents().ocf
            for name in names
        ]
        assert len(specs) > 100
        fetches = await asyncio.gather(*(executor.fetch_metadata(spec) for spec in specs))
        return [
            (spec, fetch.error, missing_mandatory_actions(fetch.metadata) if fetch.metadata else [])
            for spec, fetch in zip(specs, fetches, strict=True)
        ]

    broken = [(str(spec), error, missing) for spec, error, missing in run(fetch_all()) if error or missing]
    assert broken == []
