"""Stage 11: the stop context — why each stop and start runs, and what follows.

Every stop of a resource tells its agent why it runs (``stop_reason``),
whether the cluster will start it again on this node in this transition
(``stop_final``), which resource's failure or change caused it
(``stop_cause``), where it starts next (``stop_next_node``) and, for stops a
failure caused, how many restarts in place the failure budget still allows
(``recoveries_left``).  Starts say why they run too.  Everything is read off
the planned transition itself, so it is right for dependents as well: a
resource stopped because the one it depends on failed is told so, with that
resource's budget.

The values are strings, exactly as an agent sees them in
``OCF_RESKEY_CRM_meta_<name>``.
"""

from __future__ import annotations

from vigil.model.failcounts import recoveries_left
from vigil.model.scores import INFINITY
from vigil.model.stop_context import (
    DEMOTE_CAUSE,
    DEMOTE_FINAL,
    DEMOTE_NEXT_NODE,
    DEMOTE_REASON,
    PROMOTE_REASON,
    RECOVERY_ALIASES,
    START_REASON,
    STOP_CAUSE,
    STOP_FINAL,
    STOP_NEXT_NODE,
    STOP_REASON,
)
from vigil.scheduler.failcounts import effective_failcount
from vigil.scheduler.location import has_clear_failcount
from vigil.scheduler.working import Work
from vigil.scheduler.working_actions import WorkAction
from vigil.scheduler.working_resources import Role, WorkColocation, WorkPrimitive, WorkResource

# When several reasons apply, the first in this order wins.
REASON_PRECEDENCE = ("failure", "shutdown", "standby", "admin", "orphan", "config", "dependency", "move")
# Reasons that make a stop spread to what depends on the resource.
ROOT_REASONS = ("failure", "admin", "orphan", "config")
START_REASON_FOR_STOP = {
    "failure": "recovery",
    "dependency": "dependency",
    "config": "config",
    "admin": "admin",
    "move": "move",
    "standby": "move",
    "shutdown": "move",
    "orphan": "move",
}


def has_failed(rsc: WorkPrimitive) -> bool:
    """Whether ``rsc`` failed: now somewhere, or enough to be banned from a node (it may have been
    stopped there already, by an earlier transition that was then aborted)."""
    return bool(rsc.failed_on) or any(failed is rsc for failed in rsc.banned_by.values())


def is_scheduled(action: WorkAction) -> bool:
    """Will this action be in the transition (required and able to run)?"""
    return not action.optional and (action.runnable or action.pseudo)


