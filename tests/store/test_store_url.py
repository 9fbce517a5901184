"""Which store a node uses: ``--store URL``, ``$VIGIL_STORE``, the URL its state directory recorded.

The daemon records the URL it opened in the state directory (``store-url``),
so ``vigil config load/show`` find an etcd store while the daemon is down.
The commands run for real (click's runner) against the session's etcd.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.store.conftest import etcd_url
from tests.store.etcd_server import EtcdServer
from vigil.cli.main import cli
from vigil.daemon.statedir import (
    STORE_ENV,
    STORE_URL_FILE,
    prepare_state_dir,
    read_store_url,
    record_store_url,
    resolve_store_url,
    store_url,
)
from vigil.store import open_store

CIB = """<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config>
      <cluster_property_set id="opts">
        <nvpair id="opts-stonith" name="stonith-enabled" value="false"/>
      </cluster_property_set>
    </crm_config>
    <nodes><node id="1" uname="node1"/></nodes>
    <resources>
      <primitive id="web" class="ocf" provider="heartbeat" type="Dummy"/>
    </resources>
    <constraints/>
  </configuration>
  <status/>
</cib>
"""


def test_the_url_comes_from_the_option_the_environment_the_record_or_the_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = prepare_state_dir(tmp_path / "state")
    monkeypatch.delenv(STORE_ENV, raising=False)
    assert resolve_store_url(state) == store_url(state)  # the SQLite store in the directory
    record_store_url(state, "etcd://127.0.0.1:23790/prod")
    assert (state / STORE_URL_FILE).stat().st_mode & 0o777 == 0o600
    assert read_store_url(state) == "etcd://127.0.0.1:23790/prod"
    assert resolve_store_url(state) == "etcd://127.0.0.1:23790/prod"
    monkeypatch.setenv(STORE_ENV, "etcd://127.0.0.1:23791/env")
    assert resolve_store_url(state) == "etcd://127.0.0.1:23791/env"
    assert resolve_store_url(state, "sqlite:///tmp/x.db") == "sqlite:///tmp/x.db"


def test_config_load_and_show_reach_an_etcd_store_without_a_daemon(
    etcd_server: EtcdServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(STORE_ENV, raising=False)
    url = etcd_url(etcd_server)
    cib = tmp_path / "cib.xml"
    cib.write_text(CIB)
    state = str(tmp_path / "state")
    runner = CliRunner()
    loaded = runner.invoke(cli, ["config", "load", "--state-dir", state, "--store", url, "--node", "node1",
                                 str(cib)])
    assert loaded.exit_code == 0, loaded.output
    assert not (tmp_path / "state" / "vigil.db").exists()  # it went to etcd, not to SQLite

    async def stored() -> list[str]:
        async with open_store(url) as store:
            config, _ = await store.get_config()
        return [r.id for r in config.resources]

    assert asyncio.run(stored()) == ["web"]
    monkeypatch.setenv(STORE_ENV, url)
    shown = runner.invoke(cli, ["config", "show", "--state-dir", state])
    assert shown.exit_code == 0, shown.output
    assert 'id="web"' in shown.output
    # Recorded by a daemon that ran on etcd: found with neither option nor environment.
    monkeypatch.delenv(STORE_ENV)
    record_store_url(Path(state), url)
    shown = runner.invoke(cli, ["config", "show", "--state-dir", state, "--format", "yaml"])
    assert shown.exit_code == 0, shown.output
    assert "web" in shown.output
