"""Alert agents never wait for each other (issue 17, item 7).

Each recipient of each alert has its own lane: its deliveries start as soon
as the event happens, under their own timeout, up to a cap of their own.  A
slow agent only makes its own events wait.  Real processes: small shell
agents the test writes; time is measured with the agents' own clock.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from vigil.events.dispatcher import MAX_IN_FLIGHT_PER_TARGET, EventDispatcher
from vigil.events.model import NodeEvent
from vigil.model.config import Alert, Config, NvSet

# More than any shared limit the dispatcher ever had (64 deliveries in flight in all).
BURST = 70


def agent(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def arrivals(log: Path) -> dict[str, list[float]]:
    """When the fast agent ran, per node name the event carried."""
    found: dict[str, list[float]] = {}
    for line in log.read_text().splitlines() if log.exists() else []:
        node, at = line.split()
        found.setdefault(node, []).append(float(at))
    return found


def test_a_slow_alert_agent_never_delays_another_ones_events(tmp_path: Path) -> None:
    slow = agent(tmp_path, "slow.sh", "sleep 6\n")
    log = tmp_path / "fast.log"
    fast = agent(tmp_path, "fast.sh", f'echo "$CRM_alert_node $(date +%s.%N)" >> {log}\n')
    config = Config(alerts=(Alert(id="slow", path=slow, meta=(NvSet("slow-meta", (("timeout", "10s"),)),)),
                            Alert(id="fast", path=fast)))

    async def run() -> tuple[float, float, int]:
        dispatcher = EventDispatcher("n1")
        dispatcher.configure(config)
        dispatcher.start()
        # A burst (a node's probes at start-up), then two events a second apart.
        for _ in range(BURST):
            dispatcher.emit(NodeEvent("burst", "1", "member", time.time()))
        await asyncio.sleep(1)
        first = time.time()
        dispatcher.emit(NodeEvent("first", "1", "member", first))
        await asyncio.sleep(1)
        second = time.time()
        dispatcher.emit(NodeEvent("second", "1", "lost", second))
        await asyncio.sleep(1.5)
        peak = dispatcher.spawner.peak_running
        await dispatcher.close(0.5)
        return first, second, peak

    started = time.time()
    first, second, peak = asyncio.run(run())
    found = arrivals(log)
    assert len(found.get("burst", [])) == BURST
    assert max(found["burst"]) - started < 1.5, "the burst waited for the slow agent"
    for name, emitted in (("first", first), ("second", second)):
        late = found[name][0] - emitted
        assert late < 1.0, f"the {name} event reached the fast agent {late:.1f} s late"
    # Bounded all the same: each agent runs at most its cap of deliveries at once.
    assert peak <= 2 * MAX_IN_FLIGHT_PER_TARGET


def test_a_full_lane_drops_only_its_own_events(tmp_path: Path) -> None:
    slow = agent(tmp_path, "slow.sh", "sleep 5\n")
    log = tmp_path / "fast.log"
    fast = agent(tmp_path, "fast.sh", f'echo "$CRM_alert_node $(date +%s.%N)" >> {log}\n')
    config = Config(alerts=(Alert(id="slow", path=slow), Alert(id="fast", path=fast)))

    async def run() -> int:
        dispatcher = EventDispatcher("n1", queue_size=10, max_in_flight=2)
        dispatcher.configure(config)
        dispatcher.start()
        for batch in range(3):  # each batch fits the controller's queue; the slow lane fills up
            for _ in range(5):
                dispatcher.emit(NodeEvent(f"b{batch}", "1", "member", time.time()))
            await asyncio.sleep(0.3)
        await asyncio.sleep(0.5)
        dropped = dispatcher.stats.dropped
        await dispatcher.close(0.5)
        return dropped

    dropped = asyncio.run(run())
    # The slow lane: 2 running and 10 waiting of 15; the fast lane took all 15.
    assert dropped == 3
    assert sum(len(times) for times in arrivals(log).values()) == 15
