"""A store that cannot record is loud, and the controller keeps trying.

SQLite reports a full disk as ``sqlite3.OperationalError: database or disk
is full``; the store's fault hook raises exactly that inside its write
transaction (the real store rolls back and converts it), because filling
this machine's disk in a test is not an option.  Nothing may be reported
healthy meanwhile, and once the store records again the failure that
happened during the outage is recorded and recovered.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from pathlib import Path

import pytest

from tests.controller.conftest import NODE, eventually, running_controller
from vigil.admin import commands
from vigil.admin.commands import Admin
from vigil.api.convert import controller_figures, controller_info
from vigil.controller.loop import Controller
from vigil.output.metrics import render_metrics
from vigil.output.status_text import render_status
from vigil.store import open_store
from vigil.store.base import Store


async def _failcount(store: Store, resource: str) -> int:
    snapshot = await store.snapshot()
    state = snapshot.cluster.status.node(NODE)
    return sum(int(value) for name, value in (state.attributes if state else ())
               if name.startswith(f"fail-count-{resource}#"))


def _disk_full(step: str) -> None:
    if step.startswith("record_operation"):
        raise sqlite3.OperationalError("database or disk is full")


def test_a_failure_during_a_full_disk_is_recorded_and_recovered_once_the_store_can_write(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    fail_file = tmp_path / "flaky.fail"
    config = f"""
options:
  stonith-enabled: false
resources:
  - id: flaky
    agent: ocf:vigil:Flaky
    params: {{state_dir: "{tmp_path}", fail_file: "{fail_file}"}}
    ops:
      - {{name: monitor, interval: 1s, timeout: 10s}}
"""

    async def scenario() -> None:
        store = open_store(f"sqlite://{tmp_path / 'vigil.db'}")
        caplog.set_level(logging.INFO, logger="vigil")
        # Each result is retried for 0.5 s only: the outage outlasts it, so the
        # monitor itself must come back to the failure it could not record.
        async with running_controller(config, store=store, record_retry_s=0.5) as controller:
            await eventually("flaky to run", lambda: bool(controller.active_monitors()), timeout=10)
            store.fault_hook = _disk_full
            fail_file.touch()
            await eventually("the controller to say the store cannot record",
                             lambda: controller.stats.store_failing_since is not None, timeout=10)
            assert "database or disk is full" in controller.stats.store_error
            assert any(r.levelno == logging.ERROR and "disk is full" in r.getMessage()
                       for r in caplog.records)
            # Long past the monitor's interval: the monitor keeps trying; nothing is recorded yet.
            await asyncio.sleep(3)
            assert await _failcount(store, "flaky") == 0
            status, metrics = await _status_and_metrics(store, controller)
            assert "WARNING: the store cannot record since" in status
            assert "database or disk is full" in status
            assert "\nvigil_store_up 0\n" in metrics
            # The resource comes back by itself before the disk has room: what
            # happened (the failure) is still what gets recorded, once.
            fail_file.unlink()
            await asyncio.sleep(1.5)
            store.fault_hook = None
            await eventually("the failure to be recorded once the disk has room",
                             lambda: _recorded(store), timeout=15)
            await eventually("flaky recovered", lambda: _started_again(store), timeout=15)
            assert await _failcount(store, "flaky") == 1
            status, metrics = await _status_and_metrics(store, controller)
            assert "store cannot record" not in status
            assert "\nvigil_store_up 1\n" in metrics
        await store.close()

    asyncio.run(scenario())


async def _status_and_metrics(store: Store, controller: Controller) -> tuple[str, str]:
    """What `vigil status` and /metrics show, built as the API builds them."""
    admin = Admin(store=store, poke=controller.poke, clock=time.time, node=NODE)
    report = await commands.status(admin, controller_info(controller))
    counts = await commands.all_failcounts(admin)
    return render_status(report), render_metrics(report, counts, controller_figures(controller))


async def _recorded(store: Store) -> bool:
    return await _failcount(store, "flaky") >= 1


async def _started_again(store: Store) -> bool:
    entries = await store.operation_log("flaky", NODE, limit=100)
    starts = [e for e in entries if e.record.operation == "start" and e.record.rc == 0]
    return len(starts) >= 2
