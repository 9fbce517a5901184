"""``/api/v1/resources``: start, stop, enable, disable, restart, move, ban, clear, cleanup, maintenance."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, Query
from fastapi.params import Depends

from vigil.admin import commands
from vigil.admin.commands import Admin, CommandResult
from vigil.admin.errors import NotFound
from vigil.api.auth import changing
from vigil.api.context import ControllerView
from vigil.api.convert import controller_info
from vigil.api.models import MoveRequest, NodeChoice, RestartRequest, Switch
from vigil.output.failcounts import FailCount
from vigil.output.history import HistoryEntry
from vigil.output.report import ResourceReport


def _find(resources: Sequence[ResourceReport], rsc: str) -> ResourceReport | None:
    for entry in resources:
        if entry.id == rsc:
            return entry
        found = _find(entry.members, rsc)
        if found is not None:
            return found
    return None


def _all_ids(resources: Sequence[ResourceReport]) -> list[str]:
    return [i for entry in resources for i in (entry.id, *_all_ids(entry.members))]


def resource_routes(admin: Admin, controller: ControllerView, auth: Sequence[Depends]) -> APIRouter:
    router = APIRouter(tags=["resources"])
    changes = changing(auth)

    @router.get("/resources", summary="Every resource with its state (groups and clones with members)")
    async def list_resources() -> list[ResourceReport]:
        return list((await commands.status(admin, controller_info(controller))).resources)

    @router.get("/resources/{rsc}", summary="One resource with its state")
    async def get_resource(rsc: str) -> ResourceReport:
        resources = (await commands.status(admin, controller_info(controller))).resources
        found = _find(resources, rsc)
        if found is None:
            raise NotFound("resource", rsc, _all_ids(resources))
        return found

    @router.post("/resources/{rsc}/start", summary="target-role=Started (crm_resource --meta -p target-role "
                 "-v Started)", **changes)
    async def start(rsc: str) -> CommandResult:
        return await commands.set_target_role(admin, rsc, "Started", "start")

    @router.post("/resources/{rsc}/stop", summary="target-role=Stopped", **changes)
    async def stop(rsc: str) -> CommandResult:
        return await commands.set_target_role(admin, rsc, "Stopped", "stop")

    @router.post("/resources/{rsc}/enable", summary="Remove target-role (pcs resource enable)", **changes)
    async def enable(rsc: str) -> CommandResult:
        return await commands.set_target_role(admin, rsc, None, "enable")

    @router.post("/resources/{rsc}/disable", summary="target-role=Stopped (pcs resource disable)", **changes)
    async def disable(rsc: str) -> CommandResult:
        return await commands.set_target_role(admin, rsc, "Stopped", "disable")

    @router.post("/resources/{rsc}/restart", summary="Stop everywhere, then start again (crm_resource "
                 "--restart); answers when done or timed out", **changes)
    async def restart(rsc: str, body: RestartRequest | None = None) -> CommandResult:
        return await commands.restart(admin, rsc, (body or RestartRequest()).timeout)

    @router.post("/resources/{rsc}/move", summary="cli-prefer-RSC on the node; without one, ban the "
                 "current node (crm_resource --move [--promoted])", **changes)
    async def move(rsc: str, body: MoveRequest | None = None) -> CommandResult:
        body = body or MoveRequest()
        return await commands.move(admin, rsc, body.node, promoted=body.promoted)

    @router.post("/resources/{rsc}/ban", summary="cli-ban-RSC-on-NODE -INFINITY; default: where it runs "
                 "(crm_resource --ban [--promoted])", **changes)
    async def ban(rsc: str, body: MoveRequest | None = None) -> CommandResult:
        body = body or MoveRequest()
        return await commands.ban(admin, rsc, body.node, promoted=body.promoted)

    @router.post("/resources/{rsc}/clear", summary="Remove the cli-prefer/cli-ban constraints "
                 "(crm_resource --clear)", **changes)
    async def clear(rsc: str, body: NodeChoice | None = None) -> CommandResult:
        return await commands.clear(admin, rsc, (body or NodeChoice()).node)

    @router.post("/resources/{rsc}/cleanup", summary="Clear fail-counts and forget the history so it is "
                 "probed again (crm_resource --cleanup)", **changes)
    async def cleanup(rsc: str, body: NodeChoice | None = None) -> CommandResult:
        return await commands.cleanup(admin, rsc, (body or NodeChoice()).node)

    @router.post("/cleanup", summary="Clean up every resource that failed (crm_resource --cleanup)",
                 **changes)
    async def cleanup_all(body: NodeChoice | None = None) -> CommandResult:
        return await commands.cleanup(admin, None, (body or NodeChoice()).node)

    @router.post("/resources/{rsc}/maintenance", summary="maintenance=true/false meta attribute", **changes)
    async def maintenance(rsc: str, body: Switch | None = None) -> CommandResult:
        return await commands.set_maintenance(admin, rsc, (body or Switch()).enabled)

    @router.get("/resources/{rsc}/history", summary="The operation log, with each stop's and start's context")
    async def history(rsc: str, node: str | None = None,
                      limit: int = Query(default=200, ge=1, le=10_000)) -> list[HistoryEntry]:
        return await commands.history(admin, rsc, node, limit)

    @router.get("/failcounts", tags=["failcounts"], summary="Fail-counts per resource and node, with "
                "migration-threshold and recoveries left")
    async def failcounts(resource: str | None = None, node: str | None = None) -> list[FailCount]:
        return await commands.list_failcounts(admin, resource, node)

    @router.delete("/failcounts/{rsc}", tags=["failcounts"], summary="Clear a resource's fail-counts "
                   "(crm_failcount --delete)", **changes)
    async def clear_failcounts(rsc: str, node: str | None = None) -> CommandResult:
        return await commands.clear_failcounts(admin, rsc, node)

    return router
