"""Clone notifications (``notify=true``): every instance is told before and
after the clone's instances start, stop, promote or demote, and what changes.

For each of those tasks a notifying clone has four pseudo-actions (stage 8):
``pre`` notify, all ``pre`` notified (``confirmed-pre``), ``post`` notify,
all ``post`` notified (``confirmed-post``), ordered around the clone's own
task and completion points; what is ordered after the clone waits for its
``confirmed-post`` point.  Once "required" and "unrunnable" have settled
(after stage 10), the notifications themselves are made (as Pacemaker makes
them when it writes the transition graph): a ``notify`` action for each
instance that is (or will be) active, carrying the ``notify_*`` meta
attributes an agent reads as ``OCF_RESKEY_CRM_meta_notify_*`` -- type and
operation, and which instances start, stop, promote, demote, are active,
inactive, promoted, unpromoted (with the older master/slave names), on
which nodes; the nodes the clone may run on and all nodes.  The same lists
are added to the instances' own start, stop, promote and demote actions.
"""

from __future__ import annotations

from functools import cmp_to_key

from vigil.scheduler.working import Work
from vigil.scheduler.working_actions import NotifyPoints, Ord, WorkAction, order
from vigil.scheduler.working_resources import Role, WorkClone, WorkPrimitive

# The clone task each notification is about, and the completion point after it.
COMPLETION = {"start": "running", "stop": "stopped", "promote": "promoted", "demote": "demoted"}


def notify_key(owner: str, kind: str, operation: str) -> str:
    """Pacemaker's name for a notification: ``web-clone_pre_notify_start_0``."""
    return f"{owner}_{kind}_notify_{operation}_0"


def _pseudo(work: Work, clone: WorkClone, task: str, of: WorkAction, kind: str, operation: str,
            notify_type: str) -> WorkAction:
    action = work.new_action(clone, task, None, name=notify_key(clone.id, kind, of.task))
    action.pseudo = True
    action.optional = of.optional
    action.meta.update({
        "notify_key_type": kind,
        "notify_key_operation": of.task,
        "notify_type": notify_type,
        "notify_operation": operation,
    })
    return action


def create_notify_points(work: Work, clone: WorkClone, task: str, action: WorkAction | None,
                         complete: WorkAction | None) -> NotifyPoints:
    """The four pseudo-actions around ``task`` (``action`` is the clone's
    task, ``complete`` its completion point), ordered pre -> pre notified ->
    the task ... completion -> post -> post notified."""
    points = NotifyPoints(task)
    if action is not None:
        points.pre = _pseudo(work, clone, "notify", action, "pre", task, "pre")
        points.pre.runnable = True
        points.pre_done = _pseudo(work, clone, "notified", action, "confirmed-pre", task, "pre")
        points.pre_done.runnable = True
        order(points.pre, points.pre_done, Ord.OPTIONAL)
        order(points.pre_done, action, Ord.OPTIONAL)
    if complete is not None:
        points.post = _pseudo(work, clone, "notify", complete, "post", task, "post")
        points.post.runnable = complete.runnable
        points.post_done = _pseudo(work, clone, "notified", complete, "confirmed-post", task, "post")
        points.post_done.runnable = complete.runnable
        order(complete, points.post, Ord.IMPLIES_THEN)
        order(points.post, points.post_done, Ord.IMPLIES_THEN)
    if points.pre_done is not None and points.post is not None:
        order(points.pre_done, points.post, Ord.OPTIONAL)
    clone.notify_points[task] = points
    return points


def create_clone_notify_points(work: Work, clone: WorkClone, actions: dict[str, WorkAction]) -> None:
    """The notification pseudo-actions of every task the clone has (its
    start/stop, and promote/demote when promotable), and how the groups are
    ordered: everything stopped and demoted is notified before anything
    starts or promotes."""
    if not clone.notify:
        return
    for task in ("start", "stop", "promote", "demote"):
        if task in actions:
            create_notify_points(work, clone, task, actions[task], actions.get(COMPLETION[task]))
    points = clone.notify_points

    def after(first: str, then: str) -> None:
        done, pre = points.get(first), points.get(then)
        if done is not None and pre is not None and done.post_done is not None and pre.pre is not None:
            order(done.post_done, pre.pre, Ord.OPTIONAL)

    after("stop", "start")
    if "promote" in points:
        after("stop", "promote")
        after("start", "promote")
        after("demote", "promote")
        after("demote", "start")
        after("demote", "stop")


def notified_point(clone: WorkClone, completion_task: str) -> WorkAction | None:
    """What an ordering after the clone's ``completion_task`` (running,
    stopped, promoted, demoted) waits for when the clone notifies: the end
    of the notifications that follow it."""
    for task, completion in COMPLETION.items():
        if completion == completion_task:
            points = clone.notify_points.get(task)
            return points.post_done if points is not None else None
    return None


# --- after the orderings have settled ----------------------------------------


