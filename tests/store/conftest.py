"""Fixtures for the store tests: one ``backend`` fixture over every backend.

The contract suite takes ``backend`` and runs once per backend: memory,
SQLite, and a real etcd server (one per session, started by
:func:`etcd_server`; each test gets a cluster name of its own).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.store.etcd_server import INSTALL_HINT, EtcdServer, etcd_binary, start_etcd
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


@pytest.fixture(scope="session")
def etcd_server() -> Iterator[EtcdServer]:
    """One etcd server for the whole session, stopped by its PID at the end."""
    binary = etcd_binary()
    if binary is None:
        pytest.fail(f"the etcd tests need an etcd server binary: {INSTALL_HINT}")
    try:
        import aetcd  # noqa: F401
    except ImportError:
        pytest.fail("the etcd tests need the etcd client: pip install -e '.[test]' (it brings vigil[etcd])")
    server = start_etcd(binary)
    try:
        yield server
    finally:
        server.stop()


def etcd_url(server: EtcdServer) -> str:
    """A store URL on ``server`` under a cluster name no other test uses."""
    return f"etcd://{server.endpoint}/t-{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=["memory", "sqlite", "etcd"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "memory":
        return Backend("memory", "memory://", persistent=False)
    if request.param == "etcd":
        server: EtcdServer = request.getfixturevalue("etcd_server")
        return Backend("etcd", etcd_url(server), persistent=True)
    return Backend("sqlite", f"sqlite://{tmp_path / 'vigil.db'}", persistent=True)
