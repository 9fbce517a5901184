"""``/api/v1/nodes``: standby, online, maintenance (permanent node attributes, as pcs sets them),
and fencing on request (``pcs stonith fence`` / ``pcs stonith confirm``, run by the daemon).

A fencing that ran and failed (no device can fence the node, every device
failed) is answered 502 with Pacemaker's sentence: the request was valid,
the fence devices behind the daemon did not do it.  It is in the fence
history either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.params import Depends
from pydantic import BaseModel, ConfigDict, Field

from vigil.admin import commands
from vigil.admin.commands import Admin, CommandResult
from vigil.admin.errors import AdminError, NotFound
from vigil.api.auth import changing
from vigil.api.context import ControllerView, FenceReply, NodeFencing
from vigil.api.convert import controller_info
from vigil.api.models import Switch
from vigil.output.report import NodeReport


class FenceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["reboot", "off"] | None = Field(
        default=None, description="reboot or off; default: the cluster option stonith-action (reboot). "
        "'on' (unfencing) is not a fencing and is not offered.")


class ConfirmRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    force: bool = Field(default=False, description="Confirm even a node that is a live member of the "
                        "cluster (its vigil runs): only when sure it is down.")


@dataclass(frozen=True)
class FenceResult:
    """A fencing done on request: the usual command answer, plus what fenced the node."""

    message: str
    changed: bool
    revision: int
    notes: tuple[str, ...]
    target: str
    action: str
    succeeded: bool
    device: str
    description: str


class FencingUnavailable(AdminError):
    http_status = 503


class FencingFailed(AdminError):
    """The fence devices did not fence the node (the request itself was right)."""

    http_status = 502


def _answer(reply: FenceReply, message: str) -> FenceResult:
    if not reply.succeeded:
        raise FencingFailed(f"fencing {reply.target} failed: {reply.description}",
                            ["recorded as a failed fencing in the fence history (vigil status)",
                             f"check the fence devices that should fence {reply.target} (their parameters, "
                             "pcmk_host_list) and the daemon's log"])
    return FenceResult(message=message, changed=True, revision=reply.revision, notes=(reply.description,),
                       target=reply.target, action=reply.action, succeeded=True, device=reply.device,
                       description=reply.description)


def _fencing(fencing: NodeFencing | None) -> NodeFencing:
    if fencing is None:
        raise FencingUnavailable("this vigil does not offer fencing on request")
    return fencing


def node_routes(admin: Admin, controller: ControllerView, auth: Sequence[Depends],
                fencing: NodeFencing | None = None) -> APIRouter:
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

    fence_errors = {404: {"description": "No such node"},
                    409: {"description": "Fencing is disabled, or the node is this one in a cluster"},
                    502: {"description": "The fence devices did not fence it (recorded as failed)"}}

    @router.post("/nodes/{node}/fence", summary="Fence the node now (pcs stonith fence; "
                 "stonith_admin --reboot|--off); answers once it is done", **_with(changes, fence_errors))
    async def fence(node: str, body: FenceRequest | None = None) -> FenceResult:
        reply = await _fencing(fencing).fence(node, (body or FenceRequest()).action)
        return _answer(reply, f"{node} was fenced ({reply.action} by {reply.device}): its resources are "
                              "recovered; the cluster takes it as down until it rejoins")

    confirm_errors = {404: {"description": "No such node"},
                      409: {"description": "The node is a live member (without force), or this one "
                            "in a cluster"}}

    @router.post("/nodes/{node}/confirm-fenced", summary="Record the node as fenced on the operator's word: "
                 "it was powered off by hand (pcs stonith confirm)", **_with(changes, confirm_errors))
    async def confirm_fenced(node: str, body: ConfirmRequest | None = None) -> FenceResult:
        reply = await _fencing(fencing).confirm(node, (body or ConfirmRequest()).force)
        return _answer(reply, f"{node} is recorded as fenced (confirmed by hand): its resources are "
                              "recovered; the cluster takes it as down until it rejoins")

    return router


def _with(options: dict[str, Any], responses: dict[int, dict[str, str]]) -> dict[str, Any]:
    """Route options with more documented error responses."""
    return {**options, "responses": {**options.get("responses", {}), **responses}}
