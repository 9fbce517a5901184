"""What asking an agent for its meta-data came to.

Its own module so that the agent classes plugged into the executor (systemd,
the ``service`` alias) build it without importing the executor that
imports them.
"""

from __future__ import annotations

from dataclasses import dataclass

from vigil.executor.metadata import AgentMetadata
from vigil.executor.results import ActionResult


@dataclass(frozen=True)
class MetadataFetch:
    """A meta-data call: the raw result, and the parsed meta-data or why there is none."""

    result: ActionResult | None
    metadata: AgentMetadata | None
    error: str = ""
