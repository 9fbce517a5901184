"""A node's attributes as rules see them: configured ones and Pacemaker's built-ins."""

from __future__ import annotations

from vigil.model.config import Node
from vigil.model.nvsets import resolve_nvsets
from vigil.model.rule_eval import RuleContext


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
