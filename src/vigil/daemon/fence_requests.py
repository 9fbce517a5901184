"""Fencing on an operator's request: ``vigil node fence`` and ``vigil node confirm-fenced``.

Pacemaker's operator gets these from ``stonith_admin --reboot|--off NODE``
(``pcs stonith fence NODE [--off]``) and ``stonith_admin --confirm NODE``
(``pcs stonith confirm NODE``).  The daemon offers them to the API
(:class:`~vigil.api.context.NodeFencing`) because it owns the fence agents
and the alerts.

- **Fence**: the very path the controller fences by
  (:class:`~vigil.controller.escalation.Escalation`): the configured
  devices, the fencing event for alerts, the fence history, and on success
  the target's history and transient attributes erased and the node marked
  down (``expected=down``).  Refused, with nothing run, for an unknown node,
  when fencing is disabled (``stonith-enabled=false``: the operator is told
  to confirm by hand instead), and, in a cluster, for the node this daemon
  runs on (a node does not fence itself in a cluster; on one machine it must,
  as the controller does).  The action is ``reboot`` or ``off``; ``on`` is
  unfencing, which powers a node up and records nothing, so it is not
  offered here.
- **Confirm**: the operator's word that the node is down (powered off by
  hand) is recorded as a successful ``off`` by device ``manual``, so the
  cluster recovers its resources.  A node that is a live member (its vigil
  holds its membership) is clearly not down: refused unless forced, since
  the cluster would then start elsewhere what still runs there.

Requests run one at a time.  After either, the controller plans again; when
the target is the node of a one-node controller, that controller first
rejoins as after any fencing of it (nothing believed running, everything
probed again).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable

from vigil.admin.errors import Conflict, NotFound
from vigil.api.context import ControllerView, FenceReply
from vigil.controller.escalation import Escalation, record_fenced
from vigil.controller.loop import Controller
from vigil.controller.settings import controller_options
from vigil.events.model import Event, EventSink, FencingEvent
from vigil.fencing.fencer import Fencer
from vigil.model.config import Config
from vigil.store.base import Snapshot, Store

log = logging.getLogger(__name__)

FENCE_ACTIONS = ("reboot", "off")
# Who fenced, in the fence history, when the operator says the node is down.
MANUAL_EXECUTIONER = "operator"
MANUAL_DEVICE = "manual"
WHY = "an operator asked for it (vigil node fence)"


class _Witness:
    """Passes every event on, keeping the fencing event: the result, device and sentence to answer with."""

    def __init__(self, events: EventSink) -> None:
        self.events = events
        self.fencing: FencingEvent | None = None

    def emit(self, event: Event) -> None:
        if isinstance(event, FencingEvent):
            self.fencing = event
        self.events.emit(event)


class FenceRequests:
    """The daemon's :class:`~vigil.api.context.NodeFencing` (see the module's docstring)."""

    def __init__(self, store: Store, fencer: Fencer, events: EventSink, node: str,
                 clock: Callable[[], float], controller: ControllerView) -> None:
        self.store = store
        self.fencer = fencer
        self.events = events
        self.node = node
        self.clock = clock
        self.controller = controller
        self._one_at_a_time = asyncio.Lock()

    async def fence(self, target: str, action: str | None) -> FenceReply:
        async with self._one_at_a_time:
            snapshot = await self.store.snapshot()
            config = snapshot.cluster.config
            require_known(snapshot, target)
            action = self._fence_action(config, target, action)
            witness = _Witness(self.events)
            escalation = Escalation(self.store, self.fencer, witness, self.node, self.clock)
            fenced = await escalation.fence(config, target, action, WHY)
            revision = await self.store.revision()
            event = witness.fencing
            reply = FenceReply(target=target, action=action, succeeded=fenced,
                               device=event.device if event is not None else "",
                               description=event.desc if event is not None else "", revision=revision)
            if fenced:
                await self._after_fencing(target)
            return reply

    def _fence_action(self, config: Config, target: str, action: str | None) -> str:
        """The action to fence ``target`` with; Conflict when fencing cannot be asked for here."""
        options = controller_options(config, int(self.clock()))
        if not options.stonith_enabled:
            raise Conflict(f"fencing is disabled (the cluster option stonith-enabled is false): {target} "
                           "was not fenced",
                           ["enable fencing (stonith-enabled=true) with a fence device that can fence it",
                            f"or, once you have powered it off yourself: vigil node confirm-fenced {target}"])
        if self.store.capabilities.multi_node and target == self.node:
            raise Conflict(f"{target} is the node this vigil runs on, and a node of a cluster does not fence "
                           f"itself: run it on another node (vigil node fence {target})")
        chosen = action or options.stonith_action
        if chosen not in FENCE_ACTIONS:
            raise Conflict(f"the cluster option stonith-action is {chosen!r}, which is not a fencing "
                           "action (reboot or off)",
                           ["give the action: --action reboot|off (API: {\"action\": \"off\"})"])
        return chosen

    async def confirm(self, target: str, force: bool) -> FenceReply:
        async with self._one_at_a_time:
            snapshot = await self.store.snapshot()
            require_known(snapshot, target)
            await self._require_down(target, force)
            at = self.clock()
            client = f"vigil.{os.getpid()}"
            revision = await record_fenced(self.store, target, "off", at=at, executioner=MANUAL_EXECUTIONER,
                                           origin=self.node, client=client, device=MANUAL_DEVICE)
            desc = (f"Operation off of {target} by {MANUAL_EXECUTIONER} for {client}@{self.node}: OK "
                    "(confirmed by hand)")
            log.warning("%s: %s is taken as down; its resources are recovered", desc, target)
            self.events.emit(FencingEvent(target=target, action="off", succeeded=True, rc=0, desc=desc, at=at,
                                          device=MANUAL_DEVICE, executioner=MANUAL_EXECUTIONER,
                                          origin=self.node))
            await self._after_fencing(target)
            return FenceReply(target=target, action="off", succeeded=True, device=MANUAL_DEVICE,
                              description=desc, revision=revision)

    async def _require_down(self, target: str, force: bool) -> None:
        """Conflict when ``target`` is evidently up: this very node in a cluster, or (unless
        forced) a live member."""
        if self.store.capabilities.multi_node and target == self.node:
            raise Conflict(f"{target} is the node this vigil runs on: it is up, not fenced",
                           ["confirm-fenced is for a node that is down; run it on another node once this "
                            "one is powered off"])
        if target not in await self.store.members():
            return
        if force:
            log.warning("confirming %s as fenced although it is a live member (forced)", target)
            return
        raise Conflict(
            f"{target} is a live member of the cluster (its vigil is running): it is not down",
            ["confirming a node that is up lets the cluster start its resources elsewhere while they "
             "still run there, which can corrupt their data; power it off first",
             "if you are sure it is down: vigil node confirm-fenced --force (API: {\"force\": true})"])

    async def _after_fencing(self, target: str) -> None:
        """Plan again; a one-node controller fenced itself and must rejoin first."""
        controller = self.controller
        if isinstance(controller, Controller):
            await controller.fenced_on_request(target)
        else:
            controller.poke(f"node {target} fenced on request")


def require_known(snapshot: Snapshot, target: str) -> None:
    """NotFound unless ``target`` is a configured node or one the status knows."""
    known = [node.uname for node in snapshot.cluster.config.nodes]
    known += [state.uname for state in snapshot.cluster.status.nodes if state.uname not in known]
    if target not in known:
        raise NotFound("node", target, known)
