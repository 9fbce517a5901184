"""What vigil's ``crm_node``, ``cibadmin``, ``crm_resource`` and ``stonith_admin`` ask the daemon.

- ``GET /membership``: this node, quorum, every node known and whether it is a member;
- ``GET /cib``: the CIB with its status section (token required: it holds
  every parameter, secrets included, as ``cibadmin --query`` shows them);
- ``POST /resources/{rsc}/ban-from-agent``: an agent's ban of its own
  resource (a clone's member bans the clone);
- ``GET /fencing/devices?target=``, ``GET /fencing/history``.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter
from fastapi.params import Depends
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from vigil.admin import agent_tools
from vigil.admin.agent_tools import Membership
from vigil.admin.commands import Admin, CommandResult
from vigil.api.auth import changing
from vigil.store.base import FenceEntry


class BanRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    node: str | None = Field(default=None, min_length=1, description="The node to keep the resource off "
                             "(default: the one it runs on).")


class FenceDevices(BaseModel):
    target: str
    devices: list[str]


def agent_tool_routes(admin: Admin, auth: Sequence[Depends]) -> APIRouter:
    router = APIRouter(tags=["agent tools"])
    changes = changing(auth)

    @router.get("/membership", summary="This node, quorum, and every node known (crm_node)")
    async def membership() -> Membership:
        return await agent_tools.membership(admin)

    @router.get("/cib", summary="The CIB with its status (cibadmin --query); needs the token",
                dependencies=list(auth), response_class=Response,
                responses={200: {"content": {"application/xml": {"schema": {"type": "string"}}}},
                           401: {"description": "No or wrong token"}})
    async def cib() -> Response:
        return Response(await agent_tools.cib_with_status(admin), media_type="application/xml")

    @router.post("/resources/{rsc}/ban-from-agent", summary="An agent bans its own resource from a node "
                 "(crm_resource --ban -r RSC -N NODE): a clone's member bans the clone", **changes)
    async def ban(rsc: str, body: BanRequest | None = None) -> CommandResult:
        return await agent_tools.ban(admin, rsc, (body or BanRequest()).node)

    @router.get("/fencing/devices", tags=["fencing"], summary="The fence devices that may fence a node "
                "(stonith_admin --list)")
    async def devices(target: str) -> FenceDevices:
        return FenceDevices(target=target, devices=await agent_tools.fence_devices_for(admin, target))

    @router.get("/fencing/history", tags=["fencing"], summary="The fence history, oldest first "
                "(stonith_admin --history)")
    async def history(target: str | None = None) -> list[FenceEntry]:
        return await agent_tools.fence_history(admin, target)

    return router
