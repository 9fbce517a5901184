"""Bundles in the CIB XML adapter: what a ``<bundle>`` expands into, the
errors bad bundle input gets, and the round trip through dump_cib."""

from __future__ import annotations

import pytest

from vigil.errors import InputError
from vigil.formats.cib.dump import dump_cib
from vigil.formats.cib.load import load_cib
from vigil.model.config import Bundle

BUNDLE = """<bundle id="httpd-bundle">
  <docker image="pcmk:http" replicas="2"/>
  <network ip-range-start="192.168.122.131" host-interface="eth0" host-netmask="24">
    <port-mapping id="httpd-port" port="80"/>
  </network>
  <storage>
    <storage-mapping id="httpd-root" source-dir-root="/var/local/containers" target-dir="/var/www/html"
                     options="rw"/>
  </storage>
  <primitive class="ocf" id="httpd" provider="heartbeat" type="apache"/>
</bundle>"""


def cib(bundle: str = BUNDLE) -> bytes:
    return (
        '<cib validate-with="pacemaker-3.5" epoch="1" num_updates="0" admin_epoch="0">\n'
        "<configuration><crm_config/><nodes><node id=\"1\" uname=\"node1\"/></nodes>\n"
        f"<resources>{bundle}</resources><constraints/></configuration><status/></cib>\n"
    ).encode()


def the_bundle(data: bytes) -> Bundle:
    cluster, _ = load_cib(data, name="test.xml")
    (bundle,) = cluster.config.resources
    assert isinstance(bundle, Bundle)
    return bundle


def test_a_bundle_expands_per_replica_into_ip_container_and_connection() -> None:
    bundle = the_bundle(cib())
    names = [[p.id for p in replica.primitives()] for replica in bundle.replica_resources]
    assert names == [
        ["httpd-bundle-ip-192.168.122.131", "httpd-bundle-docker-0", "httpd-bundle-0"],
        ["httpd-bundle-ip-192.168.122.132", "httpd-bundle-docker-1", "httpd-bundle-1"],
    ]
    replica = bundle.replica_resources[1]
    assert replica.ip is not None and replica.remote is not None
    assert (replica.ip.cls, replica.ip.provider, replica.ip.type) == ("ocf", "heartbeat", "IPaddr2")
    assert dict(replica.ip.params[0].values)["ip"] == "192.168.122.132"
    assert (replica.container.provider, replica.container.type) == ("heartbeat", "docker")
    remote = replica.remote
    assert (remote.provider, remote.type) == ("pacemaker", "remote")
    assert dict(remote.meta[0].values)["container"] == "httpd-bundle-docker-1"
    assert dict(remote.params[0].values) == {"addr": "192.168.122.132", "port": "3121"}
    assert bundle.child_clone is not None and bundle.child_clone.id == "httpd-bundle-clone"
    assert replica.guest_node == "httpd-bundle-1"


def test_a_promotable_bundle_has_a_master_clone_with_promoted_max() -> None:
    bundle = the_bundle(cib(BUNDLE.replace('replicas="2"', 'replicas="3" promoted-max="1"')))
    assert bundle.promotable and bundle.child_clone is not None
    assert bundle.child_clone.id == "httpd-bundle-master" and bundle.child_clone.promotable
    assert ("promoted-max", "1") in bundle.child_clone.meta[0].values


def test_a_bundle_without_an_inner_resource_has_only_containers() -> None:
    bundle = the_bundle(cib('<bundle id="b"><podman image="x" replicas="2"/></bundle>'))
    names = [[p.id for p in r.primitives()] for r in bundle.replica_resources]
    assert names == [["b-podman-0"], ["b-podman-1"]]
    assert bundle.child_clone is None


@pytest.mark.parametrize(("change", "message"), [
    (('<docker image="pcmk:http" replicas="2"/>', '<docker replicas="2"/>'),
     "the container needs an 'image'"),
    (('<docker image="pcmk:http" replicas="2"/>', ""), "needs a <docker>, <podman> or <rkt> element"),
    (('replicas="2"', 'replicas="two"'), "replicas: 'two' is not a count"),
    (('<network ip-range-start="192.168.122.131" host-interface="eth0" host-netmask="24">', "<network>"),
     "cannot control 'httpd' inside it without an ip-range-start or a control-port"),
    (('<port-mapping id="httpd-port" port="80"/>', '<port-mapping id="httpd-port"/>'),
     "a port-mapping needs a 'port' or a 'range'"),
    (('source-dir-root="/var/local/containers" ', ""), "a storage-mapping needs a 'target-dir'"),
    (("192.168.122.131", "not-an-ip"), "ip-range-start 'not-an-ip' is not an IPv4 address"),
    (("192.168.122.131", "10.0.254.254"), "with room for 2 replicas"),
    (('<docker image="pcmk:http" replicas="2"/>', '<docker image="a"/><podman image="b"/>'),
     "has more than one container element"),
    (('type="apache"/>', 'type="apache"/><primitive class="ocf" id="h2" provider="ocf" type="apache"/>'),
     "a bundle holds at most one <primitive>"),
])
def test_bad_bundle_input_gets_a_clear_error(change: tuple[str, str], message: str) -> None:
    old, new = change
    assert old in BUNDLE
    with pytest.raises(InputError) as caught:
        load_cib(cib(BUNDLE.replace(old, new)), name="test.xml")
    assert any(message in problem.message for problem in caught.value.problems), caught.value.problems


def test_a_bundle_survives_the_round_trip() -> None:
    bundle = the_bundle(cib())
    cluster, _ = load_cib(cib(), name="test.xml")
    again = the_bundle(dump_cib(cluster))
    assert again == bundle
    assert again.replica_resources == bundle.replica_resources
