"""A cluster's configuration is never silently replaced (issue 15): the rules, over a memory store.

``check_replacement`` (a file naming no nodes never replaces a cluster of
several), ``check_start_file`` (``vigil run --config`` on a cluster store:
the same file, or the same plus this node joining, or nothing), duplicate
node names, and the loads that must go through them: ``load_config`` (the
command line and the API) and ``install`` (the daemon).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest

from tests.api.conftest import AUTH, Api, run_api
from vigil.admin.commands import Admin
from vigil.admin.configuration import load_config
from vigil.admin.errors import BadConfiguration
from vigil.admin.intake import (
    Findings,
    agrees_with_file,
    check_replacement,
    check_start_file,
    config_differences,
    install,
    parse_config,
    with_node,
)
from vigil.errors import InputError, Problem
from vigil.model.config import Config
from vigil.store import MemoryStore


def cib(nodes: str, resources: str = "") -> bytes:
    return f"""<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config>
      <cluster_property_set id="opts">
        <nvpair id="opts-stonith" name="stonith-enabled" value="false"/>
      </cluster_property_set>
    </crm_config>
    <nodes>{nodes}</nodes>
    <resources>
      <primitive id="web" class="ocf" provider="heartbeat" type="Dummy"/>
      {resources}
    </resources>
    <constraints/>
  </configuration>
