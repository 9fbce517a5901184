"""Injecting each fault kind into the running lab (the kinds are in :mod:`.schedule`).

Every function takes the lab's cluster and a :class:`~.schedule.Step`,
resolves the step's roles ("controller", "the node running A") against the
cluster as it is now, injects the fault, holds it for the step's ``hold_s``
when the fault has a duration (a pause, a cut, an etcd member down), ends
it (SIGCONT, heal, restart), and says what it did in an :class:`Injected`.
Nodes killed or fenced are started again by the rebooter
(:class:`~.control.LabCluster`), not here.

Resource faults use ``ocf:lab:Probe``'s marker files in the node's probe
directory; "a resource died" removes its state file, as the death of a
process would end it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vigil.testing.cluster import EtcdMember
from vigil.testing.lab.activity import CLEANUP, DIED
from vigil.testing.lab.control import LabCluster, LabError, probe_dir
from vigil.testing.lab.schedule import Step
from vigil.testing.lab.workspace import GROUP, NODES, clone_primitives

# How long an operator step waits for the cluster between its two commands (seconds).
PHASE_SETTLE_S = 45.0


@dataclass
class Injected:
    """What a step did: its resolved target, the nodes it disturbed, when, and what it held."""

    target: str
    t_inject: float
    # Nodes whose view of the store the fault may have broken (their records may be lost then).
    disturbed: set[str] = field(default_factory=set)
    held_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    skipped: str = ""
    # (node, resource) whose agent must have failed before the step can count as settled.
    expect_failure: tuple[str, str] | None = None


# Waits until the cluster is settled again, at most so many seconds (given by the runner): an
# operator step's second command waits for its first to have taken effect.
WaitSettled = Callable[[float], None]


def placement(report: dict[str, Any]) -> dict[str, list[str]]:
    """Primitive (clone instances under their base id) -> the nodes the store shows it on."""
    found: dict[str, list[str]] = {}

    def walk(item: dict[str, Any]) -> None:
        if item.get("kind") == "primitive":
            base = str(item["id"]).split(":")[0]
            found.setdefault(base, []).extend(str(n) for n in item.get("nodes") or [])
        for member in item.get("members") or []:
            walk(member)

    for resource in report.get("resources") or []:
        walk(resource)
    return found


def status_or_fail(lab: LabCluster) -> dict[str, Any]:
    report = lab.controller_status()
    if report is None:
        raise LabError("no controller answers")
    return report


def controller_name(lab: LabCluster) -> str:
    return str(status_or_fail(lab)["controller"])


def resolve_node(lab: LabCluster, name: str) -> str:
    return controller_name(lab) if name == "controller" else name


def where(lab: LabCluster, resource: str) -> list[str]:
    return placement(status_or_fail(lab)).get(resource, [])


# -- node faults ------------------------------------------------------------------------------


def kill_node(lab: LabCluster, step: Step, victim: str) -> Injected:
    report = status_or_fail(lab)
    t = lab.event("fault", victim, kind=step.kind, step=step.number)
    lab.kill(victim, step.hold_s)
    return Injected(f"{victim} (controller {report.get('controller')})", t, {victim}, held_s=step.hold_s)


def kill_some_node(lab: LabCluster, step: Step) -> Injected:
    leader = controller_name(lab)
    others = [n for n in NODES if n != leader]
    step_node = NODES[step.number % len(NODES)]
    return kill_node(lab, step, step_node if step_node in others else others[0])


def kill_controller(lab: LabCluster, step: Step) -> Injected:
    return kill_node(lab, step, controller_name(lab))


def kill_node_running(lab: LabCluster, step: Step) -> Injected:
    nodes = where(lab, step.resource)
    if not nodes:
        injected = kill_some_node(lab, step)
        injected.notes.append(f"{step.resource} ran nowhere: killed another node instead")
        return injected
    injected = kill_node(lab, step, nodes[0])
    injected.target = f"{nodes[0]} (running {step.resource}); {injected.target}"
    return injected


def pause_node(lab: LabCluster, step: Step) -> Injected:
    victim = resolve_node(lab, step.node)
    node = lab.node(victim)
    t = lab.event("fault", victim, kind=step.kind, step=step.number)
    node.pause()
    time.sleep(step.hold_s)
    with lab.lock:
        node.resume()  # a node fenced meanwhile is gone: nothing to wake
    return Injected(victim, t, {victim}, held_s=step.hold_s)


def cut_node(lab: LabCluster, step: Step) -> Injected:
    victim = resolve_node(lab, step.node)
    t = lab.event("fault", victim, kind=step.kind, step=step.number, mode=step.mode)
    lab.local.cut(victim, "drop" if step.mode == "drop" else "blackhole")
    time.sleep(step.hold_s)
    lab.local.heal(victim)
    return Injected(f"{victim} ({step.mode})", t, {victim}, held_s=step.hold_s)


# -- etcd faults ------------------------------------------------------------------------------


def etcd_member(lab: LabCluster, member: str) -> str:
    if member == "leader":
        leader = lab.local.leader()
        return leader.name if leader is not None else "etcd1"
    return member


def kill_etcd(lab: LabCluster, step: Step) -> Injected:
    name = etcd_member(lab, step.member)
    member = lab.local.member(name)
    t = lab.event("fault", "", kind=step.kind, step=step.number, member=name)
    member.kill()
    time.sleep(step.hold_s)
    member.spawn()
    member.wait_healthy(30)
    return Injected(name, t, set(NODES), held_s=step.hold_s)


def pause_etcd(lab: LabCluster, step: Step) -> Injected:
    name = etcd_member(lab, step.member)
    member = lab.local.member(name)
    t = lab.event("fault", "", kind=step.kind, step=step.number, member=name)
    member.pause()
    time.sleep(step.hold_s)
    member.resume()
    return Injected(name, t, set(NODES), held_s=step.hold_s)


# -- resource faults ----------------------------------------------------------------------------


def resource_target(lab: LabCluster, step: Step) -> tuple[str, str] | None:
    """(resource, node): a clone instance on the step's node if it runs there, else where it runs."""
    nodes = where(lab, step.resource)
    if not nodes:
        return None
    if step.resource in clone_primitives() and step.node in nodes:
        return step.resource, step.node
    return step.resource, nodes[0]