class _Context:
    def __init__(self, work: Work) -> None:
        self.work = work
        self.stop_reasons: dict[tuple[str, str], tuple[str, WorkPrimitive | None]] = {}

    # --- stops -------------------------------------------------------------

    def own_reasons(self, rsc: WorkPrimitive, node: str) -> list[str]:
        """Reasons that concern ``rsc`` on ``node`` itself."""
        wnode = self.work.nodes[node]
        reasons = []
        if node in rsc.failed_on:
            reasons.append("failure")
        if wnode.shutdown or (wnode.unclean and not wnode.online):
            reasons.append("shutdown")
        if (wnode.standby and not wnode.pending) or wnode.maintenance:
            reasons.append("standby")
        if self._is_admin_stop(rsc, node):
            reasons.append("admin")
        if rsc.orphan:
            reasons.append("orphan")
        if node in rsc.changed_on:
            reasons.append("config")
        return reasons

    def _is_admin_stop(self, rsc: WorkPrimitive, node: str) -> bool:
        """Disabled (target-role=Stopped) or moved off ``node`` by an
        operator's ban or move (the cli-ban / cli-prefer constraints)."""
        if rsc.meta.get("target-role", "").lower() == "stopped":
            return True
        ids = {rsc.id, rsc.prim.id}
        parent: WorkResource | None = rsc.parent
        while parent is not None:
            ids.update(parent.variant.constraint_ids(parent))
            parent = parent.parent
        for location in self.work.cluster.config.locations:
            if location.rsc not in ids or not location.id.startswith(("cli-ban-", "cli-prefer-")):
                continue
            if location.id.startswith("cli-ban-") and location.node == node:
                return True
            if location.id.startswith("cli-prefer-") and location.node not in (None, node) \
                    and rsc.assigned == location.node:
                return True
        return False

    def stop_reason(self, rsc: WorkPrimitive, node: str,
                    stop: WorkAction | None) -> tuple[str, WorkPrimitive | None]:
        """(reason, cause) for ``rsc`` stopping on ``node``."""
        key = (rsc.id, node)
        if key in self.stop_reasons:
            return self.stop_reasons[key]
        self.stop_reasons[key] = ("move", None)  # guards against loops
        own = self.own_reasons(rsc, node)
        candidates: list[tuple[str, WorkPrimitive | None]] = [(reason, rsc) for reason in own]
        # An own reason always outranks ``dependency``: no need to look further (nor to recurse
        # through resources whose reason is being computed).
        cause = self._dependency_cause(rsc, node, stop) if not own else None
        if cause is not None:
            candidates.append(("dependency", cause))
        candidates.append(("move", None))
        reason, culprit = min(candidates, key=lambda item: REASON_PRECEDENCE.index(item[0]))
        if reason in ("move", "standby", "shutdown"):
            culprit = None
        self.stop_reasons[key] = (reason, culprit)
        return reason, culprit

    def _dependency_cause(self, rsc: WorkPrimitive, node: str,
                          stop: WorkAction | None) -> WorkPrimitive | None:
        """The failed or changed resource this stop follows from, if any:
        through the orderings that made the stop required (restarts, groups,
        mandatory orders), through an INFINITY colocation with something
        that stops here, or through a ban another failure put on the node."""
        banned_by = rsc.banned_by.get(node)
        if banned_by is not None and banned_by is not rsc:
            return banned_by
        if stop is not None:
            origin = _origin(stop)
            culprit = self._primitive_of(origin)
            if origin is not None and culprit is not None and culprit is not rsc:
                found = self._root_cause(culprit, origin.node or node)
                if found is not None:
                    return found
        parent = rsc.parent
        members = parent.variant.stops_together(parent) if parent is not None else []
        # A group moves whole: a member that reached its migration-threshold here takes the
        # others with it, even once it is stopped itself (an earlier, aborted transition).
        for member in members:
            failed = member.banned_by.get(node)
            if member is not rsc and failed is not None and failed is not rsc:
                return failed
        # A member is tied to those after it too (they depend on it; the orderings above found
        # those before it).
        for member in members[members.index(rsc) + 1:] if rsc in members else ():
            if _scheduled(member, "stop", node) is None:
                continue
            found = self._root_cause(member, node)
            if found is not None:
                return found
        # What runs in a container (a guest's or a bundle's connection) goes with it, wherever
        # the container itself runs.
        container = rsc.container
        container_stop = _scheduled(container, "stop", None) if container is not None else None
        if container is not None and container_stop is not None and container_stop.node is not None:
            found = self._root_cause(container, container_stop.node)
            if found is not None:
                return found
        for coloc in _mandatory_colocations(rsc):
            for primary in coloc.primary.primitives():
                primary_stop = _scheduled(primary, "stop", node)
                if primary_stop is None or primary is rsc:
                    continue
                found = self._root_cause(primary, node)
                if found is not None:
                    return found
        return None

    def _root_cause(self, rsc: WorkPrimitive, node: str) -> WorkPrimitive | None:
        reason, cause = self.stop_reason(rsc, node, _scheduled(rsc, "stop", node))
        if reason in ROOT_REASONS:
            return rsc
        if reason == "dependency":
            return cause
        return None

    def recoveries_left(self, failed: WorkPrimitive, node: str) -> str:
        """The failure budget of ``failed`` on ``node`` as this transition
        leaves it: migration-threshold minus the fail-count once this
        transition's clears are applied and the current failure is counted."""
        threshold = failed.migration_threshold
        if threshold <= 0 or threshold >= INFINITY:
            return recoveries_left(threshold, 0)
        wnode = self.work.nodes[node]
        count = effective_failcount(wnode, failed, self.work.now)
        if has_clear_failcount(failed, node):
            count = 1 if node in failed.failed_on else 0
        elif node in failed.failed_on:
            count = max(count, 1)
        return recoveries_left(threshold, count)

    def stop_meta(self, rsc: WorkPrimitive, stop: WorkAction) -> dict[str, str]:
        node = stop.node
        assert node is not None
        reason, cause = self.stop_reason(rsc, node, stop)
        # A live migration's migrate_from is where it runs next (its start is a pseudo-action).
        start = _scheduled(rsc, "start", None) or _scheduled(rsc, "migrate_from", None)
        meta = {
            STOP_REASON: reason,
            STOP_FINAL: "false" if start is not None and start.node == node else "true",
        }
        if cause is not None:
            meta[STOP_CAUSE] = instance_name(cause)
        if start is not None and start.node is not None:
            meta[STOP_NEXT_NODE] = start.node
        failed = rsc if reason == "failure" else (
            cause if reason == "dependency" and cause is not None and self._failed_here(rsc, cause, node)
            else None
        )
        if failed is not None:
            budget = self.recoveries_left(failed, node)
            for alias in RECOVERY_ALIASES:
                meta[alias] = budget
        return meta

    @staticmethod
    def _failed_here(rsc: WorkPrimitive, cause: WorkPrimitive, node: str) -> bool:
        """Whether ``cause``'s failure on ``node`` is why ``rsc`` stops there: it failed there now,
        or its failures there banned ``rsc`` (or ``rsc``'s group) from the node (``cause`` may
        have been stopped already, by an earlier transition that was then aborted)."""
        if node in cause.failed_on:
            return True
        tied = rsc.parent.variant.stops_together(rsc.parent) if rsc.parent is not None else []
        return any(member.banned_by.get(node) is cause for member in (rsc, *tied))

    # --- starts ------------------------------------------------------------

    def start_meta(self, rsc: WorkPrimitive, start: WorkAction) -> dict[str, str]:
        node = start.node
        assert node is not None
        stops = [a for a in rsc.actions if a.task == "stop" and is_scheduled(a) and a.node is not None]
        meta: dict[str, str] = {}
        failed: WorkPrimitive | None = None
        if stops:
            reasons = [self.stop_reason(rsc, stop.node or "", stop) for stop in stops]
            reason, cause = min(reasons, key=lambda item: REASON_PRECEDENCE.index(item[0]))
            meta[START_REASON] = START_REASON_FOR_STOP.get(reason, "move")
            if reason == "failure":
                failed = rsc
            elif reason == "dependency" and cause is not None and has_failed(cause):
                failed = cause
        elif has_failed(rsc) or self._recovering(rsc, node, promote=False):
            meta[START_REASON] = "recovery"
            failed = rsc
        elif not rsc.running_on:
            cause = self._start_dependency(start)
            if cause is not None:
                meta[START_REASON] = "dependency"
                failed = cause if has_failed(cause) else None
            else:
                meta[START_REASON] = "initial"
        else:
            meta[START_REASON] = "move"
        if failed is not None:
            budget = self.recoveries_left(failed, node)
            for alias in RECOVERY_ALIASES:
                meta[alias] = budget
        return meta

    # --- demotes and promotes (a promotable clone's instances) -------------

    def demote_meta(self, rsc: WorkPrimitive, demote: WorkAction) -> dict[str, str]:
        """Why the promoted instance on N is demoted, and whether this
        transition promotes the resource on N again (``demote_final``) or
        where (``demote_next_node``): a database agent hands over cleanly
        only when promotion really leaves the node."""
        node = demote.node
        assert node is not None
        reason, cause = self.stop_reason(rsc, node, demote)
        if reason == "move" and rsc.meta.get("target-role", "").lower() in ("unpromoted", "slave"):
            reason, cause = "admin", rsc  # the operator asked for no promoted instance
        promotes = self._promotes(rsc)
        here = [p for p in promotes if p.node == node]
        meta = {DEMOTE_REASON: reason, DEMOTE_FINAL: "false" if here else "true"}
        if cause is not None:
            meta[DEMOTE_CAUSE] = instance_name(cause)
        next_node = here[0].node if here else (promotes[0].node if promotes else None)
        if next_node is not None:
            meta[DEMOTE_NEXT_NODE] = next_node
        self._add_budget(meta, self._failed_for(rsc, reason, cause, node), node)
        return meta

    def promote_meta(self, rsc: WorkPrimitive, promote: WorkAction) -> dict[str, str]:
        """Why this promote runs: ``initial`` (nothing was promoted),
        ``recovery`` (a promoted instance failed), ``move`` (promotion moves
        here from elsewhere), or the cause that demoted (or restarted) the
        promoted instance: ``dependency``, ``admin``, ``config``."""
        node = promote.node
        assert node is not None
        causes = [(self.stop_reason(other, action.node or "", action), other, action.node or "")
                  for other, action in self._demotions(rsc)]
        meta: dict[str, str] = {}
        failed: WorkPrimitive | None = None
        if causes:
            (reason, cause), other, where = min(
                causes, key=lambda item: REASON_PRECEDENCE.index(item[0][0]))
            meta[PROMOTE_REASON] = START_REASON_FOR_STOP.get(reason, "move")
            failed = self._failed_for(other, reason, cause, where)
        elif rsc.failed_on or self._recovering(rsc, node, promote=True):
            meta[PROMOTE_REASON] = "recovery"
            failed = rsc
        elif any(other.role == Role.PROMOTED for other in self._siblings(rsc)):
            meta[PROMOTE_REASON] = "move"
        else:
            meta[PROMOTE_REASON] = "initial"
        self._add_budget(meta, failed, node)
        return meta

    def _recovering(self, rsc: WorkPrimitive, node: str, *, promote: bool) -> bool:
        """Whether ``rsc`` failed on ``node`` and was stopped (demoted) there since, by an earlier
        transition that was aborted before it started (promoted) it again.  An anonymous clone's
        instances share one history per node, and this transition may number the instance anew."""
        top: WorkResource = rsc
        while top.parent is not None:
            top = top.parent
        anonymous = top.variant.is_anonymous_clone(top)
        for other in self._siblings(rsc) if anonymous else [rsc]:
            if node in (other.failed_since_promote_on if promote else other.failed_since_start_on):
                return True
        return False

    def _failed_for(self, rsc: WorkPrimitive, reason: str, cause: WorkPrimitive | None,
                    node: str) -> WorkPrimitive | None:
        """Whose failure budget a stop, demote or promote is told about."""
        if reason == "failure":
            return rsc
        if reason == "dependency" and cause is not None and node in cause.failed_on:
            return cause
        return None

    def _add_budget(self, meta: dict[str, str], failed: WorkPrimitive | None, node: str) -> None:
        if failed is not None:
            budget = self.recoveries_left(failed, node)
            for alias in RECOVERY_ALIASES:
                meta[alias] = budget

    def _siblings(self, rsc: WorkPrimitive) -> list[WorkPrimitive]:
        """The primitives made from the same definition in the resource's
        clone (its instances), ``rsc`` included."""
        top: WorkResource = rsc
        while top.parent is not None:
            top = top.parent
        return [p for p in top.primitives() if p.prim.id == rsc.prim.id] or [rsc]

    def _promotes(self, rsc: WorkPrimitive) -> list[WorkAction]:
        """The scheduled promotes of the resource (any of its instances)."""
        found = []
        for sibling in self._siblings(rsc):
            for action in sibling.actions_by_task.get("promote", ()):
                if is_scheduled(action) and not action.pseudo and action.node is not None:
                    found.append(action)
        return found

    def _demotions(self, rsc: WorkPrimitive) -> list[tuple[WorkPrimitive, WorkAction]]:
        """What takes the resource's promoted instances down in this
        transition: their demotes, else their stops."""
        found: list[tuple[WorkPrimitive, WorkAction]] = []
        for sibling in self._siblings(rsc):
            if sibling.role != Role.PROMOTED:
                continue
            for task in ("demote", "stop"):
                actions = [a for a in sibling.actions_by_task.get(task, ())
                           if a.interval_ms == 0 and is_scheduled(a) and a.node is not None]
                if actions:
                    found.extend((sibling, action) for action in actions)
                    break
        return found

    def _start_dependency(self, start: WorkAction) -> WorkPrimitive | None:
        origin = _origin(start)
        culprit = self._primitive_of(origin)
        if origin is not None and culprit is not None and culprit is not start.rsc:
            return self._root_cause(culprit, origin.node or start.node or "")
        return None

    def _primitive_of(self, action: WorkAction | None) -> WorkPrimitive | None:
        """The primitive ``action`` is an action of; None for a resource-less
        action or a group's or clone's pseudo-action (the run holds every
        primitive by id)."""
        if action is None or action.rsc is None or action.rsc.variant.collective:
            return None
        return self.work.rscs[action.rsc.id]


