"""The bundled example says what the README says, and Pacemaker agrees.

``examples/recovery.xml`` is the README's first `vigil simulate` example; if vigil or
the example drifts, the quick start would quietly show something else.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from vigil.simulator.from_file import render, simulate_file

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "recovery.xml"
EXPECTED = ["* Recover webserver ( node1 )"]


def test_vigil_recovers_the_failed_webserver_in_place(conformance: ModuleType) -> None:
    output = render(simulate_file(EXAMPLE), "pacemaker")
    assert conformance.extract_summary(output) == EXPECTED


def test_crm_simulate_agrees_on_the_example(conformance: ModuleType) -> None:
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    crm_simulate = shutil.which("crm_simulate", path=search)
    if crm_simulate is None:
        pytest.skip("crm_simulate is not installed (make test installs pacemaker-cli-utils)")
    done = subprocess.run(
        [crm_simulate, "-x", str(EXAMPLE), "-S"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert conformance.extract_summary(done.stdout) == EXPECTED