def mark(lab: LabCluster, node: str, resource: str, kind: str, text: str = "") -> None:
    (probe_dir(lab.node(node)) / f"{resource}.{kind}").write_text(text)


def make_die(lab: LabCluster, node: str, resource: str) -> None:
    """The resource dies on ``node`` (its state file goes): its next monitor says "not running"."""
    lab.event(DIED, node, rsc=resource)
    (probe_dir(lab.node(node)) / resource).unlink(missing_ok=True)


def resource_fault(lab: LabCluster, step: Step) -> Injected:
    target = resource_target(lab, step)
    if target is None:
        return Injected("", time.monotonic(), skipped=f"{step.resource} runs nowhere")
    resource, node = target
    t = lab.event("fault", node, kind=step.kind, step=step.number, rsc=resource, mode=step.mode)
    if step.kind == "monitor-fail":
        if step.mode == "died":
            make_die(lab, node, resource)
        else:
            mark(lab, node, resource, "fail-monitor", "1")
    elif step.kind == "start-fail":
        mark(lab, node, resource, "fail-start")
        make_die(lab, node, resource)
    elif step.kind == "stop-fail":
        mark(lab, node, resource, "fail-stop")
        mark(lab, node, resource, "fail-monitor", "1")
    elif step.kind == "agent-hang":
        if step.mode == "monitor":
            mark(lab, node, resource, "hang-monitor")
        else:
            mark(lab, node, resource, "hang-start")
            make_die(lab, node, resource)
    return Injected(f"{resource} on {node}", t, expect_failure=(node, resource))


# -- operator actions -----------------------------------------------------------------------------


class Background:
    """A fault held while an operator command is given (``step.background``); ``victim``: the node a
    background kill-node ends."""

    def __init__(self, lab: LabCluster, step: Step, victim: str) -> None:
        self.lab = lab
        self.step = step
        self.victim = victim
        self.began = 0.0
        self.what = ""
        self.disturbed: set[str] = set()
        self._end: Callable[[], None] = lambda: None

    def begin(self) -> None:
        kind, lab = self.step.background, self.lab
        self.began = time.monotonic()
        if kind in ("kill-etcd", "pause-etcd"):
            member = lab.local.member(("etcd1", "etcd2", "etcd3")[self.step.number % 3])
            self.what, self.disturbed = f"{kind} {member.name}", set(NODES)
            lab.event("fault", "", kind=f"background {kind}", step=self.step.number, member=member.name)
            if kind == "kill-etcd":
                member.kill()
                self._end = lambda: restart_member(member)
            else:
                member.pause()
                self._end = member.resume
        elif kind == "kill-node":
            self.what, self.disturbed = f"kill-node {self.victim}", {self.victim}
            lab.event("fault", self.victim, kind="background kill-node", step=self.step.number)
            lab.kill(self.victim, self.step.hold_s)

    def end(self) -> None:
        left = self.step.hold_s - (time.monotonic() - self.began)
        if self.step.background != "none" and left > 0:
            time.sleep(left)
        self._end()


def restart_member(member: EtcdMember) -> None:
    member.spawn()
    member.wait_healthy(30)


def roles(step: Step, target: str) -> tuple[str, str]:
    """(the node the operator types on, the node a background kill-node ends): never the target,
    never each other; rotated by the step's number."""
    order = [NODES[(step.number + i) % len(NODES)] for i in range(len(NODES))]
    others = [n for n in order if n != target]
    return others[0], others[1]


