"""The controller's side of work orders: an action planned on another node, handed over through the store.

The controller runs its own node's actions itself.  An agent action planned
on another node becomes a **work order** (:class:`~vigil.store.base.WorkOrder`)
for that node, written guarded by the controller's term, and the graph
runner's handler waits until that node's agent
(:class:`~vigil.controller.node_agent.NodeAgent`) has recorded the result
and completed the order.  So the graph runner keeps its one rule ("an action
is done when its result is recorded") whether the action ran here or there.

A deposed controller cannot write an order (its term no longer holds: the
write raises :class:`~vigil.store.coord.GuardLost` and changes nothing), and
an order it wrote before it was deposed is never claimed (the claim checks
the term), so only the current controller's plans are ever acted on.  See
docs/cluster.md.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from vigil.controller.actions import AgentActions, TransitionRun
from vigil.model.transition import Action
from vigil.store.base import ORDER_CLAIMED, ORDER_DONE, Store, StoreError, WorkOrder
from vigil.store.coord import Guard, GuardLost

log = logging.getLogger(__name__)

# How often (seconds) a controller waiting for an order checks its term and the
# node's membership when nothing in the store changed; any change wakes it at once.
ORDER_CHECK_S = 1.0


@dataclass(frozen=True)
class OrderedAction:
    """What a work order asks: one action of one transition (the order's ``action`` document)."""

    transition: int
    action: Action


def encode_action(transition: int, action: Action) -> str:
    return json.dumps({
        "transition": transition, "index": action.index, "task": action.task, "resource": action.resource,
        "node": action.node, "interval_ms": action.interval_ms, "meta": [list(item) for item in action.meta],
    }, sort_keys=True)


def decode_action(text: str) -> OrderedAction:
    """The action of a work order; StoreError for a document that is not one."""
    try:
        fields = json.loads(text)
        action = Action(index=int(fields["index"]), task=str(fields["task"]),
                        resource=None if fields["resource"] is None else str(fields["resource"]),
                        node=None if fields["node"] is None else str(fields["node"]),
                        interval_ms=int(fields["interval_ms"]),
                        meta=tuple((str(k), str(v)) for k, v in fields["meta"]))
        return OrderedAction(int(fields["transition"]), action)
    except (TypeError, ValueError, KeyError) as error:
        raise StoreError(f"a work order's action is damaged: {error}") from None


def encode_result(expected: bool, detail: str = "") -> str:
    return json.dumps({"expected": expected, "detail": detail}, sort_keys=True)


def decode_result(text: str) -> bool:
    """Whether the order's action did what the transition needed (False for a damaged result)."""
    try:
        return bool(json.loads(text)["expected"])
    except (TypeError, ValueError, KeyError):
        return False


def order_id(term: Guard, transition: int, action: Action) -> str:
    """Unique per term (a new controller has a new, greater term), sorted in the order written."""
    return f"{term.revision:012d}-{transition:08d}-{action.index:06d}"


class RemoteActions:
    """Runs another node's agent actions through work orders, for a controller holding ``term``."""

    def __init__(self, store: Store, term: Guard, actions: AgentActions) -> None:
        self.store = store
        self.term = term
        self.actions = actions

    async def run(self, run: TransitionRun, action: Action) -> bool:
        """Hand ``action`` to its node and wait for its recorded result; whether it was as expected.

        Raises GuardLost when this controller's term no longer holds (it
        must stop acting as controller).  False when the node left the
        cluster before completing the order (the next plan sees the node).
        """
        assert action.node is not None
        node = action.node
        order = WorkOrder(node, order_id(self.term, run.number, action), self.term.revision,
                          encode_action(run.number, action))
        seen = await self.store.put_work_order(order, guard=self.term)
        log.debug("work order %s for %s: %s", order.id, node, action.key)
        while True:
            found = next((o for o in await self.store.work_orders(node) if o.id == order.id), None)
            if found is not None and found.state == ORDER_DONE:
                break
            if found is None:
                log.error("work order %s for %s vanished before it was done", order.id, node)
                return False
            if not await self.store.guard_holds(self.term):
                raise GuardLost(self.term)
            members = await self.store.members()
            if node not in members:
                log.error("%s on %s: the node left the cluster before completing its work order %s",
                          action.key, node, order.id)
                return False
            if found.state == ORDER_CLAIMED and members[node] != found.incarnation:
                log.error("%s on %s: the node joined again since it claimed work order %s (incarnation %d, "
                          "now %d): its result will never come", action.key, node, order.id,
                          found.incarnation, members[node])
                return False
            change = await self.store.wait_for_change(seen, timeout=ORDER_CHECK_S)
            seen = change.revision if change is not None else seen
        expected = decode_result(found.result)
        await self.store.remove_work_order(node, order.id, guard=self.term)
        self.actions.ran_elsewhere(run, action)
        return expected
