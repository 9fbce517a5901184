"""The API over an in-memory store, with a stand-in for the controller.

Each test runs in one event loop (``asyncio.run``): the app is called
through httpx's ASGI transport, so requests, the store and the stand-in
share the loop.  The stand-in controller records pokes and, when asked to
(``acting=True``), plays the controller's part in the simplest way: on
each poke it records a stop or a start of each primitive according to its
target-role, as a real controller would after running the agent.
Configuration parsing and checking are the daemon's real functions (the
check asks the real executor whether each agent is installed).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from vigil.admin.intake import Findings, check_for_node, parse_config, with_node
from vigil.api.app import create_app
from vigil.api.context import ApiContext
from vigil.api.hosts import HostPolicy
from vigil.api.secrets import private_params_of
from vigil.executor.executor import Executor
from vigil.model.activity import ControllerStats, MonitorKey, TransitionReport
from vigil.model.config import Config
from vigil.model.nvsets import resolve_nvsets
from vigil.model.rule_eval import RuleContext
from vigil.model.status import NodeState, OpRecord
from vigil.store import MemoryStore, ResourceRef, Store

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DIGEST = "f2317cad3d54cec5d7d7aa7d0bf35cf8"  # ocf:heartbeat:Dummy without parameters

CIB = b"""<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config>
      <cluster_property_set id="opts">
        <nvpair id="opts-stonith" name="stonith-enabled" value="false"/>
      </cluster_property_set>
    </crm_config>
    <nodes>
      <node id="n1" uname="n1"/>
    </nodes>
    <resources>
      <primitive id="web" class="ocf" provider="heartbeat" type="Dummy">
        <meta_attributes id="web-meta">
          <nvpair id="web-mt" name="migration-threshold" value="3"/>
        </meta_attributes>
        <operations>
          <op id="web-mon" name="monitor" interval="10s"/>
        </operations>
      </primitive>
      <group id="g">
        <primitive id="a" class="ocf" provider="heartbeat" type="Dummy"/>
        <primitive id="b" class="ocf" provider="heartbeat" type="Dummy"/>
      </group>
    </resources>
    <constraints/>
  </configuration>
  <status/>
</cib>
"""


def base_config() -> Config:
    return parse_config(CIB, "api.xml")[0]


class StandInController:
    """What the API sees of the controller; see the module docstring."""

    node = "n1"

    def __init__(self, store: Store, acting: bool = False) -> None:
        self.store = store
        self.acting = acting
        self.stats = ControllerStats()
        self.transitions: list[TransitionReport] = []
        self.monitors: list[MonitorKey] = []
        self.pokes: list[str] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def poke(self, reason: str) -> None:
        self.pokes.append(reason)
        if self.acting:
            task = asyncio.get_running_loop().create_task(self._act())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def active_monitors(self) -> list[MonitorKey]:
        return self.monitors

    async def _act(self) -> None:
        await asyncio.sleep(0.05)
        config, _ = await self.store.get_config()
        for prim in config.primitives():
            role = resolve_nvsets(prim.meta, RuleContext(now=0)).get("target-role", "Started")
            if role.lower() == "stopped":
                await record(self.store, prim.id, "stop", 0, 0)
            else:
                await record(self.store, prim.id, "start", 0, 0)


_CALLS = [100]


async def record(store: Store, rsc: str, operation: str, interval_ms: int, rc: int, *, expected: int = 0,
                 failcount: int = 0, meta: dict[str, str] | None = None, reason: str | None = None,
                 node: str = "n1") -> None:
    """An operation result as the controller records it (with its fail-count and log meta)."""
    _CALLS[0] += 1
    call_id = _CALLS[0]
    key = f"1:{call_id}:{expected}:test"
    base = f"{rsc}_{operation}_{interval_ms}" if interval_ms else f"{rsc}_last_0"
    now = int(time.time())
    entry = OpRecord(id=base, operation=operation, interval_ms=interval_ms, rc=rc, op_status=0,
                     call_id=call_id, on_node=node, op_digest=DIGEST, last_rc_change=now, last_run=now,
                     exec_time_ms=5, transition_key=key, transition_magic=f"0:{rc};{key}", exit_reason=reason,
                     operation_key=f"{rsc}_{operation}_{interval_ms}")
    also = (entry._replace(id=f"{rsc}_last_failure_0"),) if failcount else ()
    await store.record_operation(node, ResourceRef(rsc, "ocf", "heartbeat", "Dummy"), entry,
                                 failcount_delta=failcount, meta=meta, also=also)


@dataclass
class Api:
    client: httpx.AsyncClient
    store: Store
    controller: StandInController
    extra: dict[str, Any] = field(default_factory=dict)

    async def config(self) -> tuple[Config, int]:
        return await self.store.get_config()


ApiTest = Callable[[Api], Awaitable[None]]


def run_api(test: ApiTest, *, store: Store | None = None, acting: bool = False,
            config: Config | None = None, executor: Executor | None = None,
            hosts: HostPolicy | None = None) -> None:
    """Run ``test`` against the API; ``executor`` gives the agents (default: the system's),
    ``hosts`` the Host names it answers to (default: any)."""
    async def main() -> None:
        used = store or MemoryStore()
        await used.put_config(config or base_config(), 0)
        await used.set_node_state(NodeState(id="n1", uname="n1", in_ccm="true", crmd="online", join="member",
                                            expected="member"))
        agents = executor or Executor()

        async def check(checked: Config) -> Findings:
            return await check_for_node(with_node(checked, "n1"), "n1", agents, multi_node=False)

        controller = StandInController(used, acting)
        context = ApiContext(store=used, controller=controller, token=TOKEN, parse_config=parse_config,
                             check_config=check, clock=time.time, private_params=private_params_of(agents))
        transport = httpx.ASGITransport(app=create_app(context, hosts))
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://vigil") as client:
                await test(Api(client, used, controller))
        finally:
            await agents.close()
            await used.close()

    asyncio.run(main())


@pytest.fixture
def api() -> Callable[..., None]:
    return run_api
