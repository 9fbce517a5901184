"""``vigil config load`` refuses names that would steer a path, and runs nothing to check them (issue 12)."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner

from vigil.cli.main import cli
from vigil.executor.environment import ocf_root

CIB = """<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config/>
    <nodes/>
    <resources>
      <primitive id="{id}" class="ocf" provider="{provider}" type="{type}"/>
    </resources>
  </configuration>
</cib>
"""


def load(tmp_path: Path, **names: str) -> tuple[int, str]:
    config = tmp_path / "cib.xml"
    config.write_text(CIB.format(**{"id": "web", "provider": "heartbeat", "type": "Dummy", **names}))
    result = CliRunner().invoke(cli, ["config", "load", str(config), "--state-dir", str(tmp_path / "state")])
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stderr


def test_an_agent_outside_the_ocf_directory_is_refused_and_never_run(tmp_path: Path) -> None:
    planted = tmp_path / "x"
    planted.mkdir()
    marker = tmp_path / "RAN"
    (planted / "evil").write_text(f"#!/bin/sh\ntouch {marker}\necho '<resource-agent name=\"evil\"/>'\n")
    (planted / "evil").chmod(0o755)
    provider = os.path.relpath(planted, ocf_root() / "resource.d")
    code, err = load(tmp_path, provider=provider, type="evil")
    assert code == 2, err
    assert f"resource web: agent 'ocf:{provider}:evil': its provider {provider!r} is not a plain name" in err
    assert "nothing was changed" in err
    assert not marker.exists(), "the agent was run to check it"


def test_a_resource_id_that_is_a_path_is_refused_with_its_line(tmp_path: Path) -> None:
    code, err = load(tmp_path, id="../../../tmp/x/PWNED")
    assert code == 2, err
    assert f"{tmp_path / 'cib.xml'}:6 /cib/configuration/resources/primitive" in err
    assert "id '../../../tmp/x/PWNED' is not a valid id" in err
