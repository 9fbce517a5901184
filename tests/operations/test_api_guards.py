"""The API of a real ``vigil run`` (subprocess, uvicorn, SQLite, ocf:pacemaker:Dummy) as another
origin, a reader without the token and an oversized client see it (docs/security.md)."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.operations.test_e2e import VIGIL, wait_for

CIB = """<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config>
      <cluster_property_set id="opts">
        <nvpair id="opts-stonith" name="stonith-enabled" value="false"/>
      </cluster_property_set>
    </crm_config>
    <nodes/>
    <resources>
      <primitive id="web" class="ocf" provider="pacemaker" type="Dummy">
        <instance_attributes id="web-params">
          <nvpair id="web-state" name="state" value="{state}"/>
          <nvpair id="web-passwd" name="passwd" value="hunter2-web"/>
        </instance_attributes>
      </primitive>
    </resources>
    <constraints/>
  </configuration>
  <status/>
</cib>
"""


@dataclass
class Served:
    url: str
    token: str
    port: int


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    cib = tmp_path / "cib.xml"
    cib.write_text(CIB.format(state=tmp_path / "web.state"))
    state_dir = tmp_path / "state"
    log = tmp_path / "daemon.log"
    with log.open("wb") as output:
        process = subprocess.Popen([VIGIL, "run", "--config", str(cib), "--state-dir", str(state_dir),
                                    "--listen", "127.0.0.1:0", "--node", "n1",
                                    "--allowed-host", "vigil.example.com"],
                                   stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: (state_dir / "api.json").exists() or process.poll() is not None,
                 "the API serves", 60)
        assert process.poll() is None, log.read_text()
        url = str(json.loads((state_dir / "api.json").read_text())["url"])
        yield Served(url, (state_dir / "token").read_text().strip(), int(url.rsplit(":", 1)[1]))
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    assert "Traceback" not in log.read_text()


def test_a_real_daemon_answers_only_its_own_names(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=10) as client:
        for host in ["evil.example", f"evil.example:{served.port}", "127.0.0.1.nip.io"]:
            response = client.get("/api/v1/status", headers={"Host": host})
            assert response.status_code == 421, host
            assert "--allowed-host" in response.json()["error"]
        for host in [f"127.0.0.1:{served.port}", f"localhost:{served.port}", "vigil.example.com"]:
            assert client.get("/api/v1/status", headers={"Host": host}).status_code == 200, host


def test_a_real_daemon_shows_secrets_only_with_the_token(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=10) as client:
        for fmt in ["xml", "yaml"]:
            masked = client.get("/api/v1/config", params={"format": fmt})
            assert masked.status_code == 200 and "hunter2-web" not in masked.text and "****" in masked.text
            shown = client.get("/api/v1/config", params={"format": fmt},
                               headers={"Authorization": f"Bearer {served.token}"})
            assert "hunter2-web" in shown.text


def test_a_real_daemon_refuses_an_oversized_body_and_keeps_serving(served: Served) -> None:
    auth = {"Authorization": f"Bearer {served.token}"}
    with httpx.Client(base_url=served.url, timeout=60) as client:
        response = client.put("/api/v1/config", content=b" " * (20 * 1024 * 1024), headers=auth)
        assert response.status_code == 413 and "16 MiB" in response.json()["error"]

        def chunks() -> Iterator[bytes]:
            for _ in range(20):
                yield b" " * (1024 * 1024)

        response = client.put("/api/v1/config", content=chunks(), headers=auth)
        assert response.status_code == 413
        response = client.post("/api/v1/resources/web/ban", content=b"null",
                               headers={**auth, "Content-Type": "application/json"})
        assert response.status_code == 422 and "JSON object" in response.json()["error"]
        assert client.get("/healthz").status_code == 200


def test_an_allowed_host_that_is_not_a_host_name_stops_the_start_with_a_clear_error(tmp_path: Path) -> None:
    done = subprocess.run([VIGIL, "run", "--state-dir", str(tmp_path / "state"), "--listen", "127.0.0.1:0",
                           "--allowed-host", "http://vigil.example.com:80"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done
    assert "--allowed-host: 'http://vigil.example.com:80' is not a host name" in done.stderr
    assert "Traceback" not in done.stderr
