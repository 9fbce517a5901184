"""Fixtures for the store tests: one ``backend`` fixture over every backend.

The contract suite takes ``backend`` and runs once per backend; a new
backend (etcd) joins the suite by adding a parameter here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from vigil.store import Store, open_store

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@dataclass(frozen=True)
class Backend:
    name: str
    url: str
    # Whether reopening the URL gives back the same data (a real store) or a new one.
    persistent: bool

    def open(self) -> Store:
        return open_store(self.url)


@pytest.fixture(params=["memory", "sqlite"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "memory":
        return Backend("memory", "memory://", persistent=False)
    return Backend("sqlite", f"sqlite://{tmp_path / 'vigil.db'}", persistent=True)
