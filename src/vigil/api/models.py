"""Request bodies, validated (unknown fields are refused, so a typo is an error, not a no-op)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from vigil.admin.commands import RESTART_TIMEOUT_MAX_S, RESTART_TIMEOUT_S


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NodeChoice(_Body):
    """Which node: move to it, ban from it, clear or clean up on it (default: see each route)."""

    node: str | None = Field(default=None, min_length=1)


class RestartRequest(_Body):
    timeout: float = Field(default=RESTART_TIMEOUT_S, gt=0, le=RESTART_TIMEOUT_MAX_S,
                           description="Seconds to wait for the stop and the start again.")


class Switch(_Body):
    enabled: bool = True
