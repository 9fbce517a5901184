"""Primitives: one agent, its actions real ones on one node.

The variant of a primitive (see :mod:`vigil.scheduler.variants`): what the
stages ask of it, answered from :mod:`.primitive_placement` (where it goes)
and :mod:`.primitive_actions` (the actions it needs), with the orderings that
hold a primitive together (a restart, its promotion, its container).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vigil.scheduler.colocation import apply_to_scores, own_node_scores
from vigil.scheduler.remote_nodes import guest_target
from vigil.scheduler.utilization import add_primitive_utilization, colocated_with
from vigil.scheduler.variants.group import scores_speaking_for_group
from vigil.scheduler.variants.primitive_actions import create_primitive_actions
from vigil.scheduler.variants.primitive_placement import assign_primitive, current_node, unassign_primitive
from vigil.scheduler.working import Work
from vigil.scheduler.working_actions import Ord, OrderTuple, OrdFlags, Updates, WorkAction
from vigil.scheduler.working_resources import Role, WorkColocation, WorkPrimitive, WorkResource

if TYPE_CHECKING:
    from vigil.scheduler.instances import InstanceActions
    from vigil.scheduler.variants import ProbeTargets, Propagation


def primitive_orderings(rsc: WorkPrimitive) -> list[OrderTuple]:
    """A restart stops before it starts; a resource inside a container starts
    after the container and stops before it."""
    if not rsc.managed:
        return []
    specs: list[OrderTuple] = [(rsc, "stop", rsc, "start", Ord.OPTIONAL | Ord.IMPLIES_THEN | Ord.RESTART)]
    top: WorkResource = rsc
    while top.parent is not None:
        top = top.parent
    if top.variant.is_promotable(top) or rsc.role > Role.UNPROMOTED:
        # Demote before stop (a promoted resource that stops is demoted
        # first), start before promote.
        specs.append((rsc, "demote", rsc, "stop", Ord.PROMOTED_IMPLIES_FIRST))
        specs.append((rsc, "start", rsc, "promote", Ord.RUNNABLE_LEFT))
    if rsc.container is not None and guest_target(rsc) is None:
        specs.append((rsc.container, "start", rsc, "start", Ord.IMPLIES_THEN | Ord.RUNNABLE_LEFT))
        specs.append((rsc, "stop", rsc.container, "stop", Ord.IMPLIES_FIRST))
    return specs


class PrimitiveVariant:
    """A primitive: one agent, its actions real ones on one node."""

    rank = 0
    collective = False

    # --- placement

    def assign(self, work: Work, rsc: WorkResource, prefer: str | None,
               stop_if_fail: bool = True) -> str | None:
        assert isinstance(rsc, WorkPrimitive)
        return assign_primitive(work, rsc, prefer, stop_if_fail)

    def unassign(self, work: Work, rsc: WorkResource) -> None:
        assert isinstance(rsc, WorkPrimitive)
        unassign_primitive(work, rsc)

    def location(self, rsc: WorkResource) -> str | None:
        return rsc.assigned

    def current_node(self, work: Work, rsc: WorkResource) -> str | None:
        assert isinstance(rsc, WorkPrimitive)
        return current_node(work, rsc)

    def apply_location_inside(self, rsc: WorkResource, scored: list[tuple[str, int]]) -> None:
        return None

    def named_members(self, rsc: WorkResource) -> list[WorkResource]:
        return []

    def constraint_ids(self, rsc: WorkResource) -> tuple[str, ...]:
        return (rsc.id,)

    def stops_together(self, rsc: WorkResource) -> list[WorkPrimitive]:
        return []

    # --- colocation

    def apply_colocation(self, work: Work, dependent: WorkResource, primary: WorkResource,
                         coloc: WorkColocation) -> int:
        # How a primitive follows depends on what it follows: the primary's
        # variant decides, as Pacemaker's primitive method hands it over.
        assert isinstance(dependent, WorkPrimitive)
        return primary.variant.constrain_dependent(work, dependent, primary, coloc)

    def constrain_dependent(self, work: Work, dependent: WorkPrimitive, primary: WorkResource,
                            coloc: WorkColocation) -> int:
        assert isinstance(primary, WorkPrimitive)
        return apply_to_scores(work, dependent, primary, coloc)

    def colocation_node_scores(self, work: Work, rsc: WorkResource, nodes: dict[str, int] | None,
                               attribute: str, factor: float, only_positive: bool,
                               select_active: bool, coloc: WorkColocation | None = None,
                               ) -> dict[str, int] | None:
        assert isinstance(rsc, WorkPrimitive)
        return own_node_scores(work, rsc, nodes, attribute, factor, only_positive, coloc,
                               scores_speaking_for_group(work, rsc, coloc))

    def configured_stickiness(self, rsc: WorkResource) -> int:
        assert isinstance(rsc, WorkPrimitive)
        return rsc.stickiness

    def with_this_colocations(self, rsc: WorkResource) -> list[WorkColocation]:
        return rsc.with_this

    def colocated_resources(self, rsc: WorkResource, orig: WorkResource, found: list[WorkResource]) -> None:
        colocated_with(rsc, orig, found)

    def add_utilization(self, rsc: WorkResource, orig: WorkResource, found: list[WorkResource],
                        total: dict[str, int]) -> None:
        assert isinstance(rsc, WorkPrimitive)
        add_primitive_utilization(rsc, total)

    # --- actions and orderings

    def create_actions(self, work: Work, rsc: WorkResource) -> None:
        assert isinstance(rsc, WorkPrimitive)
        create_primitive_actions(work, rsc)

    def probe_targets(self, rsc: WorkResource) -> ProbeTargets:
        assert isinstance(rsc, WorkPrimitive)
        targets: list[tuple[WorkPrimitive, WorkResource]] = [(rsc, rsc)]
        return lambda node: targets

    def internal_orderings(self, rsc: WorkResource) -> list[OrderTuple]:
        assert isinstance(rsc, WorkPrimitive)
        return primitive_orderings(rsc)

    def minimum_runnable(self, rsc: WorkResource, require_all: bool) -> int:
        return 0

    def action_flags(self, rsc: WorkResource, action: WorkAction, node: str | None,
                     instances: InstanceActions) -> tuple[bool, bool]:
        return action.optional, action.runnable

    def ordering_flags(self, rsc: WorkResource, action: WorkAction, node: str | None,
                       instances: InstanceActions) -> tuple[bool, bool]:
        return action.optional, action.runnable

    def start_node(self, rsc: WorkResource, start: WorkAction) -> str | None:
        return start.node

    def update_ordered_actions(self, prop: Propagation, rsc: WorkResource, first: WorkAction,
                               then: WorkAction, f_optional: bool, f_runnable: bool, check_optional: bool,
                               check_runnable: bool, kind: OrdFlags) -> Updates:
        return (yield from prop.update_one(first, then, f_optional, f_runnable, check_optional,
                                           check_runnable, kind))

    # --- what it is

    def is_anonymous_clone(self, rsc: WorkResource) -> bool:
        return False

    def is_unique_clone(self, rsc: WorkResource) -> bool:
        return False

    def is_promotable(self, rsc: WorkResource) -> bool:
        return False

    def ordering_point(self, rsc: WorkResource, task: str) -> WorkAction | None:
        return None

    def create_notifications(self, work: Work, rsc: WorkResource) -> None:
        return None

    def notify_after_fencing(self, work: Work, rsc: WorkResource, prim: WorkPrimitive, stop: WorkAction,
                             fencing: WorkAction) -> None:
        return None

    def state(self, rsc: WorkResource, current: bool) -> Role:
        return rsc.role if current else rsc.next_role


PRIMITIVE = PrimitiveVariant()
