"""``/api/v1/nodes``: standby, online, maintenance (permanent node attributes, as pcs sets them)."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter
from fastapi.params import Depends

from vigil.admin import commands
from vigil.admin.commands import Admin, CommandResult
from vigil.admin.errors import NotFound
from vigil.api.auth import changing
from vigil.api.context import ControllerView
from vigil.api.convert import controller_info
from vigil.api.models import Switch
from vigil.output.report import NodeReport


def node_routes(admin: Admin, controller: ControllerView, auth: Sequence[Depends]) -> APIRouter:
    router = APIRouter(tags=["nodes"])
    changes = changing(auth)

    @router.get("/nodes", summary="The nodes and their state")
    async def list_nodes() -> list[NodeReport]:
        return list((await commands.status(admin, controller_info(controller))).nodes)

    @router.get("/nodes/{node}", summary="One node and its state")
    async def get_node(node: str) -> NodeReport:
        nodes = (await commands.status(admin, controller_info(controller))).nodes
        for found in nodes:
            if found.name == node:
                return found
        raise NotFound("node", node, [n.name for n in nodes])

    @router.post("/nodes/{node}/standby", summary="standby=on (pcs node standby); enabled=false: online",
                 **changes)
    async def standby(node: str, body: Switch | None = None) -> CommandResult:
        return await commands.set_node_standby(admin, node, (body or Switch()).enabled)

    @router.post("/nodes/{node}/online", summary="Remove standby (pcs node unstandby)", **changes)
    async def online(node: str) -> CommandResult:
        return await commands.set_node_standby(admin, node, False)

    @router.post("/nodes/{node}/maintenance", summary="maintenance=on (pcs node maintenance); "
                 "enabled=false removes it", **changes)
    async def maintenance(node: str, body: Switch | None = None) -> CommandResult:
        return await commands.set_node_maintenance(admin, node, (body or Switch()).enabled)

    return router
