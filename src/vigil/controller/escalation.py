"""What the controller does beyond running agents: fence a node, and act when recovery is exhausted.

Fencing runs the fencer (:mod:`vigil.fencing`), reports a fencing event
whatever the result, enters it in the store's fence history, and on
success records what Pacemaker's controller records once a fencing is
confirmed, in one transaction: the node's resource history and transient
attributes (fail-counts included) erased, because the node has been reset
and runs nothing, and the node down and not expected back
(``expected=down``), so it is not fenced again.

A resource whose recovery is exhausted on a node asks, through its
``on-recovery-exhausted`` meta attribute, for one more thing besides the
event:

- ``none`` (the default): nothing, Pacemaker's behaviour;
- ``standby``: the node's transient attribute ``standby=on``, so every
  resource leaves it (``stop_reason=standby``) until an operator clears it;
- ``fence``: the node is fenced (with ``stonith-action``, default reboot).
  When fencing is disabled (``stonith-enabled=false``) or fails, the node
  is put in standby instead, so it stops taking work either way.

Unfencing (action ``on``, planned before what needs it starts on a node: see
:mod:`vigil.scheduler.unfencing`) runs the same fencer but resets nothing:
on success the node gets the transient attribute ``#node-unfenced`` (the
time), as Pacemaker's controller records it, so it is not unfenced again.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from vigil.controller.settings import ControllerOptions
from vigil.events.model import EventSink, FencingEvent, RecoveryExhausted
from vigil.fencing.fencer import Fencer
from vigil.model.config import Config
from vigil.store.base import FenceEntry, Store
from vigil.store.coord import Guard

log = logging.getLogger(__name__)

STANDBY_ATTRIBUTE = "standby"
UNFENCED_ATTRIBUTE = "#node-unfenced"


async def record_fenced(store: Store, target: str, action: str, *, at: float, executioner: str = "",
                        origin: str = "", client: str = "", device: str = "",
                        guard: Guard | None = None) -> int:
    """Record a confirmed fencing of ``target`` in one transaction (see :meth:`Store.record_fencing`).

    Its resource history and transient attributes are erased (it was reset
    and runs nothing), it is marked down with ``expected=down`` and
    ``node_fenced`` (as Pacemaker's controller records a fenced node: a node
    still expected as a member would be taken for one that vanished, and
    fenced again and again), and the fencing enters the fence history.
    """
    revision = await store.record_fencing(FenceEntry(
        target=target, action=action, succeeded=True, completed=int(at), executioner=executioner,
        origin=origin, client=client, device=device), guard=guard)
    log.info("recorded the fencing of %s: history and transient attributes erased, node down", target)
    return revision


class Escalation:
    """Fencing and exhausted-recovery policies for the controller of ``node``."""

    def __init__(self, store: Store, fencer: Fencer, events: EventSink, node: str,
                 clock: Callable[[], float], *, guard: Guard | None = None) -> None:
        self.store = store
        # What every write is guarded by: the controller's term in a cluster (None: one node).
        self.guard = guard
        self.fencer = fencer
        self.events = events
        self.node = node
        self.clock = clock

    async def fence(self, config: Config, target: str, action: str, why: str) -> bool:
        """Fence ``target``; report it; on success forget its state.  Whether it was fenced."""
        log.warning("fencing %s (%s): %s", target, action, why)
        snapshot = await self.store.snapshot()
        state = snapshot.cluster.status.node(target)
        outcome = await self.fencer.fence(config, target, action, now=int(self.clock()),
                                          node_attrs=dict(state.attributes) if state is not None else {})
        client = f"vigil.{os.getpid()}"
        desc = outcome.description(self.node, client, self.node)
        self.events.emit(FencingEvent(target=target, action=action, succeeded=outcome.succeeded,
                                      rc=outcome.rc, desc=desc, at=self.clock(), device=outcome.device,
                                      executioner=self.node, origin=self.node, reason=outcome.reason))
        if not outcome.succeeded:
            log.error("%s", desc)
            await self.store.record_fencing(FenceEntry(
                target=target, action=action, succeeded=False, completed=int(self.clock()),
                executioner=self.node, origin=self.node, client=client, device=outcome.device or ""),
                guard=self.guard)
            return False
        log.warning("%s (device %s)", desc, outcome.device)
        await record_fenced(self.store, target, action, at=self.clock(), executioner=self.node,
                            origin=self.node, client=client, device=outcome.device or "", guard=self.guard)
        return True

    async def unfence(self, config: Config, target: str, why: str) -> bool:
        """Unfence ``target`` (fence action ``on``); report it; on success mark
        it unfenced.  Its state is kept: an unfenced node was let in, not reset."""
        log.warning("unfencing %s: %s", target, why)
        outcome = await self.fencer.fence(config, target, "on", now=int(self.clock()))
        client = f"vigil.{os.getpid()}"
        desc = outcome.description(self.node, client, self.node)
        self.events.emit(FencingEvent(target=target, action="on", succeeded=outcome.succeeded,
                                      rc=outcome.rc, desc=desc, at=self.clock(), device=outcome.device,
                                      executioner=self.node, origin=self.node, reason=outcome.reason))
        if not outcome.succeeded:
            log.error("%s", desc)
            return False
        log.warning("%s (device %s)", desc, outcome.device)
        await self.store.set_node_attribute(target, UNFENCED_ATTRIBUTE, str(int(self.clock())),
                                            guard=self.guard)
        return True

    async def recovery_exhausted(self, event: RecoveryExhausted, config: Config,
                                 options: ControllerOptions) -> bool:
        """Apply ``event``'s policy; True when the node was fenced."""
        if event.policy == "fence":
            if not options.stonith_enabled:
                log.error("%s asks to fence %s (on-recovery-exhausted=fence) but stonith-enabled is false: "
                          "putting the node in standby instead", event.resource, event.node)
            elif await self.fence(config, event.node, options.stonith_action,
                                  f"recovery of {event.resource} is exhausted (on-recovery-exhausted=fence)"):
                return True
            else:
                log.error("fencing %s failed: putting it in standby instead", event.node)
            await self.standby(event)
        elif event.policy == "standby":
            await self.standby(event)
        return False

    async def standby(self, event: RecoveryExhausted) -> None:
        await self.store.set_node_attribute(event.node, STANDBY_ATTRIBUTE, "on", guard=self.guard)
        log.warning("node %s put in standby: recovery of %s is exhausted there (transient attribute "
                    "standby=on; clear it to bring the node back)", event.node, event.resource)
