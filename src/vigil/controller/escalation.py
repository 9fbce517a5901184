"""What the controller does beyond running agents: fence a node, and act when recovery is exhausted.

Fencing runs the fencer (:mod:`vigil.fencing`), reports a fencing event
whatever the result, and on success forgets what the fenced node had, as
Pacemaker's controller does once a fencing is confirmed: its resource
history and its transient attributes (fail-counts included), because the
node has been reset and runs nothing.

A resource whose recovery is exhausted on a node asks, through its
``on-recovery-exhausted`` meta attribute, for one more thing besides the
event:

- ``none`` (the default): nothing, Pacemaker's behaviour;
- ``standby``: the node's transient attribute ``standby=on``, so every
  resource leaves it (``stop_reason=standby``) until an operator clears it;
- ``fence``: the node is fenced (with ``stonith-action``, default reboot).
  When fencing is disabled (``stonith-enabled=false``) or fails, the node
  is put in standby instead, so it stops taking work either way.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from vigil.controller.settings import ControllerOptions
from vigil.events.model import EventSink, FencingEvent, RecoveryExhausted
from vigil.fencing.fencer import Fencer
from vigil.model.config import Config
from vigil.store.base import Store

log = logging.getLogger(__name__)

STANDBY_ATTRIBUTE = "standby"


async def forget_node(store: Store, target: str) -> None:
    """Erase a fenced node's resource history and transient attributes (it runs nothing now)."""
    snapshot = await store.snapshot()
    state = snapshot.cluster.status.node(target)
    if state is None:
        return
    for history in state.resources:
        await store.forget_resource(target, history.id)
    for name, _ in state.attributes:
        await store.set_node_attribute(target, name, None)
    log.info("forgot the resource history and transient attributes of fenced node %s", target)


class Escalation:
    """Fencing and exhausted-recovery policies for the controller of ``node``."""

    def __init__(self, store: Store, fencer: Fencer, events: EventSink, node: str,
                 clock: Callable[[], float]) -> None:
        self.store = store
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
            return False
        log.warning("%s (device %s)", desc, outcome.device)
        await forget_node(self.store, target)
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
        await self.store.set_node_attribute(event.node, STANDBY_ATTRIBUTE, "on")
        log.warning("node %s put in standby: recovery of %s is exhausted there (transient attribute "
                    "standby=on; clear it to bring the node back)", event.node, event.resource)
