"""The dispatcher: never blocks the controller, runs agents per recipient in parallel, bounds them.

Real processes (small shell agents written by the tests), a real webhook
receiver on 127.0.0.1 (tests/events/receivers.py).
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from tests.events.receivers import http_receiver
from vigil.events.alerts import WEBHOOK_PATH
from vigil.events.dispatcher import EventDispatcher
from vigil.events.model import NodeEvent, RecoveryExhausted, ResourceEvent
from vigil.executor.process import group_members
from vigil.model.config import Alert, AlertRecipient, Config, NvSet


def agent(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def config(path: str, recipients: tuple[str, ...] = (), meta: dict[str, str] | None = None,
           params: dict[str, str] | None = None) -> Config:
    return Config(alerts=(Alert(
        id="a", path=path,
        meta=(NvSet("a-meta", tuple((meta or {}).items())),) if meta else (),
        params=(NvSet("a-params", tuple((params or {}).items())),) if params else (),
        recipients=tuple(AlertRecipient(f"r{i}", value) for i, value in enumerate(recipients)),
    ),))


def node_event(state: str = "member") -> NodeEvent:
    return NodeEvent("n1", "1", state, time.time())


def test_each_recipient_runs_in_parallel_with_its_own_sequence_number(tmp_path: Path) -> None:
    script = agent(tmp_path, "slow-log",
                   'echo "$CRM_alert_node_sequence start" >> "$CRM_alert_recipient"\n'
                   'sleep 1\necho "$CRM_alert_node_sequence end" >> "$CRM_alert_recipient"\n')
    logs = (str(tmp_path / "one.log"), str(tmp_path / "two.log"), str(tmp_path / "three.log"))

    async def run() -> float:
        dispatcher = EventDispatcher("n1")
        dispatcher.configure(config(script, logs))
        dispatcher.start()
        started = time.monotonic()
        dispatcher.emit(node_event())
        assert await dispatcher.flush(10)
        elapsed = time.monotonic() - started
        await dispatcher.close(5)
        assert dispatcher.stats.delivered == 3
        return elapsed

    elapsed = asyncio.run(run())
    assert elapsed < 2.5, f"three 1 s agents took {elapsed:.1f} s: not in parallel"
    sequences = sorted(int(Path(log).read_text().split()[0]) for log in logs)
    assert sequences == [1, 2, 3]


def test_an_agent_past_its_timeout_is_ended_with_its_children(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = agent(tmp_path, "hang", f'sleep 60 & echo $! > {pids}\nwait\n')

    async def run() -> None:
        dispatcher = EventDispatcher("n1")
        dispatcher.configure(config(script, meta={"timeout": "500ms"}))
        dispatcher.start()
        dispatcher.emit(node_event())
        assert await dispatcher.flush(10)
        assert dispatcher.stats.timed_out == 1
        await dispatcher.close(1)

    started = time.monotonic()
    asyncio.run(run())
    assert time.monotonic() - started < 5
    child = int(pids.read_text())
    assert not os.path.exists(f"/proc/{child}") or group_members(child) == [] or \
        Path(f"/proc/{child}/stat").read_text().split()[2] in ("Z", "X")


def test_emit_never_blocks_nor_raises_and_a_full_queue_drops(tmp_path: Path) -> None:
    script = agent(tmp_path, "slow", "sleep 2\n")

    async def run() -> None:
        dispatcher = EventDispatcher("n1", queue_size=2, max_in_flight=1)
        dispatcher.configure(config(script, meta={"timeout": "3s"}))
        dispatcher.add_listener(lambda event: 1 / 0)  # a broken listener changes nothing
        dispatcher.start()
        started = time.monotonic()
        for _ in range(20):
            dispatcher.emit(node_event())
        assert time.monotonic() - started < 0.1
        assert dispatcher.stats.emitted == 20 and dispatcher.stats.dropped >= 15
        await dispatcher.close(0.5)

    asyncio.run(run())


def test_probes_that_find_what_was_expected_are_not_sent(tmp_path: Path) -> None:
    log = tmp_path / "log"
    script = agent(tmp_path, "log-agent", 'echo "$CRM_alert_task $CRM_alert_rc" >> "$CRM_alert_recipient"\n')

    def probe(rc: int) -> ResourceEvent:
        return ResourceEvent("n1", "1", "svc", "monitor", 0, rc, 0, 7, 5, time.time())

    async def run() -> None:
        dispatcher = EventDispatcher("n1")
        dispatcher.configure(config(script, (str(log),)))
        dispatcher.start()
        dispatcher.emit(probe(7))
        dispatcher.emit(probe(0))
        assert await dispatcher.flush(10)
        await dispatcher.close(1)

    asyncio.run(run())
    assert log.read_text().splitlines() == ["monitor 0"]


def test_a_webhook_is_retried_and_gets_the_event_as_json() -> None:
    event = RecoveryExhausted(node="n1", nodeid="1", resource="svc", fail_count="3", migration_threshold="3",
                              recoveries_left="0", next_node=None, policy="none",
                              cause="migration-threshold", at=time.time())

    async def run(url: str) -> EventDispatcher:
        dispatcher = EventDispatcher("n1")
        dispatcher.configure(config(WEBHOOK_PATH, (f"{url}/events", f"{url}/refused"),
                                    meta={"timeout": "2s", "retries": "2", "retry-delay": "50ms"},
                                    params={"header-Authorization": "Bearer s3cret"}))
        dispatcher.start()
        dispatcher.emit(event)
        assert await dispatcher.flush(10)
        await dispatcher.close(1)
        return dispatcher

    with http_receiver(script=[500]) as (url, received):
        dispatcher = asyncio.run(run(url))
    events = received.bodies("POST", "/events")
    refused = received.bodies("POST", "/refused")
    # The first POST got 500 (to either path): that one is retried, a 4xx would not be.
    assert len(events) + len(refused) == 3
    body = (events or refused)[-1]
    assert body["kind"] == "resource" and body["task"] == "recovery-exhausted"
    assert (body["resource"], body["node"], body["fail_count"], body["migration_threshold"]) == (
        "svc", "n1", "3", "3")
    assert body["environment"]["CRM_alert_task"] == "recovery-exhausted" and body["origin"] == "n1"
    assert dispatcher.stats.delivered == 2
    assert {d.attempts for d in dispatcher.deliveries} == {1, 2}


def test_a_webhook_client_error_is_not_retried() -> None:
    async def run(url: str) -> EventDispatcher:
        dispatcher = EventDispatcher("n1")
        dispatcher.configure(config(WEBHOOK_PATH, (f"{url}/events",), meta={"retry-delay": "10ms"}))
        dispatcher.start()
        dispatcher.emit(node_event())
        assert await dispatcher.flush(10)
        await dispatcher.close(1)
        return dispatcher

    with http_receiver(script=[404]) as (url, received):
        dispatcher = asyncio.run(run(url))
    assert len(received.bodies("POST")) == 1 and dispatcher.stats.failed == 1


def test_close_delivers_what_is_queued(tmp_path: Path) -> None:
    log = tmp_path / "log"
    script = agent(tmp_path, "log-agent", 'sleep 0.2; echo "$CRM_alert_desc" >> "$CRM_alert_recipient"\n')

    async def run() -> None:
        dispatcher = EventDispatcher("n1")
        dispatcher.configure(config(script, (str(log),)))
        dispatcher.start()
        dispatcher.emit(node_event("member"))
        dispatcher.emit(node_event("lost"))
        await dispatcher.close()

    asyncio.run(run())
    assert sorted(log.read_text().split()) == ["lost", "member"]
