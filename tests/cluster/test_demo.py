"""``vigil demo cluster``: starts from examples/demo-cluster.yaml, says how to watch and break it,
and leaves nothing running when it stops."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from vigil.testing.cluster import INSTALL_HINT, etcd_binary


@pytest.mark.skipif(etcd_binary() is None, reason=f"no etcd server binary: {INSTALL_HINT}")
def test_the_demo_starts_three_nodes_says_how_to_watch_them_and_stops_everything(tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    run = subprocess.run([sys.executable, "-m", "vigil", "demo", "cluster", "--duration", "1",
                          "--workdir", str(workdir)], capture_output=True, text=True, timeout=90, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    for node in ("node1", "node2", "node3"):
        assert f"status --state-dir {workdir / node / 'state'}" in out
    assert re.search(r"API http://127\.0\.0\.21:\d+/api/v1/status", out)
    assert "each node acts for its own resources" in out
    assert "everything stopped" in out
    pids = [int(pid) for pid in re.findall(r"\bpid (\d+)", out)]
    assert len(pids) == 6  # 3 members, 3 nodes
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    # Each node ran the compute stack in its own agent runtime directory, and stopped it.
    for node in ("node1", "node2", "node3"):
        log = (workdir / node / "vigil.log").read_text()
        assert "libvirtd" in log
        assert not list((workdir / node / "tmp").glob("vigil-agents-*/*.pid"))
