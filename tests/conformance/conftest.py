"""Shared pieces of the conformance tests: the runner module and the report.

The runner is ``scripts/conformance.py``, importable because pytest puts
``scripts/`` on the path (``pythonpath`` in pyproject.toml).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import conformance as runner
import pytest

_REPORT = pytest.StashKey[list[str]]()


@pytest.fixture(scope="session")
def conformance() -> ModuleType:
    """``scripts/conformance.py`` as a module."""
    return runner


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
