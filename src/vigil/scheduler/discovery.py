"""Stage 4 (after locations): ``resource-discovery`` on location constraints.

A location constraint may say where a resource is looked for: ``never``
(no probe on the nodes it applies to) or ``exclusive`` (probe only on the
nodes some exclusive constraint applies to).  Exclusive discovery also
limits placement: a resource is never placed where it is not looked for, so
every other node is banned.  A constraint on a group or clone applies to
everything inside it, as its scores do.  Where constraints disagree on a
node, ``exclusive`` wins over ``never``, which wins over ``always``.
"""

from __future__ import annotations

from vigil.model.scores import INFINITY
from vigil.scheduler.working import Work
from vigil.scheduler.working_resources import WorkResource

_RANK = {"always": 0, "never": 1, "exclusive": 2}


def _subtree(rsc: WorkResource) -> list[WorkResource]:
    found: list[WorkResource] = [rsc]
    for child in rsc.children():
        found.extend(_subtree(child))
    return found


def record_discovery(work: Work, rsc: WorkResource, nodes: list[str], mode: str) -> None:
    """Remember a location constraint's discovery mode on the nodes it
    applies to, for ``rsc`` and everything inside it."""
    if mode == "always":
        return
    for member in _subtree(rsc):
        if mode == "exclusive":
            work.exclusive_discovery.add(member.id)
        modes = work.discovery.setdefault(member.id, {})
        for node in nodes:
            if _RANK[mode] > _RANK[modes.get(node, "always")]:
                modes[node] = mode


def _top(rsc: WorkResource) -> WorkResource:
    while rsc.parent is not None:
        rsc = rsc.parent
    return rsc


def _exclusive(work: Work, rsc: WorkResource) -> bool:
    return rsc.id in work.exclusive_discovery or _top(rsc).id in work.exclusive_discovery


def apply_exclusive_discovery(work: Work) -> None:
    """Ban a resource with exclusive discovery from every allowed node no
    exclusive constraint applies to."""
    if not work.exclusive_discovery:
        return
    for top in work.top:
        for rsc in _subtree(top):
            if not _exclusive(work, rsc):
                continue
            modes = work.discovery.get(rsc.id, {})
            for node in rsc.allowed:
                if modes.get(node) != "exclusive":
                    rsc.allowed[node] = -INFINITY


def may_probe(work: Work, rsc: WorkResource, node: str) -> bool:
    """Whether discovery allows a probe of ``rsc`` on ``node``."""
    mode = work.discovery.get(rsc.id, {}).get(node, "always")
    if _exclusive(work, rsc):
        return mode == "exclusive" and node in rsc.allowed
    return mode != "never"
