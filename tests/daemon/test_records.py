"""What the daemon records is the history Pacemaker itself would write.

The scheduler decides from the operation history alone, so the records the
controller writes (ids, exit codes, expected codes, digests of the
parameters, recurring monitors) must read the same to Pacemaker: a settled
cluster, exported as a CIB, must make Pacemaker's own scheduler plan
nothing at all, not even a monitor.  That holds after a fresh start and
after a restart of the daemon, where every resource is found by a probe.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.daemon.conftest import Daemon, cib, needs_dummy, primitive, wait_for
from vigil.formats.cib.dump import dump_cib

needs_crm_simulate = pytest.mark.skipif(shutil.which("crm_simulate") is None,
                                        reason="Pacemaker's crm_simulate is not installed")


def pacemaker_plan(daemon: Daemon, tmp_path: Path) -> list[str]:
    """The actions crm_simulate would run on the daemon's current state."""
    cib_file = tmp_path / "exported.xml"
    cib_file.write_bytes(dump_cib(daemon.snapshot().cluster))
    output = subprocess.run(["crm_simulate", "-S", "-x", str(cib_file)], capture_output=True, text=True,
                            check=True).stdout
    executing = output.split("Executing Cluster Transition:", 1)[1].split("Revised Cluster Status:", 1)[0]
    summary = output.split("Transition Summary:", 1)[1].split("Executing Cluster Transition:", 1)[0]
    lines = [line.strip() for line in (summary + executing).splitlines() if line.strip()]
    return [line for line in lines if not re.match(r"\* Pseudo action:", line)]


@needs_dummy
@needs_crm_simulate
def test_pacemaker_plans_nothing_for_a_cluster_vigil_has_settled(daemon: Daemon, tmp_path: Path) -> None:
    members = "\n".join(
        primitive(name, "ocf:heartbeat:Dummy", {"state": str(tmp_path / f"{name}.state")}, threshold=3)
        for name in ("libvirtd", "nova")
    )
    clone = f"""<clone id="compute-clone"><meta_attributes id="cc-meta">
        <nvpair id="cc-interleave" name="interleave" value="true"/></meta_attributes>
        <group id="compute">{members}</group></clone>"""
    web = primitive("web", "ocf:pacemaker:Dummy", {"state": str(tmp_path / "web.state")}, interval="2s")
    daemon.write_config(cib(f"{web}\n{clone}"))
    daemon.start(leave_running=True)
    wait_for("everything to start", lambda: all(
        (tmp_path / f"{name}.state").exists() for name in ("web", "libvirtd", "nova")))
    wait_for("the cluster to settle", daemon.is_settled)
    assert pacemaker_plan(daemon, tmp_path) == []

    # A restart forgets the history and probes: everything is found running,
    # nothing is restarted, and Pacemaker still sees nothing to do.
    assert daemon.stop() == 0
    started = {name: (tmp_path / f"{name}.state").stat().st_mtime_ns for name in ("web", "libvirtd", "nova")}
    starts_before = daemon.count_logged("start")
    daemon.start()
    def found_running() -> set[str]:
        return {e.resource for e in daemon.operation_log() if e.record.is_probe and e.record.rc == 0}

    wait_for("the restarted daemon to find everything running and settle",
             lambda: found_running() == {"web", "libvirtd", "nova"} and daemon.is_settled())
    assert pacemaker_plan(daemon, tmp_path) == []
    assert daemon.count_logged("start") == starts_before
    assert started == {name: (tmp_path / f"{name}.state").stat().st_mtime_ns for name in started}
