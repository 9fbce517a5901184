"""Tickets at this site (``crm_ticket``, ``crm site ticket``): grant, revoke, standby, activate, forget.

A ticket is what a multi-site cluster hands from site to site (by hand, or
by an arbitrator such as booth): a resource with a ticket constraint runs
only while its ticket is granted here and not in standby.  Granting or
revoking one is a write of the ticket's state in the store, then a poke:
the controller plans again and starts, stops or demotes what depends on it.

Revoking applies each constraint's ``loss-policy`` where the resources are
active; with ``loss-policy=fence`` that fences nodes, so it needs ``force``
(as ``crm_ticket --revoke`` asks for ``--force``).  Standby stops or demotes
the dependent resources gracefully, without any loss-policy, as Pacemaker
does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from vigil.admin.commands import Admin, CommandResult
from vigil.admin.errors import AdminError, Conflict
from vigil.model.config import Config, RscTicket
from vigil.model.status import Ticket
from vigil.output.report import known_tickets

# What a ticket may be called: an XML ID, as Pacemaker's ticket_state id.
TICKET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class TicketInfo:
    """A ticket as ``crm_ticket --details`` shows it, and what depends on it here."""

    id: str
    granted: bool
    standby: bool
    last_granted: int | None
    constraints: tuple[str, ...]
    resources: tuple[str, ...]


def check_ticket_name(name: str) -> None:
    if not TICKET_NAME.fullmatch(name):
        raise AdminError(f"{name!r} is not a valid ticket name",
                         ["a ticket name starts with a letter or '_' and has only letters, digits, '_', '.' "
                          "and '-' (an XML ID, as in the rsc_ticket constraint that names it)"])


def _constraints(config: Config, ticket: str) -> list[RscTicket]:
    return [constraint for constraint in config.rsc_tickets if constraint.ticket == ticket]


def _info(config: Config, ticket: Ticket) -> TicketInfo:
    constraints = _constraints(config, ticket.id)
    resources = dict.fromkeys(rsc for constraint in constraints for rsc, _ in constraint.dependencies())
    return TicketInfo(ticket.id, ticket.granted, ticket.standby, ticket.last_granted,
                      tuple(constraint.id for constraint in constraints), tuple(resources))


async def list_tickets(admin: Admin) -> list[TicketInfo]:
    """Every ticket with a state here, and every ticket a constraint names (revoked until granted)."""
    cluster = (await admin.store.snapshot()).cluster
    return [_info(cluster.config, ticket) for ticket in known_tickets(cluster)]


async def get_ticket(admin: Admin, name: str) -> TicketInfo:
    check_ticket_name(name)
    for info in await list_tickets(admin):
        if info.id == name:
            return info
    return TicketInfo(name, False, False, None, (), ())


async def _current(admin: Admin, name: str) -> tuple[Config, Ticket]:
    check_ticket_name(name)
    cluster = (await admin.store.snapshot()).cluster
    for ticket in cluster.status.tickets:
        if ticket.id == name:
            return cluster.config, ticket
    return cluster.config, Ticket(name)


async def _write(admin: Admin, before: Ticket, after: Ticket, verb: str) -> tuple[bool, int]:
    revision = await admin.store.set_ticket(after)
    changed = after != before
    if changed:
        admin.poke(f"ticket {verb} {after.id}")
    return changed, revision


def _unconstrained_note(config: Config, name: str) -> tuple[str, ...]:
    if _constraints(config, name):
        return ()
    return (f"no ticket constraint names {name!r}: nothing depends on it yet",)


async def grant(admin: Admin, name: str) -> CommandResult:
    """Grant ``name`` to this site: what depends on it may start (crm_ticket --grant)."""
    config, ticket = await _current(admin, name)
    if ticket.granted:
        return CommandResult(f"ticket {name} is already granted", False, await admin.store.revision(),
                             _unconstrained_note(config, name))
    changed, revision = await _write(admin, ticket, replace(ticket, granted=True,
                                                            last_granted=int(admin.clock())), "grant")
    message = (f"ticket {name} is granted: resources that need it may run"
               + (" (it is in standby: they stay stopped until it is activated)" if ticket.standby else ""))
    return CommandResult(message, changed, revision, _unconstrained_note(config, name))


async def revoke(admin: Admin, name: str, *, force: bool = False) -> CommandResult:
    """Revoke ``name`` here: each constraint's loss-policy applies (crm_ticket --revoke)."""
    config, ticket = await _current(admin, name)
    if not ticket.granted:
        return CommandResult(f"ticket {name} is not granted here", False, await admin.store.revision())
    fencing = [each.id for each in _constraints(config, name) if each.loss_policy == "fence"]
    if fencing and not force:
        raise Conflict(f"revoking ticket {name} fences the nodes where its resources are active",
                       [f"ticket constraint(s) with loss-policy=fence: {', '.join(fencing)}",
                        "to revoke it anyway, add --force (API: {\"force\": true}); to stop its resources "
                        "without fencing, put the ticket in standby first"])
    changed, revision = await _write(admin, ticket, replace(ticket, granted=False), "revoke")
    policies = sorted({constraint.loss_policy for constraint in _constraints(config, name)})
    notes = (f"loss-policy: {', '.join(policies)}",) if policies else _unconstrained_note(config, name)
    return CommandResult(f"ticket {name} is revoked: resources that need it are no longer allowed to run",
                         changed, revision, notes)


async def set_standby(admin: Admin, name: str, on: bool) -> CommandResult:
    """Standby (on) stops or demotes what depends on ``name`` gracefully; activate (off) lets it run
    again (crm_ticket --standby / --activate)."""
    config, ticket = await _current(admin, name)
    if ticket.standby == on:
        state = "in standby" if on else "active"
        return CommandResult(f"ticket {name} is already {state}", False, await admin.store.revision())
    changed, revision = await _write(admin, ticket, replace(ticket, standby=on),
                                     "standby" if on else "activate")
    if on:
        message = f"ticket {name} is in standby: resources that need it stop (or demote), no loss-policy"
    elif ticket.granted:
        message = f"ticket {name} is active: resources that need it may run"
    else:
        message = f"ticket {name} is active (not granted here: resources that need it stay stopped)"
    return CommandResult(message, changed, revision, _unconstrained_note(config, name))


async def forget(admin: Admin, name: str) -> CommandResult:
    """Remove ``name``'s state here (crm_ticket --cleanup); only a revoked ticket may be forgotten."""
    _, ticket = await _current(admin, name)
    if ticket.granted:
        raise Conflict(f"ticket {name} is granted here: revoke it before removing its state",
                       [f"vigil ticket revoke {name}"])
    before = await admin.store.revision()
    revision = await admin.store.remove_ticket(name)
    changed = revision != before
    if changed:
        admin.poke(f"ticket forget {name}")
    message = f"ticket {name}'s state is removed" if changed else f"ticket {name} has no state here"
    return CommandResult(message, changed, revision)