def command(lab: LabCluster, node: str, *args: str) -> str:
    """Run one ``vigil`` command on ``node``; LabError with its output when it fails."""
    run = lab.vigil(node, *args)
    if run.returncode != 0:
        raise LabError(f"`vigil {' '.join(args)}` on {node} failed ({run.returncode}): "
                       f"{(run.stderr or run.stdout).strip()[-1500:]}")
    if "Traceback (most recent call last)" in run.stderr:
        raise LabError(f"`vigil {' '.join(args)}` printed a traceback:\n{run.stderr[-3000:]}")
    return run.stdout


def members_of(resource: str) -> list[str]:
    """The primitives a top-level resource name stands for (what a cleanup of it clears)."""
    if resource == GROUP[0]:
        return list(GROUP[1])
    if resource == "C":
        return ["Cp"]
    if resource == "CG":
        return ["CG1", "CG2"]
    return [resource]


def operator(lab: LabCluster, step: Step, settle: WaitSettled) -> Injected:
    """An operator action, given to a node that stays up, during ``step.background``."""
    target = step.node
    if step.kind == "ban":
        target = (where(lab, step.resource if step.resource != GROUP[0] else GROUP[1][0]) or [step.node])[0]
    cli, victim = roles(step, target if step.kind in ("standby", "move", "ban") else "")
    background = Background(lab, step, victim)
    t = lab.event("fault", target, kind=step.kind, step=step.number, rsc=step.resource)
    background.begin()
    injected = Injected("", t, set(background.disturbed), held_s=step.hold_s)
    try:
        injected.target = first_command(lab, step, cli, target)
    finally:
        background.end()
    if background.what:
        injected.notes.append(f"during {background.what}")
    second = second_command(step, target)
    if second:
        settle(PHASE_SETTLE_S)
        command(lab, cli, *second)
    return injected


def first_command(lab: LabCluster, step: Step, cli: str, target: str) -> str:
    if step.kind == "standby":
        command(lab, cli, "node", "standby", target)
        return f"standby {target} (via {cli})"
    if step.kind == "move":
        command(lab, cli, "resource", "move", step.resource, target)
        return f"move {step.resource} to {target} (via {cli})"
    if step.kind == "ban":
        command(lab, cli, "resource", "ban", step.resource, target)
        return f"ban {step.resource} from {target} (via {cli})"
    if step.kind == "cleanup":
        cleanup(lab, cli, step.resource, members_of(step.resource))
        return f"cleanup {step.resource} (via {cli})"
    if step.kind == "config-change":
        if step.resource == "X":
            lab.extra = not lab.extra
            what = "X added" if lab.extra else "X removed"
        else:
            lab.generations[step.resource] = lab.generations.get(step.resource, 0) + 1
            what = f"{step.resource} generation {lab.generations[step.resource]}"
        lab.write_configuration()
        t0 = time.monotonic()
        command(lab, cli, "config", "load", str(lab.paths.config_file))
        if step.resource != "X":
            # A definition change clears the fail-counts of failures whose operation it changed
            # (Pacemaker's digest rule, which the lab does not recompute): for the fail-count
            # audit, a cleanup that may or may not have cleared them.
            lab.event(CLEANUP, "", rsc=step.resource, members=step.resource, t0=t0, failed="1",
                      why="definition change")
        return f"config: {what} (via {cli})"
    raise LabError(f"not an operator action: {step.kind}")


def second_command(step: Step, target: str) -> tuple[str, ...]:
    if step.kind == "standby":
        return ("node", "online", target)
    if step.kind in ("move", "ban"):
        return ("resource", "clear", step.resource)
    return ()


def cleanup(lab: LabCluster, cli: str, resource: str, members: list[str]) -> None:
    """``vigil resource cleanup``, written down for the fail-count audit: when it was asked, when it
    returned, and whether it failed (it may then have cleared the counts, or not)."""
    t0 = time.monotonic()
    try:
        command(lab, cli, "resource", "cleanup", resource)
    except LabError:
        lab.event(CLEANUP, "", rsc=resource, members=",".join(members), t0=t0, failed="1")
        raise
    lab.event(CLEANUP, "", rsc=resource, members=",".join(members), t0=t0)


def cleanup_after(lab: LabCluster, resource: str) -> None:
    """The operator's cleanup after a start failure (its fail-count would ban it there for good)."""
    serving = lab.serving_nodes()
    if not serving:
        raise LabError("no node serves its API for the cleanup")
    cleanup(lab, serving[0], resource, [resource])


INJECTORS: dict[str, Callable[[LabCluster, Step], Injected]] = {
    "kill-node": kill_some_node,
    "kill-controller": kill_controller,
    "kill-node-running": kill_node_running,
    "pause-node": pause_node,
    "kill-etcd": kill_etcd,
    "pause-etcd": pause_etcd,
    "cut-node": cut_node,
    "monitor-fail": resource_fault,
    "start-fail": resource_fault,
    "stop-fail": resource_fault,
    "agent-hang": resource_fault,
}