class _Lists:
    """Who does what, as (instance id, node) pairs."""

    def __init__(self) -> None:
        self.start: list[tuple[str, str | None]] = []
        self.stop: list[tuple[str, str | None]] = []
        self.promote: list[tuple[str, str | None]] = []
        self.demote: list[tuple[str, str | None]] = []
        self.active: list[tuple[str, str | None]] = []
        self.inactive: list[tuple[str, str | None]] = []
        self.promoted: list[tuple[str, str | None]] = []
        self.unpromoted: list[tuple[str, str | None]] = []


def _collect(work: Work, clone: WorkClone) -> _Lists:
    lists = _Lists()
    for prim in clone.primitives():
        node = prim.running_on[0] if prim.running_on else None
        entry = (prim.id, node)
        role = prim.role
        if prim.running_on and role == Role.STOPPED:
            role = Role.STARTED
        if role == Role.STOPPED:
            lists.inactive.append(entry)
        elif role == Role.STARTED:
            lists.active.append(entry)
        elif role == Role.UNPROMOTED:
            lists.unpromoted.append(entry)
            lists.active.append(entry)
        elif role == Role.PROMOTED:
            lists.promoted.append(entry)
            lists.active.append(entry)
        for action in prim.actions:
            if action.optional or action.node is None or action.interval_ms:
                continue
            unclean = work.nodes[action.node].unclean
            if not action.runnable and not (action.task == "stop" and unclean):
                continue
            target = getattr(lists, action.task, None) if action.task in COMPLETION else None
            if target is not None:
                target.append((prim.id, action.node))
    return lists


def _words(entries: list[tuple[str, str | None]], work: Work, with_nodes: bool) -> tuple[str, str]:
    """The resource names and node names of a list, sorted by resource and
    node id, each instance once; " " for an empty list."""
    node_ids = {name: node.id for name, node in work.nodes.items()}

    def key(entry: tuple[str, str | None]) -> tuple[str, int, str]:
        rsc_id, node = entry
        return (rsc_id, 1 if node is None else 0, node_ids.get(node, "") if node else "")

    resources: list[str] = []
    nodes: list[str] = []
    last: str | None = None
    for rsc_id, node in sorted(entries, key=key):
        if with_nodes and node is None:
            continue
        if rsc_id == last:
            continue
        last = rsc_id
        resources.append(rsc_id)
        if with_nodes and node is not None:
            nodes.append(node)
    return (" ".join(resources) or " "), (" ".join(nodes) or " ")


def notify_keys(work: Work, clone: WorkClone, lists: _Lists) -> dict[str, str]:
    """The ``notify_*`` meta attributes, as Pacemaker fills them."""
    keys: dict[str, str] = {}
    for name in ("stop", "start", "demote", "promote", "active"):
        resources, nodes = _words(getattr(lists, name), work, True)
        keys[f"notify_{name}_resource"] = resources
        keys[f"notify_{name}_uname"] = nodes
    for name, old in (("unpromoted", "slave"), ("promoted", "master")):
        resources, nodes = _words(getattr(lists, name), work, True)
        for prefix in (name, old):  # the deprecated names stay for older agents
            keys[f"notify_{prefix}_resource"] = resources
            keys[f"notify_{prefix}_uname"] = nodes
    keys["notify_inactive_resource"] = _words(lists.inactive, work, False)[0]
    keys["notify_available_uname"] = " ".join(sorted(clone.allowed, key=node_name_key)) or " "
    keys["notify_all_uname"] = " ".join(sorted(work.nodes, key=node_name_key)) or " "
    if clone.meta.get("container-attribute-target") == "host":
        keys["notify_all_hosts"] = keys["notify_all_uname"]
    return keys


def _compare_names(a: str, b: str) -> int:
    """Pacemaker's node name order: case-insensitive, runs of digits by value
    (node2 before node10), a longer run of equal value after (7 before 007)."""
    i = j = 0
    while i < len(a) and j < len(b):
        if a[i].isdigit() and b[j].isdigit():
            end_a, end_b = i, j
            while end_a < len(a) and a[end_a].isdigit():
                end_a += 1
            while end_b < len(b) and b[end_b].isdigit():
                end_b += 1
            num_a, num_b = int(a[i:end_a]), int(b[j:end_b])
            if num_a != num_b:
                return -1 if num_a < num_b else 1
            if end_a - i != end_b - j:
                return -1 if end_a - i < end_b - j else 1
            i, j = end_a, end_b
            continue
        low_a, low_b = a[i].lower(), b[j].lower()
        if low_a != low_b:
            return -1 if low_a < low_b else 1
        i += 1
        j += 1
    if i == len(a) and j < len(b):
        return -1
    if i < len(a) and j == len(b):
        return 1
    return 0


node_name_key = cmp_to_key(_compare_names)


def _required(points: NotifyPoints, lists: _Lists) -> bool:
    return bool(getattr(lists, points.task))


