"""Stage 4 (with location): tickets, what a resource may do without its ticket.

A ticket (granted to this site, or not, by an operator or a ticket manager
such as booth) gates the resources that depend on it through ``rsc_ticket``
constraints.  While the ticket is granted and not in standby nothing
happens.  Otherwise, for every primitive under a dependent resource, as
Pacemaker does:

- where it is active and the ticket is revoked, its loss-policy applies:
  ``stop`` bans it everywhere; ``demote`` (only with rsc-role Promoted) keeps
  it running but never promoted; ``fence`` bans it and fences the nodes it is
  active on; ``freeze`` leaves it as it is (unmanaged and blocked);
- otherwise (not active, or the ticket is in standby) it is banned, except
  when only its promotion depends on the ticket under a policy other than
  ``stop``: then it may run, unpromoted.

``fence`` and ``freeze`` apply only to primitives whose current role is the
constraint's rsc-role (when it names one other than Started, which means
any role, as in colocations).  The promotion of a promotable
clone whose Promoted-role ticket is missing is refused when instances are
promoted (``Work.promotion_without_ticket``).
"""

from __future__ import annotations

from vigil.model.config import LossPolicy, RscTicket
from vigil.model.scores import INFINITY, add
from vigil.model.status import Ticket
from vigil.scheduler.colocation import role_of
from vigil.scheduler.unpack_nodes import fence_node
from vigil.scheduler.working import Work
from vigil.scheduler.working_resources import Role, WorkPrimitive

FENCE_REASON = "deadman ticket was lost"


def apply_tickets(work: Work) -> None:
    """Apply every ticket constraint whose ticket is revoked or in standby."""
    states = {ticket.id: ticket for ticket in work.cluster.status.tickets}
    for constraint in work.cluster.config.rsc_tickets:
        ticket = states.get(constraint.ticket, Ticket(constraint.ticket))
        if ticket.granted and not ticket.standby:
            continue
        for rsc_id, role_text in constraint.dependencies():
            rsc = work.resource(rsc_id)
            if rsc is None:
                continue
            role = role_of(role_text)
            if role == Role.PROMOTED and rsc.variant.is_promotable(rsc):
                work.promotion_without_ticket.add(rsc.id)
            policy = _effective_policy(work, constraint, role)
            for prim in rsc.primitives():
                _apply_to_primitive(work, prim, ticket, role, policy)


def _effective_policy(work: Work, constraint: RscTicket, role: Role) -> LossPolicy:
    """The loss-policy as Pacemaker applies it: ``demote`` only for the
    Promoted role and ``fence`` only with fencing enabled, ``stop`` otherwise."""
    policy = constraint.loss_policy
    if policy == "demote" and role != Role.PROMOTED:
        return "stop"
    if policy == "fence" and not work.options.stonith_enabled:
        return "stop"
    return policy


def _apply_to_primitive(work: Work, prim: WorkPrimitive, ticket: Ticket, role: Role,
                        policy: LossPolicy) -> None:
    if not ticket.granted and prim.running_on:
        _apply_loss_policy(work, prim, role, policy)
    elif role != Role.PROMOTED or policy == "stop":
        _ban_everywhere(prim)


def _apply_loss_policy(work: Work, prim: WorkPrimitive, role: Role, policy: LossPolicy) -> None:
    if policy == "stop":
        _ban_everywhere(prim)
    elif policy == "demote":
        return  # its promotion is refused (promotion_without_ticket)
    elif not _has_role(prim, role):
        return
    elif policy == "fence":
        _ban_everywhere(prim)
        for name in list(prim.running_on):
            fence_node(work, work.nodes[name], FENCE_REASON)
    else:  # freeze
        prim.managed = False
        prim.blocked = True


def _has_role(prim: WorkPrimitive, role: Role) -> bool:
    """Whether ``prim``'s current role is ``role`` (any role when UNKNOWN).
    Tickets are applied before the active instances of a promotable clone
    are known as Unpromoted (they are still Started then), so an
    Unpromoted-only constraint spares them, as in Pacemaker."""
    return role == Role.UNKNOWN or prim.role == role


def _ban_everywhere(prim: WorkPrimitive) -> None:
    """-INFINITY on every node it may run on (Pacemaker's ban with no node)."""
    for name, score in prim.allowed.items():
        prim.allowed[name] = add(score, -INFINITY)
