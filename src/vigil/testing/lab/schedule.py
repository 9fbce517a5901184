"""The fault kinds and the seeded schedule: every choice of a run drawn up front from its seed.

Why up front: a run is replayed with its seed (``--seed S``), so the kinds,
their order, their targets and their durations must come from
``random.Random(seed)`` alone, never from the cluster's state.  Where a
fault targets a role ("the controller", "the node running A") the schedule
names the role and the run resolves it when the step comes.

Each kind has a **settle bound**: the seconds the cluster may take, after the
fault was injected *and* after whatever the fault itself holds (a pause, a cut,
a restart delay), to be quiet again with everything where it belongs.  They
are generous multiples of what the lab measured on a loaded 2-core machine
(docs/reliability.md): a bound that trips is a finding, not noise.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from vigil.testing.lab.workspace import NODES, all_primitives, clone_primitives, top_level

ETCD_MEMBERS = ("etcd1", "etcd2", "etcd3")


@dataclass(frozen=True)
class Kind:
    """A fault kind: its name, what it is, how often it is drawn, and its settle bound (seconds)."""

    name: str
    what: str
    weight: int
    settle_s: float


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("kill-node", "kill -9 of a node's vigil (not the controller); started again after a delay", 3, 60),
    Kind("kill-controller", "kill -9 of the controller's vigil; started again after a delay", 3, 60),
    Kind("kill-node-running", "kill -9 of the vigil of the node running a given resource; restarted after"
         " a delay", 3, 60),
    Kind("pause-node", "SIGSTOP of a node's vigil (often past its lease), then SIGCONT", 3, 60),
    Kind("kill-etcd", "kill -9 of an etcd member (the raft leader or another); started again after a delay",
         2, 60),
    Kind("pause-etcd", "SIGSTOP of an etcd member, then SIGCONT", 2, 60),
    Kind("cut-node", "one node cut from etcd (all its links dropped or blackholed), then healed", 3, 60),
    Kind("monitor-fail", "a resource's recurring monitor starts failing (it died, or reports an error)",
         3, 40),
    Kind("start-fail", "a resource fails, and its restart in place fails too: it moves; cleanup after",
         2, 45),
    Kind("stop-fail", "a resource fails, and its stop fails: its node must be fenced", 2, 60),
    Kind("agent-hang", "an agent hangs past its timeout (a recurring monitor, or a start)", 2, 50),
    Kind("standby", "operator: a node to standby, then online again", 1, 45),
    Kind("move", "operator: move a resource to a node, then clear", 1, 45),
    Kind("ban", "operator: ban a resource from its node, then clear", 1, 45),
    Kind("cleanup", "operator: cleanup of a resource", 1, 40),
    Kind("config-change", "operator: a configuration change (a parameter changed, or a resource added"
         " or removed)", 1, 45),
)}

OPERATOR_KINDS = ("standby", "move", "ban", "cleanup", "config-change")
# What an operator action may run during (a fault held while the command is given).
BACKGROUNDS = ("none", "kill-etcd", "pause-etcd", "kill-node")


@dataclass(frozen=True)
class Step:
    """One step of a run: a kind and every choice it needs, drawn from the seed."""

    number: int
    kind: str
    # A node name, "controller", or "" (the kind's own choice).
    node: str = ""
    resource: str = ""
    member: str = ""
    hold_s: float = 0.0
    mode: str = ""        # cut: drop|blackhole; monitor-fail: died|error; agent-hang: monitor|start; ...
    background: str = "none"
    extra: tuple[tuple[str, str], ...] = field(default=())

    def describe(self) -> str:
        parts = [self.kind]
        for name in ("node", "resource", "member", "mode"):
            value = getattr(self, name)
            if value:
                parts.append(f"{name}={value}")
        if self.hold_s:
            parts.append(f"hold={self.hold_s:.1f}s")
        if self.background != "none":
            parts.append(f"during={self.background}")
        return " ".join(parts)


def non_clone_primitives() -> tuple[str, ...]:
    return tuple(p for p in all_primitives() if p not in clone_primitives())


def draw(rng: random.Random, number: int, kind: str, backgrounds: tuple[str, ...] = BACKGROUNDS) -> Step:
    """The step ``number`` of kind ``kind``, every choice drawn from ``rng`` (an operator action's
    background among ``backgrounds``)."""
    node = rng.choice(NODES)
    primitive = rng.choice(all_primitives())
    single = rng.choice(non_clone_primitives())
    if kind == "kill-node":
        return Step(number, kind, hold_s=round(rng.uniform(0.5, 6.0), 1))
    if kind == "kill-controller":
        return Step(number, kind, node="controller", hold_s=round(rng.uniform(0.5, 6.0), 1))
    if kind == "kill-node-running":
        return Step(number, kind, resource=single, hold_s=round(rng.uniform(0.5, 6.0), 1))
    if kind == "pause-node":
        return Step(number, kind, node=rng.choice([node, "controller"]),
                    hold_s=round(rng.uniform(1.0, 7.0), 1))
    if kind in ("kill-etcd", "pause-etcd"):
        member = rng.choice([*ETCD_MEMBERS, "leader"])
        return Step(number, kind, member=member, hold_s=round(rng.uniform(0.5, 5.0), 1))
    if kind == "cut-node":
        return Step(number, kind, node=rng.choice([node, "controller"]),
                    mode=rng.choice(["drop", "blackhole"]), hold_s=round(rng.uniform(1.0, 8.0), 1))
    if kind == "monitor-fail":
        return Step(number, kind, node=node, resource=primitive, mode=rng.choice(["died", "error"]))
    if kind in ("start-fail", "stop-fail"):
        return Step(number, kind, node=node, resource=primitive)
    if kind == "agent-hang":
        return Step(number, kind, node=node, resource=primitive, mode=rng.choice(["monitor", "start"]))
    background = rng.choice(backgrounds)
    hold = round(rng.uniform(1.0, 4.0), 1) if background != "none" else 0.0
    if kind == "standby":
        return Step(number, kind, node=node, background=background, hold_s=hold)
    if kind in ("move", "ban"):
        return Step(number, kind, node=node, resource=rng.choice(("A", "B", "G")), background=background,
                    hold_s=hold)
    if kind == "cleanup":
        return Step(number, kind, resource=rng.choice(top_level()), background=background, hold_s=hold)
    if kind == "config-change":
        return Step(number, kind, resource=rng.choice([*all_primitives(), "X"]), background=background,
                    hold_s=hold)
    raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(KINDS)}")


def make_schedule(seed: int, count: int, kinds: tuple[str, ...] | None = None) -> list[Step]:
    """``count`` steps drawn from ``random.Random(seed)`` among ``kinds`` (default: all), by weight.

    Every kind allowed appears once among the first steps (in a shuffled
    order), so a short run is still mixed; after that, kinds are drawn by
    weight.  A kind left out is not an operator action's background either.
    Each step is drawn whole before the next, so the schedule of
    ``--faults N`` is the first N steps of any longer run with the same seed:
    a failure at step K replays with ``--faults K``.
    """
    allowed = tuple(kinds) if kinds else tuple(KINDS)
    unknown = [k for k in allowed if k not in KINDS]
    if unknown:
        raise ValueError(f"unknown fault kind(s) {', '.join(unknown)}; known: {', '.join(KINDS)}")
    rng = random.Random(seed)
    first = list(allowed)
    rng.shuffle(first)
    weights = [KINDS[k].weight for k in allowed]
    # A fault kind left out is also never an operator action's background.
    backgrounds = tuple(b for b in BACKGROUNDS if b == "none" or b in allowed)
    steps = []
    for number in range(1, count + 1):
        kind = first[number - 1] if number <= len(first) else rng.choices(allowed, weights)[0]
        steps.append(draw(rng, number, kind, backgrounds))
    return steps