def create_notifications(work: Work, clone: WorkClone) -> None:
    """The instances' notify actions and notify meta attributes (after the
    orderings have settled, so that only what really happens is listed)."""
    if not clone.notify or not clone.notify_points:
        return
    lists = _collect(work, clone)
    keys = notify_keys(work, clone, lists)
    for points in clone.notify_points.values():
        if _required(points, lists):
            for pseudo in (points.pre, points.pre_done, points.post, points.post_done):
                if pseudo is not None:
                    pseudo.optional = False
    for prim in clone.primitives():
        for action in prim.actions:
            if not action.optional and action.node is not None and action.interval_ms == 0 \
                    and action.task in COMPLETION:
                action.meta.update(keys)
    for points in clone.notify_points.values():
        for prim in clone.primitives():
            _instance_notifications(work, prim, points, lists, keys)


def _instance_notifications(work: Work, prim: WorkPrimitive, points: NotifyPoints, lists: _Lists,
                            keys: dict[str, str]) -> None:
    task = points.task
    if task in ("start", "promote", "demote") and not getattr(lists, task):
        return
    if prim.role != Role.STOPPED and task in ("stop", "demote"):
        stop = _newest(prim, "stop")
        for node in prim.running_on:
            if stop is not None and stop.pseudo and work.nodes[node].unclean:
                continue  # a stop implied by fencing: nobody to tell there
            _notify(work, prim, node, points.pre, points.pre_done, keys)
            if task == "demote" or stop is None or stop.optional:
                _post_notify(work, prim, node, points, keys)
    if prim.next_role != Role.STOPPED and task in ("start", "promote"):
        if prim.assigned is None:
            return
        start = _newest(prim, "start")
        if task != "start" or start is None or start.optional:
            _notify(work, prim, prim.assigned, points.pre, points.pre_done, keys)
        _post_notify(work, prim, prim.assigned, points, keys)


def _newest(prim: WorkPrimitive, task: str) -> WorkAction | None:
    found = prim.actions_by_task.get(task)
    return found[-1] if found else None


def _notify(work: Work, prim: WorkPrimitive, node: str, point: WorkAction | None,
            done: WorkAction | None, keys: dict[str, str]) -> WorkAction | None:
    """One instance's notification on ``node``, between ``point`` and ``done``."""
    if point is None or done is None or not work.nodes[node].online or not point.runnable:
        return None
    name = notify_key(prim.id, point.meta["notify_type"], point.meta["notify_operation"])
    found = [a for a in prim.actions_by_task.get("notify", ()) if a.node == node and a.name == name]
    # The same notification made twice (after fencing, then for the
    # transition's own stops) is one action: it keeps what it was first told
    # about itself and gets the full lists.
    action = found[0] if found else work.new_action(prim, "notify", node, optional=point.optional, name=name)
    if not point.optional:
        action.optional = False
    for key, value in point.meta.items():
        action.meta.setdefault(key, value)
    action.meta.update(keys)
    order(point, action, Ord.OPTIONAL)
    order(action, done, Ord.OPTIONAL)
    return action


def _post_notify(work: Work, prim: WorkPrimitive, node: str, points: NotifyPoints,
                 keys: dict[str, str]) -> None:
    _notify(work, prim, node, points.post, points.post_done, keys)
    if points.post_done is None:
        return
    for monitor in prim.actions_by_task.get("monitor", ()):
        if monitor.interval_ms:
            order(points.post_done, monitor, Ord.OPTIONAL)


def notify_after_fencing(work: Work, clone: WorkClone, prim: WorkPrimitive, stop: WorkAction,
                         fencing: WorkAction) -> None:
    """A stop implied by fencing: the clone's other instances are told after
    the fencing that ``prim`` stopped (only that: the notifications of the
    transition's own stops come later, and keep these)."""
    if not clone.notify:
        return
    post = work.new_action(prim, "notify", None, name=notify_key(prim.id, "post", fencing.task))
    post_done = work.new_action(prim, "notified", None,
                                name=notify_key(prim.id, "confirmed-post", fencing.task))
    for action, kind in ((post, "post"), (post_done, "confirmed-post")):
        action.pseudo = True
        action.optional = fencing.optional
        action.runnable = fencing.runnable
        action.meta.update({"notify_key_type": kind, "notify_key_operation": fencing.task,
                            "notify_type": "post", "notify_operation": "stop"})
    order(fencing, post, Ord.IMPLIES_THEN)
    order(post, post_done, Ord.IMPLIES_THEN)
    keys = {"notify_stop_resource": prim.id, "notify_stop_uname": stop.node or " "}
    points = NotifyPoints("stop", post=post, post_done=post_done)
    for other in clone.primitives():
        for action in other.actions:
            if not action.optional and action.node is not None and action.interval_ms == 0 \
                    and action.task in COMPLETION:
                action.meta.update(keys)
        if other.role == Role.STOPPED:
            continue
        other_stop = _newest(other, "stop")
        for node in other.running_on:
            if other_stop is not None and other_stop.pseudo and work.nodes[node].unclean:
                continue
            if other_stop is None or other_stop.optional:
                _post_notify(work, other, node, points, keys)
