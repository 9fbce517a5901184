"""The stop context: what every stop and start of a resource is told, defined once.

(The demotes and promotes of a promotable clone's instances carry the same
context one level up: ``demote_*`` and ``promote_reason``.)

The scheduler attaches it to stops and starts as meta attributes, the
executor passes them to the agent as ``OCF_RESKEY_CRM_meta_<key>``, the
store keeps them with each result, and ``vigil history``, alerts and
recovery-exhausted events read them back.  The values are strings, exactly
as an agent sees them.  See docs/stop-context.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

STOP_REASON = "stop_reason"
STOP_FINAL = "stop_final"
STOP_CAUSE = "stop_cause"
STOP_NEXT_NODE = "stop_next_node"
RECOVERIES_LEFT = "recoveries_left"
START_REASON = "start_reason"
# A promotable clone's demotes and promotes carry the same context one level up.
DEMOTE_REASON = "demote_reason"
DEMOTE_FINAL = "demote_final"
DEMOTE_CAUSE = "demote_cause"
DEMOTE_NEXT_NODE = "demote_next_node"
PROMOTE_REASON = "promote_reason"
# recoveries_left under every name an agent may read it by (the first is the one shown).
RECOVERY_ALIASES = (RECOVERIES_LEFT, "recovery_left", "retries_left")
# The context's keys in the order they are shown (the aliases of recoveries_left left out).
CONTEXT_KEYS = (STOP_REASON, STOP_FINAL, STOP_CAUSE, STOP_NEXT_NODE, DEMOTE_REASON, DEMOTE_FINAL,
                DEMOTE_CAUSE, DEMOTE_NEXT_NODE, PROMOTE_REASON, RECOVERIES_LEFT, START_REASON)


@dataclass(frozen=True)
class StopContext:
    """One action's stop context; a field is None when the action does not carry it."""

    stop_reason: str | None = None
    stop_final: bool | None = None
    stop_cause: str | None = None
    stop_next_node: str | None = None
    recoveries_left: str | None = None
    start_reason: str | None = None
    demote_reason: str | None = None
    demote_final: bool | None = None
    demote_cause: str | None = None
    demote_next_node: str | None = None
    promote_reason: str | None = None

    @property
    def is_final_failure_stop(self) -> bool:
        """A stop that a failure caused and after which the resource is not started here again:
        the cluster gives up on the node."""
        return self.stop_reason == "failure" and self.stop_final is True

    def to_meta(self) -> dict[str, str]:
        """The meta attributes, as the agent sees them (``recoveries_left`` under each alias)."""
        meta: dict[str, str] = {}
        if self.stop_reason is not None:
            meta[STOP_REASON] = self.stop_reason
        if self.stop_final is not None:
            meta[STOP_FINAL] = "true" if self.stop_final else "false"
        if self.stop_cause is not None:
            meta[STOP_CAUSE] = self.stop_cause
        if self.stop_next_node is not None:
            meta[STOP_NEXT_NODE] = self.stop_next_node
        if self.recoveries_left is not None:
            meta.update(dict.fromkeys(RECOVERY_ALIASES, self.recoveries_left))
        if self.start_reason is not None:
            meta[START_REASON] = self.start_reason
        if self.demote_reason is not None:
            meta[DEMOTE_REASON] = self.demote_reason
        if self.demote_final is not None:
            meta[DEMOTE_FINAL] = "true" if self.demote_final else "false"
        if self.demote_cause is not None:
            meta[DEMOTE_CAUSE] = self.demote_cause
        if self.demote_next_node is not None:
            meta[DEMOTE_NEXT_NODE] = self.demote_next_node
        if self.promote_reason is not None:
            meta[PROMOTE_REASON] = self.promote_reason
        return meta

    @classmethod
    def from_meta(cls, meta: Mapping[str, str]) -> StopContext:
        """The context an action's meta attributes carry (other attributes are ignored)."""
        final = meta.get(STOP_FINAL)
        demote_final = meta.get(DEMOTE_FINAL)
        left = next((meta[alias] for alias in RECOVERY_ALIASES if alias in meta), None)
        return cls(
            stop_reason=meta.get(STOP_REASON),
            stop_final=None if final is None else final == "true",
            stop_cause=meta.get(STOP_CAUSE),
            stop_next_node=meta.get(STOP_NEXT_NODE),
            recoveries_left=left,
            start_reason=meta.get(START_REASON),
            demote_reason=meta.get(DEMOTE_REASON),
            demote_final=None if demote_final is None else demote_final == "true",
            demote_cause=meta.get(DEMOTE_CAUSE),
            demote_next_node=meta.get(DEMOTE_NEXT_NODE),
            promote_reason=meta.get(PROMOTE_REASON),
        )


def context_items(meta: Mapping[str, str] | Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """The context keys an action's meta carries, in the order they are shown."""
    found = dict(meta.items()) if isinstance(meta, Mapping) else dict(meta)
    return tuple((key, found[key]) for key in CONTEXT_KEYS if key in found)
