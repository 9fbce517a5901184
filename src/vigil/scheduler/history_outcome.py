"""What a node's replayed history of a resource leaves in the working state.

Active there (in every parent too; an unmanaged resource pinned where it
runs; a second active node handled as ``multiple-active`` says) or not (a
stop there becomes optional), the node's knowledge of the resource, and
the reaction its worst failure asks for.
"""

from __future__ import annotations

from vigil.model.scores import INFINITY
from vigil.scheduler.location import ban_everywhere, resource_node_score
from vigil.scheduler.on_fail import OnFail, react_to_failure
from vigil.scheduler.remote_history import fence_for_active
from vigil.scheduler.working import Work
from vigil.scheduler.working_nodes import WorkNode
from vigil.scheduler.working_resources import Role, WorkPrimitive, WorkResource


def process_state(work: Work, node: WorkNode, rsc: WorkPrimitive, on_fail: OnFail) -> None:
    # Roles are ordered: above STOPPED means active in some role.
    active = rsc.role > Role.STOPPED
    if rsc.role != Role.UNKNOWN:
        rsc.known_on.add(node.name)
    if active and not node.online and not node.maintenance and rsc.managed:
        fence_for_active(work, node, rsc)
    saved_on_fail = on_fail
    if node.unclean:
        on_fail = OnFail.IGNORE
    if on_fail != OnFail.IGNORE:
        react_to_failure(work, node, rsc, on_fail, active)
        if active:
            rsc.failed_on.add(node.name)
    if active:
        add_running(work, rsc, node, saved_on_fail != OnFail.IGNORE)
        if on_fail == OnFail.IGNORE:
            pass
        elif on_fail in (OnFail.DEMOTE, OnFail.BLOCK):
            rsc.failed = True
        else:
            rsc.failed = True
            rsc.stop_needed = True
    else:
        inactive_here(rsc, node)
    if rsc.role == Role.STOPPED and rsc.running_on and rsc.partial_migration_target is not None \
            and rsc.partial_migration_source == node.name:
        # Stopped on the source after its migrate_to: still active on the target.
        rsc.role = Role.STARTED


def inactive_here(rsc: WorkPrimitive, node: WorkNode) -> None:
    """Not active on ``node``: a stop there is not needed.  An old-style
    numbered history name of a stopped instance is forgotten (so that
    the instance is not known by it, e.g. for promotion scores)."""
    if rsc.history_id is not None and ":" in rsc.history_id:
        rsc.history_id = None
        return
    for action in rsc.actions:
        if action.task == "stop" and action.node == node.name:
            action.optional = True


def _is_clone(rsc: WorkResource) -> bool:
    return rsc.variant.is_anonymous_clone(rsc) or rsc.variant.is_unique_clone(rsc)


def add_running(work: Work, rsc: WorkPrimitive, node: WorkNode, failed: bool) -> None:
    if node.name in rsc.running_on:
        return
    rsc.running_on.append(node.name)
    if node.maintenance:
        rsc.managed = False
    if not rsc.managed:
        resource_node_score(work, rsc, node.name, INFINITY)
        # Pacemaker lists an unmanaged resource's node in every parent, again
        # if already there: instance placement then counts it twice.
        parent = rsc.parent
        while parent is not None and node.online:
            parent.running_on.append(node.name)
            parent = parent.parent
        return
    parent = rsc.parent
    while parent is not None:
        if node.name not in parent.running_on:
            parent.running_on.append(node.name)
        parent = parent.parent
    if len(rsc.running_on) > 1:
        if rsc.multiple_active == "stop_only":
            ban_everywhere(work, rsc)
        elif rsc.multiple_active == "block":
            rsc.managed = False
            rsc.blocked = True
            group = rsc.parent
            if group is not None and not _is_clone(group) and group.meta.get("multiple-active") == "block":
                # A group that blocks when multiply active blocks whole.
                for member in group.primitives():
                    member.managed = False
                    member.blocked = True
