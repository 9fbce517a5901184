"""``/api/v1/tickets``: a site's tickets (``crm_ticket``): list, grant, revoke, standby, activate, forget."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter
from fastapi.params import Depends

from vigil.admin import tickets
from vigil.admin.commands import Admin, CommandResult
from vigil.admin.tickets import TicketInfo
from vigil.api.auth import changing
from vigil.api.models import Force


def ticket_routes(admin: Admin, auth: Sequence[Depends]) -> APIRouter:
    router = APIRouter(tags=["tickets"])
    changes = changing(auth)

    @router.get("/tickets", summary="Every ticket with a state here or named by a constraint (crm_ticket -l)")
    async def list_tickets() -> list[TicketInfo]:
        return await tickets.list_tickets(admin)

    @router.get("/tickets/{ticket}", summary="One ticket (crm_ticket --details)")
    async def get_ticket(ticket: str) -> TicketInfo:
        return await tickets.get_ticket(admin, ticket)

    @router.post("/tickets/{ticket}/grant", summary="Grant the ticket to this site (crm_ticket --grant)",
                 **changes)
    async def grant(ticket: str) -> CommandResult:
        return await tickets.grant(admin, ticket)

    @router.post("/tickets/{ticket}/revoke", summary="Revoke the ticket here; loss-policy applies "
                 "(crm_ticket --revoke); loss-policy=fence needs force", **changes)
    async def revoke(ticket: str, body: Force | None = None) -> CommandResult:
        return await tickets.revoke(admin, ticket, force=(body or Force()).force)

    @router.post("/tickets/{ticket}/standby", summary="Put the ticket in standby: what needs it stops "
                 "gracefully (crm_ticket --standby)", **changes)
    async def standby(ticket: str) -> CommandResult:
        return await tickets.set_standby(admin, ticket, True)

    @router.post("/tickets/{ticket}/activate", summary="Take the ticket out of standby "
                 "(crm_ticket --activate)", **changes)
    async def activate(ticket: str) -> CommandResult:
        return await tickets.set_standby(admin, ticket, False)

    @router.delete("/tickets/{ticket}", summary="Remove a revoked ticket's state here (crm_ticket --cleanup)",
                   **changes)
    async def forget(ticket: str) -> CommandResult:
        return await tickets.forget(admin, ticket)

    return router
