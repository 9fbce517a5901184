"""An executor whose agents answer from a script: the controller without processes.

It has what the controller calls on an executor (``run(request)``), so the
controller's whole loop (its graph runner, recorder, monitors and timers)
runs as in the daemon while every agent answers at once and as scripted,
the way httpx's ``MockTransport`` answers requests.  ``vigil simulate
--steps`` runs the controller's runner with one; tests script failures::

    executor = ScriptedExecutor()
    executor.script("web", "monitor", interval_ms=10000, rc=OcfRc.NOT_RUNNING, times=1)

An action no script matches gives what the controller expects of it: a probe
finds the resource not running, anything else succeeds.
"""

from __future__ import annotations

from dataclasses import dataclass

from vigil.executor.request import ActionRequest
from vigil.executor.results import ActionResult
from vigil.model.results import ExecStatus, OcfRc
from vigil.testing.clock import FakeClock


@dataclass
class Scripted:
    """One scripted answer: which requests it matches (None matches any) and what they get."""

    resource: str | None
    action: str | None
    node: str | None
    interval_ms: int | None
    rc: OcfRc
    status: ExecStatus
    exit_reason: str
    # How many more requests it answers (None: every one).
    times: int | None
    # How long each run takes on the executor's clock.
    duration_s: float

    def matches(self, request: ActionRequest) -> bool:
        return ((self.resource is None or self.resource in (request.resource_id, _base(request.resource_id)))
                and (self.action is None or self.action == request.action)
                and (self.node is None or self.node == request.node_name)
                and (self.interval_ms is None or self.interval_ms == request.interval_ms)
                and (self.times is None or self.times > 0))


class ScriptedExecutor:
    """Answers each action from its script; remembers every request it was given, in order.

    ``clock`` is needed only for answers that take time (``duration_s``).
    """

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.clock = clock
        self.requests: list[ActionRequest] = []
        self._scripts: list[Scripted] = []

    def script(self, resource: str | None = None, action: str | None = None, *, node: str | None = None,
               interval_ms: int | None = None, rc: OcfRc = OcfRc.SUCCESS,
               status: ExecStatus = ExecStatus.DONE, exit_reason: str = "", times: int | None = None,
               duration_s: float = 0.0) -> None:
        """Answer matching requests with ``rc``/``status`` (the latest script that matches wins).

        ``resource`` matches a clone instance (``rsc:1``) by its primitive's id too.
        """
        if duration_s > 0 and self.clock is None:
            raise ValueError("an answer that takes time needs the executor's clock")
        self._scripts.append(Scripted(resource, action, node, interval_ms, rc, status, exit_reason, times,
                                      duration_s))

    def ran(self, resource: str | None = None, action: str | None = None,
            interval_ms: int | None = None) -> list[ActionRequest]:
        """The requests run so far that match (None matches any)."""
        return [request for request in self.requests
                if (resource is None or resource in (request.resource_id, _base(request.resource_id)))
                and (action is None or request.action == action)
                and (interval_ms is None or request.interval_ms == interval_ms)]

    async def run(self, request: ActionRequest) -> ActionResult:
        self.requests.append(request)
        scripted = next((s for s in reversed(self._scripts) if s.matches(request)), None)
        if scripted is None:
            probe = request.action == "monitor" and request.interval_ms == 0
            return ActionResult(request, OcfRc.NOT_RUNNING if probe else OcfRc.SUCCESS, ExecStatus.DONE)
        if scripted.times is not None:
            scripted.times -= 1
        if scripted.duration_s > 0 and self.clock is not None:
            await self.clock.sleep(scripted.duration_s)
        return ActionResult(request, scripted.rc, scripted.status, exit_reason=scripted.exit_reason,
                            duration_ms=int(scripted.duration_s * 1000))


def _base(resource_id: str) -> str:
    base, _, number = resource_id.rpartition(":")
    return base if number.isdigit() else resource_id
