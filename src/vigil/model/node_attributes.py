"""A node's attributes as rules see them: configured ones and Pacemaker's built-ins."""

from __future__ import annotations

from collections.abc import Iterable

from vigil.model.config import Node
from vigil.model.nvsets import resolve_nvsets
from vigil.model.rule_eval import RuleContext
from vigil.model.status import NodeState

# Transient attributes a node keeps when it joins again: vigil's own record of failures (fail-counts
# outlive a restart of vigil, docs/daemon.md) and the standby on-recovery-exhausted sets (docs/events.md).
_KEPT_ON_JOIN_PREFIXES = ("fail-count-", "last-failure-")
_KEPT_ON_JOIN = frozenset({"standby"})


def cleared_on_join(state: NodeState | None) -> list[str]:
    """The transient attributes a node that joins again starts without, as Pacemaker's node does
    (what agents published in its previous life: ``pingd``, promotion scores, ``#health-*``...)."""
    names: Iterable[str] = (name for name, _ in state.attributes) if state is not None else ()
    return [name for name in names
            if name not in _KEPT_ON_JOIN and not name.startswith(_KEPT_ON_JOIN_PREFIXES)]


def configured_attributes(node: Node, now: int, *, is_dc: bool = False) -> dict[str, str]:
    """What rules see on ``node`` before its status: its configured attributes
    and the built-ins (``#uname``, ``#id``, ``#kind``, ``#is_dc``); the
    transient attributes of its status entry go on top of these."""
    attrs = resolve_nvsets(node.attributes, RuleContext(now=now))
    attrs["#uname"] = node.uname
    attrs["#id"] = node.id
    attrs["#kind"] = "remote" if node.type == "remote" else "cluster"
    attrs["#is_dc"] = "true" if is_dc else "false"
    return attrs
