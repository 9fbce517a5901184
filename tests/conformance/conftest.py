"""Shared pieces of the conformance tests: the runner module and the report.

The runner lives in ``scripts/conformance.py`` (a script, not a package
module), so it is loaded here by path, once, under a fixed module name that
its worker processes (forked) find again.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "conformance.py"
MODULE_NAME = "vigil_conformance"
_REPORT = pytest.StashKey[list[str]]()


def _load_runner() -> ModuleType:
    if MODULE_NAME in sys.modules:
        return sys.modules[MODULE_NAME]
    spec = importlib.util.spec_from_file_location(MODULE_NAME, SCRIPT)
    assert spec is not None and spec.loader is not None, f"cannot load {SCRIPT}"
    module = importlib.util.module_from_spec(spec)
    # Registered before running it: dataclasses and pickling look it up by name.
    sys.modules[MODULE_NAME] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def conformance() -> ModuleType:
    """``scripts/conformance.py`` as a module."""
    return _load_runner()


@pytest.fixture(scope="session")
def report_conformance(pytestconfig: pytest.Config) -> Callable[[str], None]:
    """Record text for the end-of-run summary, shown with or without ``-s``."""

    def record(text: str) -> None:
        pytestconfig.stash.setdefault(_REPORT, []).append(text)

    return record


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    reports = config.stash.get(_REPORT, [])
    if reports:
        terminalreporter.section("Pacemaker corpus conformance")
        for text in reports:
            terminalreporter.write_line(text)
