"""The controller's counters count what ran, every run."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.controller.conftest import eventually, running_controller


def test_every_run_of_a_recurring_monitor_is_counted_not_only_the_first(tmp_path: Path) -> None:
    config = f"""
options:
  stonith-enabled: false
resources:
  - id: steady
    agent: ocf:vigil:Flaky
    params: {{state_dir: "{tmp_path}"}}
    ops:
      - {{name: monitor, interval: 1s, timeout: 10s}}
"""

    async def scenario() -> None:
        async with running_controller(config) as controller:
            await eventually("steady to run", lambda: bool(controller.active_monitors()), timeout=10)
            await asyncio.sleep(3.5)
            monitors = controller.stats.actions["monitor (recurring)"]
            # The first run (in the transition) and one per second since.
            assert monitors.count >= 4
            assert monitors.failed == 0
            assert monitors.seconds > 0

    asyncio.run(scenario())
