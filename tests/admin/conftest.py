"""A configuration with every kind of resource, for the admin tests (pure: no store, no clock)."""

from __future__ import annotations

import pytest

from vigil.formats.cib.load import load_cib
from vigil.model.config import Config

CIB = b"""<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config>
      <cluster_property_set id="opts">
        <nvpair id="opts-stonith" name="stonith-enabled" value="false"/>
      </cluster_property_set>
    </crm_config>
    <nodes>
      <node id="1" uname="n1"/>
      <node id="2" uname="n2">
        <instance_attributes id="n2-attrs">
          <nvpair id="n2-rack" name="rack" value="r2"/>
        </instance_attributes>
      </node>
    </nodes>
    <resources>
      <primitive id="web" class="ocf" provider="heartbeat" type="Dummy">
        <meta_attributes id="web-meta">
          <nvpair id="web-mt" name="migration-threshold" value="3"/>
        </meta_attributes>
        <meta_attributes id="web-meta-night" score="10">
          <rule id="web-night" score="0">
            <date_expression id="web-night-date" operation="gt" start="2099-01-01"/>
          </rule>
          <nvpair id="web-night-role" name="target-role" value="Stopped"/>
        </meta_attributes>
      </primitive>
      <primitive id="plain" class="ocf" provider="heartbeat" type="Dummy"/>
      <primitive id="web-on-n1" class="ocf" provider="heartbeat" type="Dummy"/>
      <group id="g">
        <primitive id="a" class="ocf" provider="heartbeat" type="Dummy">
          <meta_attributes id="a-meta">
            <nvpair id="a-role" name="target-role" value="Stopped"/>
          </meta_attributes>
        </primitive>
        <primitive id="b" class="ocf" provider="heartbeat" type="Dummy"/>
      </group>
      <clone id="c">
        <meta_attributes id="c-meta">
          <nvpair id="c-role" name="target-role" value="Stopped"/>
        </meta_attributes>
        <primitive id="d" class="ocf" provider="heartbeat" type="Dummy"/>
      </clone>
      <clone id="u">
        <meta_attributes id="u-meta">
          <nvpair id="u-unique" name="globally-unique" value="true"/>
        </meta_attributes>
        <primitive id="e" class="ocf" provider="heartbeat" type="Dummy"/>
      </clone>
      <clone id="cg">
        <group id="h">
          <primitive id="x" class="ocf" provider="heartbeat" type="Dummy"/>
          <primitive id="y" class="ocf" provider="heartbeat" type="Dummy"/>
        </group>
      </clone>
    </resources>
    <constraints>
      <rsc_location id="loc-web" rsc="web" node="n2" score="50"/>
    </constraints>
  </configuration>
  <status/>
</cib>
"""


@pytest.fixture
def config() -> Config:
    cluster, _ = load_cib(CIB, name="admin.xml")
    return cluster.config
