"""Why an action is scheduled, in Pacemaker's words.

A group ordered after a resource that recovers restarts member by member:
the first member because of the resource, each next member because of the
member before it (Pacemaker weighs a group's pseudo-action from its
members before applying an ordering to it, so the group's own "stopped" is
not taken as a change that would revisit the group's start first).  Found
by the scheduler benchmark at 3x1000, 3x10000 and 32x5000.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from vigil.simulator.from_file import render, simulate_file

CIB = Path(__file__).resolve().parents[1] / "data" / "cib" / "group-restarts-after-its-first.xml"
# As crm_simulate 2.1.5 prints them.
EXPECTED = [
    "* Restart grp-a ( node1 ) due to required rsc start",
    "* Restart grp-b ( node1 ) due to required grp-a start",
    "* Restart grp-c ( node1 ) due to required grp-b start",
    "* Recover rsc ( node2 )",
]


def summary(output: str) -> list[str]:
    block = output.split("Transition Summary:", 1)[1].split("Executing Cluster Transition:", 1)[0]
    lines = block.splitlines()
    return [" ".join(line.split()) for line in lines if line.strip().startswith("*")]


def test_group_members_restart_because_of_the_member_before() -> None:
    assert summary(render(simulate_file(CIB), "pacemaker")) == EXPECTED


@pytest.mark.skipif(shutil.which("crm_simulate") is None, reason="Pacemaker's crm_simulate is not installed")
def test_pacemaker_gives_the_same_reasons() -> None:
    done = subprocess.run(["crm_simulate", "-R", "-x", str(CIB)], capture_output=True, text=True, check=True)
    assert summary(done.stdout) == EXPECTED
