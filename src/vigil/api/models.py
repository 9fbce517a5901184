"""Request bodies, validated (unknown fields are refused, so a typo is an error, not a no-op)."""

from __future__ import annotations

import json

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field

from vigil.admin.commands import RESTART_TIMEOUT_MAX_S, RESTART_TIMEOUT_S
from vigil.api.errors import BadBody


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NodeChoice(_Body):
    """Which node: move to it, ban from it, clear or clean up on it (default: see each route)."""

    node: str | None = Field(default=None, min_length=1)


class MoveRequest(NodeChoice):
    """Move to a node, or ban from one; ``promoted``: only the promoted role of a promotable clone
    (crm_resource --promoted)."""

    promoted: bool = False


class RestartRequest(_Body):
    timeout: float = Field(default=RESTART_TIMEOUT_S, gt=0, le=RESTART_TIMEOUT_MAX_S,
                           description="Seconds to wait for the stop and the start again.")


class Switch(_Body):
    enabled: bool = True


class Force(_Body):
    force: bool = Field(default=False, description="Do it even where it fences nodes (a ticket's "
                        "loss-policy=fence).")


async def require_object_body(request: Request) -> None:
    """Refuse a JSON body that is not an object (``null``, a list, a number): optional bodies are
    declared ``Model | None``, so without this a ``null`` would be taken as no body and the command
    would run with its defaults."""
    data = await request.body()
    if not data.strip():
        return
    try:
        body = json.loads(data)
    except ValueError:
        return  # not JSON at all: the route's own parsing says so (422)
    if not isinstance(body, dict):
        raise BadBody(f"the request body must be a JSON object (such as {{\"node\": \"n1\"}}) or empty, "
                      f"not {json.dumps(body)[:40]}; nothing was changed")
