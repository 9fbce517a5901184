"""vigil's own scheduler cases: ``tests/scheduler/cases/NAME/``.

Each case is a CIB (``cib.xml``) and what vigil plans for it: the transition
summary in crm_simulate's words (``summary.txt``, as ``vigil simulate
--format pacemaker`` prints it) and the stop context of every stop and start
(``context.txt``, one line per action).  Pacemaker's corpus specifies the
summaries; nothing but these files specifies the stop context and recovery
exhausted, which Pacemaker does not have.  Cases are named after what they
reproduce.

After an intended change, re-bless every case with one command and review
the diff::

    VIGIL_BLESS=1 .venv/bin/python -m pytest tests/scheduler/test_cases.py

A new case is a new directory with a ``cib.xml``; blessing writes the rest.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vigil.model.stop_context import CONTEXT_KEYS
from vigil.model.transition import Transition
from vigil.simulator.from_file import render, simulate_file

CASES = Path(__file__).resolve().parent / "cases"
NAMES = sorted(path.name for path in CASES.iterdir() if (path / "cib.xml").exists())
BLESS = os.environ.get("VIGIL_BLESS") == "1"


def summary_text(rendered: str) -> str:
    """The "Transition Summary:" part of crm_simulate's layout."""
    block = rendered.split("Transition Summary:", 1)[1].split("Executing Cluster Transition:", 1)[0]
    lines = [line.rstrip() for line in block.strip("\n").splitlines()]
    return "\n".join(["Transition Summary:", *lines]).rstrip() + "\n"


def context_text(transition: Transition) -> str:
    """One line per stop, start, demote or promote: ``TASK RESOURCE NODE:
    key=value ...``, in the context's own key order (aliases of
    recoveries_left left out)."""
    lines = []
    for action in transition.actions:
        if action.task not in ("stop", "start", "demote", "promote") or action.interval_ms != 0 \
                or action.pseudo:
            continue
        meta = dict(action.meta)
        words = [f"{key}={meta[key]}" for key in CONTEXT_KEYS if key in meta]
        lines.append(f"{action.task} {action.resource} {action.node}: {' '.join(words)}".rstrip())
    return "".join(f"{line}\n" for line in lines)


def check(path: Path, actual: str) -> None:
    if BLESS:
        path.write_text(actual)
    assert actual == path.read_text(), f"{path} differs: re-bless (VIGIL_BLESS=1) after an intended change"


@pytest.mark.parametrize("name", NAMES)
def test_case_plans_what_its_files_say(name: str) -> None:
    sim = simulate_file(CASES / name / "cib.xml")
    check(CASES / name / "summary.txt", summary_text(render(sim, "pacemaker")))
    check(CASES / name / "context.txt", context_text(sim.transition))


def test_the_cases_of_the_design_are_all_here() -> None:
    # DESIGN.md's cases 1-4, recovery exhausted, cleanup in the same
    # transition, standby, shutdown and an admin stop: the specification of
    # the stop context lives in these directories.
    for name in (
        "primitive-fails-third-time-of-three-on-two-nodes",
        "failcount-cleared-in-same-transition-restores-budget",
        "standby-moves-with-reason-standby",
        "group-member-fails-at-threshold-dependents-stop-final",
        "cloned-group-member-fails-at-threshold-dependents-stop-final",
        "recovery-exhausted-group-on-one-node-stops-final",
        "node-shutdown-moves-with-reason-shutdown",
        "admin-stop-target-role-stopped-is-final",
    ):
        assert name in NAMES
