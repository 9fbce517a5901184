"""The systemd class and the service alias, against a real systemd (vigil.testing.systemd).

Each test that needs systemd gets a private ``systemd --user`` of its own
(its own mount namespace and cgroups, its bus and directories under the
test's temporary directory) and points the executor at it through the two
settings, ``VIGIL_SYSTEMD_BUS`` and ``VIGIL_SYSTEMD_DROPIN_DIR``.  What systemd
did is read back from systemd itself (``ActiveState``, ``MainPID``, the
``Restart`` it applies), never from vigil.  Without root or mount
namespaces these tests skip, saying why.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.executor.conftest import run
from vigil.executor import ActionRequest, ActionResult, AgentSpec, Executor
from vigil.executor.systemd import (
    DROPIN_FILE,
    SystemdSettings,
    metadata_xml,
    unit_name,
)
from vigil.model.results import ExecStatus, OcfRc
from vigil.testing.systemd import MANAGER, PrivateSystemd, unavailable_reason

SLEEPER = ("[Unit]\nDescription=A <sleeping> web & co\n\n"
           "[Service]\nExecStart=/bin/sleep infinity\nRestart=always\n")


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[PrivateSystemd]:
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(f"no private systemd here: {reason}")
    with PrivateSystemd.start(tmp_path / "systemd") as manager:
        manager.write_unit("web.service", SLEEPER)
        yield manager


def executor_for(systemd: PrivateSystemd, **kwargs: Any) -> Executor:
    return Executor(environ={**os.environ, **systemd.environ()}, **kwargs)


def act(executor: Executor, action: str, agent: str = "systemd:web", timeout_ms: int = 20_000
        ) -> ActionResult:
    return run(executor.run(ActionRequest.create("web", agent, action, timeout_ms=timeout_ms)))


def wait_until(what: str, condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


# -- names and settings (no systemd needed) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("agent", "template", "unit"),
    [
        ("httpd", False, "httpd.service"),
        ("httpd.service", False, "httpd.service"),
        ("cups.socket", False, "cups.socket"),
        ("backup.timer", False, "backup.timer"),
        ("foo.bar", False, "foo.bar.service"),
        ("getty@tty1", False, "getty@tty1.service"),
        ("getty@", True, "getty@vigil.service"),
        ("getty@.service", True, "getty@vigil.service"),
    ],
)
def test_an_agent_names_its_unit_as_pacemaker_reads_it(agent: str, template: bool, unit: str) -> None:
    assert unit_name(agent, name_template=template) == unit


def test_the_bus_and_the_dropin_directory_are_settings() -> None:
    default = SystemdSettings.from_environ({})
    assert default.bus == "unix:path=/run/dbus/system_bus_socket"
    assert default.dropin_dir == Path("/run/systemd/system")
    assert SystemdSettings.from_environ({"DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/x"}).bus == "unix:path=/x"
    chosen = SystemdSettings.from_environ({"DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/x",
                                           "VIGIL_SYSTEMD_BUS": "unix:path=/y",
                                           "VIGIL_SYSTEMD_DROPIN_DIR": "/z"})
    assert (chosen.bus, chosen.dropin_dir) == ("unix:path=/y", Path("/z"))


def test_systemd_and_service_agents_parse_and_paths_do_not() -> None:
    assert AgentSpec.parse("systemd:httpd") == AgentSpec("systemd", "httpd")
    assert AgentSpec.parse("SERVICE:ntp") == AgentSpec("service", "ntp")
    assert AgentSpec.parse("systemd:getty@tty1.service") == AgentSpec("systemd", "getty@tty1.service")
    with pytest.raises(ValueError, match="systemd:UNIT"):
        AgentSpec.parse("systemd:..%2f:x")


def test_an_unreachable_bus_is_an_error_saying_where_it_looked(tmp_path: Path) -> None:
    executor = Executor(environ={"VIGIL_SYSTEMD_BUS": f"unix:path={tmp_path / 'no-bus'}"})
    result = act(executor, "monitor")
    assert (result.rc, result.status) == (OcfRc.ERR_GENERIC, ExecStatus.ERROR)
    assert f"cannot reach systemd's D-Bus at unix:path={tmp_path / 'no-bus'}" in result.exit_reason
    fetch = run(executor.fetch_metadata(AgentSpec("systemd", "web")))
    assert fetch.metadata is None and "cannot reach systemd's D-Bus" in fetch.error


def test_meta_data_escapes_the_description_and_parses() -> None:
    text = metadata_xml("web", "A <sleeping> web & co")
    assert "A &lt;sleeping&gt; web &amp; co" in text


# -- against a real systemd ---------------------------------------------------------------------------


def test_start_monitor_stop_drive_the_unit_and_its_dropin(systemd: PrivateSystemd) -> None:
    executor = executor_for(systemd)
    dropin = systemd.dropin_dir / "web.service.d" / DROPIN_FILE
    assert act(executor, "monitor").rc == OcfRc.NOT_RUNNING
    started = act(executor, "start")
    assert (started.rc, started.status) == (OcfRc.SUCCESS, ExecStatus.DONE), started.describe()
    assert systemd.active_state("web.service") == "active"
    assert "Before=vigil.service" in dropin.read_text() and "Restart=no" in dropin.read_text()
    # systemd applied it: the unit's own Restart=always is overridden.
    assert systemd.property("web.service", "Service", "Restart") == "no"
    assert systemd.property("web.service", "Unit", "Description") == "Cluster Controlled web.service"
    assert act(executor, "monitor").rc == OcfRc.SUCCESS
    assert act(executor, "status").rc == OcfRc.SUCCESS
    stopped = act(executor, "stop")
    assert (stopped.rc, stopped.status) == (OcfRc.SUCCESS, ExecStatus.DONE), stopped.describe()
    assert systemd.active_state("web.service") == "inactive"
    assert not dropin.parent.exists()
    assert systemd.property("web.service", "Service", "Restart") == "always"
    probe = act(executor, "monitor")
    assert probe.rc == OcfRc.NOT_RUNNING and probe.exit_reason.startswith("inactive")
    assert act(executor, "stop").rc == OcfRc.SUCCESS  # stopping a stopped unit


def test_a_killed_unit_is_failed_not_running_and_left_to_the_cluster(systemd: PrivateSystemd) -> None:
    executor = executor_for(systemd)
    assert act(executor, "start").rc == OcfRc.SUCCESS
    first = systemd.main_pid("web.service")
    os.kill(first, signal.SIGKILL)
    wait_until("systemd to see the main process die", lambda: systemd.active_state("web.service") == "failed")
    monitor = act(executor, "monitor")
    assert monitor.rc == OcfRc.NOT_RUNNING and monitor.status == ExecStatus.DONE
    assert monitor.exit_reason == "failed (SubState failed, Result signal)"
    time.sleep(0.5)  # Restart=always would have restarted it by now (RestartSec is 100 ms)
    assert systemd.active_state("web.service") == "failed"
    assert act(executor, "stop").rc == OcfRc.SUCCESS
    assert act(executor, "start").rc == OcfRc.SUCCESS
    assert systemd.main_pid("web.service") not in (0, first)
    assert act(executor, "stop").rc == OcfRc.SUCCESS


def test_a_start_whose_job_fails_is_a_generic_error(systemd: PrivateSystemd) -> None:
    systemd.write_unit("broken.service", "[Service]\nType=oneshot\nExecStart=/bin/false\n")
    result = act(executor_for(systemd), "start", "systemd:broken")
    assert (result.rc, result.status) == (OcfRc.ERR_GENERIC, ExecStatus.DONE)
    assert "start job for broken.service ended 'failed'" in result.exit_reason
    assert "Result exit-code" in result.exit_reason


def test_an_unknown_unit_is_not_installed_and_stopped(systemd: PrivateSystemd) -> None:
    executor = executor_for(systemd)
    for action in ("start", "monitor", "meta-data"):
        result = act(executor, action, "systemd:nothere")
        assert (result.rc, result.status) == (OcfRc.ERR_INSTALLED, ExecStatus.NOT_INSTALLED), action
        assert result.exit_reason == "systemd unit nothere.service not found"
    assert not (systemd.dropin_dir / "nothere.service.d").exists()
    stop = act(executor, "stop", "systemd:nothere")
    assert (stop.rc, stop.status) == (OcfRc.SUCCESS, ExecStatus.DONE)
    fetch = run(executor.fetch_metadata(AgentSpec("systemd", "nothere")))
    assert fetch.metadata is None and "systemd unit nothere.service not found" in fetch.error


def test_meta_data_is_made_up_from_the_units_description(systemd: PrivateSystemd) -> None:
    executor = executor_for(systemd)
    metadata = run(executor.metadata(AgentSpec("systemd", "web")))
    assert metadata.longdesc == "A <sleeping> web & co"
    assert metadata.shortdesc == "systemd unit file for web"
    assert metadata.parameters == ()
    monitor = next(a for a in metadata.actions if a.name == "monitor")
    assert (monitor.timeout_ms, monitor.interval_ms) == (100_000, 60_000)
    raw = act(executor, "meta-data")
    assert raw.rc == OcfRc.SUCCESS and '<special tag="systemd"/>' in raw.stdout


def test_other_actions_are_not_implemented(systemd: PrivateSystemd) -> None:
    result = act(executor_for(systemd), "reload")
    assert (result.rc, result.status) == (OcfRc.ERR_UNIMPLEMENTED, ExecStatus.ERROR)


def test_a_start_longer_than_its_timeout_times_out_and_a_monitor_waits_while_it_settles(
    systemd: PrivateSystemd,
) -> None:
    systemd.write_unit("slow.service",
                       "[Service]\nExecStartPre=/bin/sleep 3\nExecStart=/bin/sleep infinity\n")
    executor = executor_for(systemd)
    result = act(executor, "start", "systemd:slow", timeout_ms=400)
    assert (result.rc, result.status) == (OcfRc.ERR_GENERIC, ExecStatus.TIMEOUT)
    assert result.exit_reason == ("start of systemd unit slow.service did not complete within its timeout "
                                  "of 400 ms")
    assert act(executor, "stop", "systemd:slow").rc == OcfRc.SUCCESS
    # Started behind vigil's back: the monitor polls while the unit is activating, then answers.
    systemd.call(MANAGER, "StartUnit", "ss", ("slow.service", "replace"))
    # The start job is queued: the unit may show its last state ('failed') for a moment.
    wait_until("slow.service activating", lambda: systemd.active_state("slow.service") == "activating",
               timeout=2.5)
    monitor = act(executor, "monitor", "systemd:slow")
    assert (monitor.rc, monitor.status) == (OcfRc.SUCCESS, ExecStatus.DONE)
    assert systemd.active_state("slow.service") == "active"
    assert act(executor, "stop", "systemd:slow").rc == OcfRc.SUCCESS


def test_timeouts_anywhere_in_a_call_leave_no_connection_or_task_behind(systemd: PrivateSystemd) -> None:
    executor = executor_for(systemd)

    async def many() -> list[dict[str, Any]]:
        problems: list[dict[str, Any]] = []
        asyncio.get_running_loop().set_exception_handler(lambda _loop, context: problems.append(context))
        for i in range(60):
            action = ("monitor", "start", "stop")[i % 3]
            await executor.run(ActionRequest.create("web", "systemd:web", action, timeout_ms=1 + i % 7))
        await asyncio.sleep(0.2)
        return problems

    assert run(many()) == []
    assert act(executor, "stop").rc == OcfRc.SUCCESS
    assert systemd.active_state("web.service") == "inactive"


def test_an_unwritable_dropin_directory_fails_the_start_before_systemd_starts_anything(
    systemd: PrivateSystemd, tmp_path: Path,
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    executor = Executor(environ={**os.environ, "VIGIL_SYSTEMD_BUS": systemd.bus_address,
                                 "VIGIL_SYSTEMD_DROPIN_DIR": str(blocker)})
    result = act(executor, "start")
    assert (result.rc, result.status) == (OcfRc.ERR_GENERIC, ExecStatus.ERROR)
    assert f"cannot write the drop-in {blocker}/web.service.d/{DROPIN_FILE}" in result.exit_reason
    assert systemd.active_state("web.service") == "inactive"


def test_service_is_an_init_script_when_there_is_one_else_a_unit(
    systemd: PrivateSystemd, tmp_path: Path
) -> None:
    init_dir = tmp_path / "init.d"
    init_dir.mkdir()
    script = init_dir / "web"
    script.write_text("#!/bin/sh\n[ \"$1\" = status ] && exit 3\nexit 0\n")
    script.chmod(0o755)
    executor = executor_for(systemd, lsb_dir=init_dir)
    assert act(executor, "start", "service:web").rc == OcfRc.SUCCESS
    assert systemd.active_state("web.service") == "inactive", "the init script ran, not the unit"
    assert act(executor, "monitor", "service:web").rc == OcfRc.NOT_RUNNING
    script.unlink()
    assert act(executor, "start", "service:web").rc == OcfRc.SUCCESS
    assert systemd.active_state("web.service") == "active"
    assert act(executor, "monitor", "service:web").rc == OcfRc.SUCCESS
    fetch = run(executor.fetch_metadata(AgentSpec("service", "web")))
    assert fetch.metadata is not None and fetch.metadata.shortdesc == "systemd unit file for web"
    assert act(executor, "stop", "service:web").rc == OcfRc.SUCCESS
    missing = act(executor, "monitor", "service:nothere")
    assert (missing.rc, missing.status) == (OcfRc.ERR_INSTALLED, ExecStatus.NOT_INSTALLED)
    assert "no init script" in missing.exit_reason
    assert "no systemd unit nothere.service" in missing.exit_reason
