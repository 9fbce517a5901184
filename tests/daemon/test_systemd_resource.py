"""`vigil run` keeps a ``systemd:`` resource up against a real systemd.

The daemon is the real one (a subprocess, its SQLite store); systemd is a
private ``systemd --user`` (vigil.testing.systemd) that the daemon reaches
through ``VIGIL_SYSTEMD_BUS`` and ``VIGIL_SYSTEMD_DROPIN_DIR``.  The unit is
failed the way a service dies, its main process killed with SIGKILL, and
what follows is read from systemd itself: vigil sees it failed, stops and
starts it again (a new main process), and systemd never restarted it on its
own although the unit says ``Restart=always``.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.daemon.conftest import Daemon, cib, wait_for
from vigil.executor.systemd import DROPIN_FILE
from vigil.testing.systemd import PrivateSystemd, unavailable_reason

UNIT = "[Unit]\nDescription=web, as a unit\n\n[Service]\nExecStart=/bin/sleep infinity\nRestart=always\n"


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[PrivateSystemd]:
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(f"no private systemd here: {reason}")
    with PrivateSystemd.start(tmp_path / "systemd") as manager:
        yield manager


def systemd_primitive(rsc: str, unit: str) -> str:
    return f"""      <primitive id="{rsc}" class="systemd" type="{unit}">
        <meta_attributes id="{rsc}-meta">
          <nvpair id="{rsc}-m-threshold" name="migration-threshold" value="3"/>
        </meta_attributes>
        <operations>
          <op id="{rsc}-monitor" name="monitor" interval="1s" timeout="10s"/>
        </operations>
      </primitive>"""


def fail_count(daemon: Daemon, rsc: str) -> int:
    state = daemon.snapshot().cluster.status.node(daemon.node)
    assert state is not None
    return sum(int(v) for k, v in state.attributes if k.startswith(f"fail-count-{rsc}#"))


def test_a_systemd_resource_is_started_monitored_failed_and_recovered(
    systemd: PrivateSystemd, daemon: Daemon
) -> None:
    systemd.write_unit("web.service", UNIT)
    daemon.extra_env.update(systemd.environ())
    daemon.write_config(cib(systemd_primitive("web", "web")))
    daemon.start()
    wait_for("web to start", lambda: systemd.active_state("web.service") == "active")
    wait_for("the cluster to settle", daemon.is_settled)
    assert daemon.resource("web").role == "Started"
    assert (systemd.dropin_dir / "web.service.d" / DROPIN_FILE).exists()
    first = systemd.main_pid("web.service")

    os.kill(first, signal.SIGKILL)
    wait_for("web to be recovered with a new main process",
             lambda: systemd.active_state("web.service") == "active"
             and systemd.main_pid("web.service") not in (0, first))
    wait_for("the cluster to settle", daemon.is_settled)
    assert fail_count(daemon, "web") == 1
    view = daemon.resource("web")
    assert view.role == "Started" and view.nodes == (daemon.node,) and not view.failed
    assert "Recover web ( n1 )" in daemon.log()
    assert any(e.record.operation == "monitor" and e.record.rc == 7 for e in daemon.operation_log()), \
        "the failure was seen by a monitor (rc 7, not running)"

    assert daemon.stop() == 0
    assert systemd.active_state("web.service") == "inactive", "the graceful stop stops the unit"
    assert not (systemd.dropin_dir / "web.service.d").exists()