</cib>""".encode()


def nodes(*names: str) -> str:
    return "".join(f'<node id="{name}" uname="{name}"/>' for name in names)


def parsed(data: bytes) -> Config:
    return parse_config(data, "cluster.xml")[0]


THREE = parsed(cib(nodes("n1", "n2", "n3")))
NODELESS = parsed(cib(""))
EXTRA = '<primitive id="db" class="ocf" provider="heartbeat" type="Dummy"/>'


# -- check_replacement: a file naming no nodes ------------------------------------------------


def test_a_file_naming_no_nodes_cannot_replace_a_cluster_of_several() -> None:
    problems = check_replacement(THREE, NODELESS, "new.xml")
    assert len(problems) == 1
    assert problems[0].where == "new.xml"
    assert "names no nodes, but the cluster's configuration has 3 (n1, n2, n3)" in problems[0].message
    assert "list them in the file's nodes section" in problems[0].message


def test_a_file_naming_no_nodes_may_replace_one_node_or_an_empty_store() -> None:
    assert check_replacement(parsed(cib(nodes("n1"))), NODELESS, "new.xml") == []
    assert check_replacement(Config(), NODELESS, "new.xml") == []


def test_a_file_that_lists_nodes_may_replace_a_cluster() -> None:
    assert check_replacement(THREE, parsed(cib(nodes("n1"))), "new.xml") == []


# -- check_start_file: vigil run --config on a cluster store ----------------------------------


def test_the_same_file_starts_a_second_node() -> None:
    assert check_start_file(THREE, parsed(cib(nodes("n1", "n2", "n3"))), "n2", "a.xml") == []


def test_a_file_that_differs_only_by_this_node_added_is_the_same() -> None:
    # The first node loaded a file naming no nodes: it was stored with that node added.
    stored = with_node(NODELESS, "n1")
    assert check_start_file(stored, NODELESS, "n1", "a.xml") == []


def test_a_differing_file_is_refused_with_what_differs_and_how_to_replace_it() -> None:
    loaded = parsed(cib(nodes("n1", "n2", "n4"), EXTRA))
    [problem] = check_start_file(THREE, loaded, "n2", "/etc/vigil/b.xml")
    assert problem.where == "/etc/vigil/b.xml"
    assert "differs from the running cluster's configuration" in problem.message
    assert "nodes added n4; removed n3" in problem.message
    assert "resources added db" in problem.message
    assert "start without --config to run the cluster's configuration" in problem.message
    assert "`vigil config load /etc/vigil/b.xml`" in problem.message


def test_a_node_the_cluster_does_not_list_joins_when_the_rest_is_the_same() -> None:
    joined = parsed(cib(nodes("n1", "n2", "n3", "n4")))
    assert check_start_file(THREE, joined, "n4", "a.xml") == []
    # A cluster whose configuration names no node yet: the file naming none joins this node.
    assert check_start_file(NODELESS, NODELESS, "n1", "a.xml") == []


def test_a_joining_node_is_refused_when_anything_else_differs() -> None:
    joined = parsed(cib(nodes("n1", "n2", "n3", "n4"), EXTRA))
    [problem] = check_start_file(THREE, joined, "n4", "a.xml")
    assert "resources added db" in problem.message
    assert "to join, make the file the cluster's configuration (`vigil config show`) plus node n4" \
        in problem.message


def test_a_listed_node_cannot_add_another_node_by_starting() -> None:
    # n1 is listed already: n4 added by its file is a change to the cluster, not a join.
    [problem] = check_start_file(THREE, parsed(cib(nodes("n1", "n2", "n3", "n4"))), "n1", "a.xml")
    assert "nodes added n4" in problem.message


def test_a_node_less_file_on_a_cluster_of_several_names_the_nodes() -> None:
    [problem] = check_start_file(THREE, NODELESS, "n2", "a.xml")
    assert "names no nodes, but the cluster's configuration has 3 (n1, n2, n3)" in problem.message


# -- config_differences ------------------------------------------------------------------------


def test_every_compared_field_of_a_configuration_is_named_by_what_differs() -> None:
    """A field added to Config without a section would only say "the configurations differ"."""
    compared = [f.name for f in dataclasses.fields(Config) if f.compare]
    assert compared
    for name in compared:
        # Anything with an id will do: the comparison only reads ids (and a Node's name).
        values: dict[str, Any] = {name: (SimpleNamespace(id="x"),)}
        changed = replace(Config(), **values)
        found = config_differences(Config(), changed)
        assert len(found) == 1 and found[0].endswith("added x"), (name, found)


def test_a_changed_resource_and_reordered_nodes_are_told_apart() -> None:
    changed = parsed(cib(nodes("n3", "n2", "n1")).replace(b'type="Dummy"', b'type="Stateful"'))
    assert config_differences(THREE, changed) == ["nodes reordered", "resources changed web"]


# -- duplicate node names and ids ----------------------------------------------------------------


def test_two_nodes_with_one_name_are_refused_with_the_line() -> None:
    data = cib('<node id="1" uname="n1"/>\n<node id="2" uname="n1"/>')
    with pytest.raises(InputError) as refused:
        parse_config(data, "dup.xml")
    [message] = refused.value.messages
    assert message.startswith("dup.xml:9 /cib/configuration/nodes/node[@id='2']: duplicate uname 'n1' "
                              "(already used by <node> at line 8)")


def test_two_nodes_with_one_id_are_refused_with_the_line() -> None:
    data = cib('<node id="1" uname="n1"/>\n<node id="1" uname="n2"/>')
    with pytest.raises(InputError) as refused:
        parse_config(data, "dup.xml")
    [message] = refused.value.messages
    assert message.startswith("dup.xml:9 /cib/configuration/nodes/node[@id='1']: duplicate id '1'")


def test_two_yaml_nodes_with_one_name_are_refused_with_line_and_column() -> None:
    data = b"nodes:\n  - name: n1\n  - name: n1\n    id: other\nresources: []\n"
    with pytest.raises(InputError) as refused:
        parse_config(data, "dup.yaml")
    assert refused.value.messages == ("dup.yaml:3:5: duplicate name 'n1' (already used by a node at line 2): "
                                      "node names must be unique; rename one of them",)


# -- install (the daemon) and load_config (command line, API) ------------------------------------


def stored(config: Config) -> MemoryStore:
    store = MemoryStore()
    asyncio.run(store.put_config(config, 0))
    return store


def test_install_refuses_what_the_stored_configuration_disagrees_with_and_writes_nothing() -> None:
    store = stored(THREE)
    loaded = parsed(cib(nodes("n1", "n2", "n3"), EXTRA))

    async def attempt() -> None:
        await install(store, with_node(loaded, "n2"), agrees=agrees_with_file(loaded, "n2", "b.xml"))

    with pytest.raises(InputError) as refused:
        asyncio.run(attempt())
    assert "resources added db" in refused.value.messages[0]
    assert asyncio.run(store.get_config()) == (THREE, 1)


def test_install_writes_a_joining_node_and_leaves_the_same_file_alone() -> None:
    store = stored(THREE)
    joined = parsed(cib(nodes("n1", "n2", "n3", "n4")))
    assert asyncio.run(install(store, joined, agrees=agrees_with_file(joined, "n4", "a.xml"))) is True
    assert asyncio.run(store.get_config()) == (joined, 2)
    assert asyncio.run(install(store, joined, agrees=agrees_with_file(joined, "n1", "a.xml"))) is False
    assert asyncio.run(store.get_config())[1] == 2


def test_install_on_an_empty_store_takes_the_file_without_asking() -> None:
    store = MemoryStore()

    def never(config: Config) -> list[Problem]:
        raise AssertionError("an empty store has nothing to agree with")

    assert asyncio.run(install(store, THREE, agrees=never)) is True
    assert asyncio.run(store.get_config()) == (THREE, 1)


def test_install_without_agreement_replaces_as_before() -> None:
    """The single-node store (SQLite) path: the file replaces what is stored."""
    store = stored(THREE)
    other = with_node(parsed(cib("", EXTRA)), "n1")
    assert asyncio.run(install(store, other)) is True
    assert asyncio.run(store.get_config()) == (other, 2)


async def no_problems(config: Config) -> Findings:
    return Findings()


def load(store: MemoryStore, data: bytes, node: str) -> Any:
    admin = Admin(store=store, poke=lambda reason: None, clock=time.time, node=node)
    return asyncio.run(load_config(admin, data, "new.xml", parse_config, no_problems))


@pytest.mark.parametrize("node", ["", "n1"])
def test_loading_a_node_less_file_into_three_nodes_is_refused(node: str) -> None:
    store = stored(THREE)
    with pytest.raises(BadConfiguration) as refused:
        load(store, cib("", EXTRA), node)
    assert refused.value.message == "new.xml: cannot replace the cluster's configuration; nothing was changed"
    assert "3 (n1, n2, n3)" in refused.value.details[0]
    assert asyncio.run(store.get_config()) == (THREE, 1)


def test_loading_a_file_that_lists_nodes_replaces_the_cluster_on_purpose() -> None:
    store = stored(THREE)
    result = load(store, cib(nodes("n1", "n2"), EXTRA), "n1")
    assert result.changed
    assert [n.uname for n in asyncio.run(store.get_config())[0].nodes] == ["n1", "n2"]


def test_the_api_refuses_a_node_less_configuration_for_three_nodes() -> None:
    async def test(client: Api) -> None:
        response = await client.client.put("/api/v1/config", content=cib("", EXTRA), headers=AUTH,
                                           params={"name": "new.xml"})
        assert response.status_code == 400, response.text
        assert "3 (n1, n2, n3)" in response.text
        assert await client.config() == (THREE, 1)

    run_api(test, config=THREE)
