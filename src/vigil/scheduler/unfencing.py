"""Unfencing: power a node's access back on before anything that needs it runs there.

Fence devices that cut a node off a shared resource rather than power it off
(SCSI reservations, multipath keys: ``fence_scsi``, ``fence_mpath``) say so
with ``provides=unfencing``; a resource with ``requires=unfencing`` may only
run where such a device has let the node in.  Once any resource's meta
attributes (or ``rsc_defaults``) mention unfencing, every resource that does
not say otherwise requires it, as in Pacemaker.

The scheduler plans an "on" fencing action of a node ("Fence (on) NODE")
before any probe or start there of what needs unfencing (fence devices
included: they often cannot even probe before the node is unfenced).  The
action is optional, hence not run, unless:

- the node was never unfenced (no ``#node-unfenced`` attribute, or ``0``):
  "required by RSC monitor|start";
- a device that unfences changed agent ("Device definition changed") or
  parameters ("Device parameters changed"): every online node it may run on
  is unfenced again.

A required unfencing restarts what needs unfencing on that node (its start
becomes required: "due to required stonith").
"""

from __future__ import annotations

from vigil.model.config import Bundle, Clone, Config, Group, NvSet, Primitive, Resource
from vigil.scheduler.fencing import fencing_action
from vigil.scheduler.working import Work
from vigil.scheduler.working_actions import Ord, OrdFlags, WorkAction, order
from vigil.scheduler.working_nodes import WorkNode
from vigil.scheduler.working_resources import WorkPrimitive

UNFENCED_ATTRIBUTE = "#node-unfenced"
UNFENCE = "on"


def unfencing_enabled(config: Config) -> bool:
    """Whether any resource's meta attributes or the resource defaults set
    ``provides`` or ``requires`` to ``unfencing`` (rules are not weighed:
    mentioning it is enough, as in Pacemaker)."""
    if _mentions_unfencing(config.rsc_defaults):
        return True
    return any(_resource_mentions_unfencing(rsc) for rsc in config.resources)


def _resource_mentions_unfencing(rsc: Resource) -> bool:
    if _mentions_unfencing(rsc.meta):
        return True
    if isinstance(rsc, Group):
        return any(_resource_mentions_unfencing(member) for member in rsc.members)
    if isinstance(rsc, Clone):
        return _resource_mentions_unfencing(rsc.child)
    if isinstance(rsc, Bundle):
        return rsc.child is not None and _resource_mentions_unfencing(rsc.child)
    assert isinstance(rsc, Primitive)
    return False


def _mentions_unfencing(sets: tuple[NvSet, ...]) -> bool:
    return any(name in ("provides", "requires") and value == "unfencing"
               for nvset in sets for name, value in nvset.values)


def is_unfenced(node: WorkNode) -> bool:
    """Has ``node`` been unfenced since it joined?  (A non-zero
    ``#node-unfenced`` attribute, which the controller sets on success.)"""
    value = node.attrs.get(UNFENCED_ATTRIBUTE)
    return value is not None and value != "0"


def unfence_op(work: Work, node: WorkNode, reason: str | None, optional: bool) -> WorkAction:
    """The one unfencing action of ``node`` (see :func:`~vigil.scheduler.fencing.fencing_action`)."""
    return fencing_action(work, node, work.unfence_ops, f"stonith-{node.name}-{UNFENCE}", UNFENCE, reason,
                          optional)


def _needs_unfencing_first(work: Work, rsc: WorkPrimitive) -> bool:
    return (rsc.is_fence_device and work.enable_unfencing) or rsc.needs_unfencing


def order_vs_unfencing(work: Work, rsc: WorkPrimitive, node_name: str, action: WorkAction,
                       flags: OrdFlags) -> None:
    """Order a probe or start of ``rsc`` on a node after that node's
    unfencing, and require the unfencing when the node never was."""
    node = work.nodes.get(node_name)
    if node is None or not _needs_unfencing_first(work, rsc):
        return
    # Optional at first: requiring it would restart everything on the node
    # whenever a resource is added.
    order(unfence_op(work, node, None, optional=True), action, flags)
    if not is_unfenced(node):
        trigger_unfencing(work, None, node, f"required by {rsc.id} {action.task}")


def trigger_unfencing(work: Work, device: WorkPrimitive | None, node: WorkNode | None, reason: str) -> None:
    """Require unfencing of ``node`` (when it is up), or, with no usable
    node, of every up node ``device`` may run on.  Only fence devices
    trigger it; nothing does when no resource uses unfencing."""
    if not work.enable_unfencing:
        return
    if device is not None and not device.is_fence_device:
        return
    if node is not None and _is_up(node):
        unfence_op(work, node, reason, optional=False)
    elif device is not None:
        for name in device.allowed:
            candidate = work.nodes.get(name)
            if candidate is not None and _is_up(candidate):
                unfence_op(work, candidate, reason, optional=False)


def _is_up(node: WorkNode) -> bool:
    return node.online and not node.unclean and not node.shutdown


def _restart_candidates(work: Work) -> list[WorkPrimitive]:
    """Managed resources (not fence devices) that need unfencing wherever they run."""
    if not work.enable_unfencing:
        return []
    return [rsc for top in work.top for rsc in top.primitives()
            if rsc.managed and rsc.needs_unfencing and not rsc.is_fence_device]


def create_unfence_ops(work: Work) -> None:
    """The (optional) unfencing of every node a resource needing it may run
    on, created before any action so that they are listed in node order."""
    for rsc in _restart_candidates(work):
        for name in sorted(rsc.allowed):
            node = work.nodes.get(name)
            if node is not None:
                unfence_op(work, node, None, optional=True)


def order_restarts_vs_unfencing(work: Work) -> None:
    """On every node it may run on: stops of a resource needing unfencing
    before the node's unfencing, its starts after; a required unfencing
    requires the starts on that node (a restart when it runs there)."""
    for rsc in _restart_candidates(work):
        for name in sorted(rsc.allowed):
            node = work.nodes.get(name)
            if node is None:
                continue
            unfence = unfence_op(work, node, None, optional=True)
            for action in list(rsc.actions):
                if action.node != name or action.interval_ms:
                    continue
                if action.task == "stop":
                    order(action, unfence, Ord.OPTIONAL)
                elif action.task == "start":
                    order(unfence, action, Ord.OPTIONAL | Ord.IMPLIES_THEN)
