"""``<alerts>`` in a CIB: read as Pacemaker reads it, written back unchanged, valid to Pacemaker's schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from tests.test_cib import CORPUS, DATA, cib, corpus_files
from vigil.errors import InputError
from vigil.formats.cib.dump import dump_cib
from vigil.formats.cib.load import load_cib
from vigil.model.cluster import Cluster
from vigil.model.config import Alert, AlertRecipient, AlertSelect, Config, NvSet, SelectedAttribute
from vigil.model.status import Status
from vigil.store.codec import decode_config, encode_config

ALERTS = """<alerts>
  <alert id="file" path="/usr/share/pacemaker/alerts/alert_file.sh" description="to a log">
    <meta_attributes id="file-meta">
      <nvpair id="file-ts" name="timestamp-format" value="%Y-%m-%d %H:%M:%S.%3N"/>
      <nvpair id="file-to" name="timeout" value="10s"/>
    </meta_attributes>
    <instance_attributes id="file-attrs">
      <nvpair id="file-debug" name="debug_exec_order" value="false"/>
    </instance_attributes>
    <select>
      <select_nodes/>
      <select_resources/>
      <select_attributes>
        <attribute id="file-standby" name="standby"/>
      </select_attributes>
    </select>
    <recipient id="file-log" value="/var/log/cluster-alerts.log" description="main log">
      <meta_attributes id="file-log-meta">
        <nvpair id="file-log-to" name="timeout" value="5s"/>
      </meta_attributes>
      <instance_attributes id="file-log-attrs">
        <nvpair id="file-log-debug" name="debug_exec_order" value="true"/>
      </instance_attributes>
    </recipient>
    <recipient id="file-log2" value="/var/log/other.log"/>
  </alert>
  <alert id="bare" path="/bin/true"/>
  <alert id="hook" path="vigil:webhook">
    <recipient id="hook-1" value="https://central.example/events"/>
  </alert>
</alerts>"""

EXPECTED = (
    Alert(
        id="file",
        path="/usr/share/pacemaker/alerts/alert_file.sh",
        description="to a log",
        params=(NvSet("file-attrs", (("debug_exec_order", "false"),)),),
        meta=(NvSet("file-meta", (("timestamp-format", "%Y-%m-%d %H:%M:%S.%3N"), ("timeout", "10s"))),),
        select=AlertSelect(nodes=True, resources=True, attributes=True,
                           attribute_names=(SelectedAttribute("file-standby", "standby"),)),
        recipients=(
            AlertRecipient("file-log", "/var/log/cluster-alerts.log", "main log",
                           params=(NvSet("file-log-attrs", (("debug_exec_order", "true"),)),),
                           meta=(NvSet("file-log-meta", (("timeout", "5s"),)),)),
            AlertRecipient("file-log2", "/var/log/other.log"),
        ),
    ),
    Alert(id="bare", path="/bin/true"),
    Alert(id="hook", path="vigil:webhook", recipients=(AlertRecipient("hook-1", "https://central.example/events"),)),
)

SCHEMA = Path("/usr/share/pacemaker/pacemaker-3.9.rng")


def test_alerts_load_into_the_model_without_a_warning() -> None:
    cluster, warnings = load_cib(cib(ALERTS))
    assert cluster.config.alerts == EXPECTED
    assert not [w for w in warnings if "alert" in w]


def test_alerts_round_trip_through_the_cib_and_the_store_codec() -> None:
    config = load_cib(cib(ALERTS))[0].config
    again, _ = load_cib(dump_cib(Cluster(config=config, status=Status())))
    assert again.config == config
    assert decode_config(encode_config(config), "test") == config


def test_a_hand_built_configuration_with_alerts_is_stored_faithfully() -> None:
    config = Config(alerts=EXPECTED)
    assert decode_config(encode_config(config), "test") == config


def test_an_empty_select_and_missing_values_are_kept_or_reported() -> None:
    cluster, _ = load_cib(cib('<alerts><alert id="a" path="/x"><select/></alert></alerts>'))
    assert cluster.config.alerts == (Alert("a", "/x", select=AlertSelect()),)
    again, _ = load_cib(dump_cib(cluster))
    assert again.config.alerts == cluster.config.alerts
    with pytest.raises(InputError) as caught:
        load_cib(cib('<alerts><alert id="a"><recipient id="r"/></alert></alerts>'), name="t.xml")
    messages = [p.message for p in caught.value.problems]
    assert any("'path'" in m for m in messages) and any("'value'" in m for m in messages)


@pytest.mark.skipif(not SCHEMA.exists(), reason="Pacemaker's schemas are not installed (pacemaker-common)")
def test_the_dump_is_valid_to_pacemakers_schema() -> None:
    cluster, _ = load_cib(cib(ALERTS))
    document = etree.fromstring(dump_cib(cluster))
    schema = etree.RelaxNG(etree.parse(str(SCHEMA)))
    assert schema.validate(document), schema.error_log


def test_the_fixture_and_the_corpus_alerts_are_read() -> None:
    full, _ = load_cib(DATA / "full.xml")
    assert full.config.alerts == (Alert("alert1", "/bin/true"),)
    with_alerts = [path for path in corpus_files() if b"<alert " in path.read_bytes()]
    assert with_alerts, f"no corpus file with alerts under {CORPUS}"
    for path in with_alerts:
        cluster, _ = load_cib(path)
        assert cluster.config.alerts, path.name
        assert cluster.config.alerts[0].recipients, path.name
        again, _ = load_cib(dump_cib(cluster))
        assert again.config.alerts == cluster.config.alerts, path.name