def instance_name(rsc: WorkPrimitive) -> str:
    """The name the agent knows the resource by (OCF_RESOURCE_INSTANCE):
    instances of anonymous clones go by the primitive's own id."""
    parent: WorkResource | None = rsc.parent
    while parent is not None:
        if parent.variant.is_anonymous_clone(parent):
            return rsc.prim.id
        parent = parent.parent
    return rsc.id


def _origin(action: WorkAction) -> WorkAction | None:
    """Follow "required by" and "blocked by" back to where it started."""
    seen: set[int] = set()
    current: WorkAction | None = action
    last: WorkAction | None = None
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        last = current
        if current.blocked_by is not None and current.blocked_by.rsc is None:
            # A resource-less point (one-or-more) blocked it: what blocked the point is the cause.
            current = current.blocked_by
        else:
            current = current.required_by or current.blocked_by
    return last if last is not action else None


def _scheduled(rsc: WorkPrimitive, task: str, node: str | None) -> WorkAction | None:
    for action in reversed(rsc.actions):
        if action.task == task and action.interval_ms == 0 and is_scheduled(action) \
                and not action.pseudo and (node is None or action.node == node):
            return action
    return None


def _mandatory_colocations(rsc: WorkPrimitive) -> list[WorkColocation]:
    found = [c for c in rsc.this_with if c.score >= INFINITY]
    parent: WorkResource | None = rsc.parent
    while parent is not None:
        found.extend(c for c in parent.this_with if c.score >= INFINITY)
        parent = parent.parent
    return found


def attach_stop_context(work: Work) -> None:
    """Put the stop context into the meta of every stop, start, demote and
    promote that runs."""
    context = _Context(work)
    for rsc in work.rscs.values():
        for action in rsc.actions:
            if action.interval_ms != 0 or action.node is None or not is_scheduled(action) or action.pseudo:
                continue
            if action.task == "stop":
                action.meta.update(context.stop_meta(rsc, action))
            elif action.task in ("start", "migrate_from"):  # migrate_from: a start by migration
                action.meta.update(context.start_meta(rsc, action))
            elif action.task == "demote":
                action.meta.update(context.demote_meta(rsc, action))
            elif action.task == "promote":
                action.meta.update(context.promote_meta(rsc, action))

