"""Resource variants: what differs between a primitive, a group and a clone.

Every resource of a run carries its variant (``rsc.variant``), one object
per kind, as Pacemaker's resources carry their table of assignment methods.
The stages ask the variant instead of asking "what kind of resource is this":
placement, action creation, the orderings that hold a resource together, the
flags of its actions as orderings see them, and where it is placed.  Members
are on the working types themselves (``primitives()``, ``children()``).

Adding a variant (promotable clones, bundles) means adding a module here with
one class that implements :class:`Variant`, a working type for it in
:mod:`vigil.scheduler.working`, and its unpacking; no stage changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from vigil.scheduler.variants.clone import InstanceActions
    from vigil.scheduler.working import OrderTuple, Work, WorkAction, WorkResource


class Variant(Protocol):
    """The operations that differ by kind of resource.

    Each method takes the resource it is asked about (``rsc``), whose
    ``variant`` is this object, so a variant holds no state of its own.
    """

    # Pacemaker's order of variants (primitive < group < clone), which breaks
    # ties when colocations are sorted.
    rank: int

    def assign(self, work: Work, rsc: WorkResource, prefer: str | None) -> str | None:
        """Place ``rsc`` (preferring ``prefer`` when it is as good as the
        best); the node it is placed on, or None."""

    def create_actions(self, work: Work, rsc: WorkResource) -> None:
        """Create the actions of ``rsc`` and of everything inside it."""

    def internal_orderings(self, rsc: WorkResource) -> list[OrderTuple]:
        """The orderings that hold ``rsc`` together (its members' included)."""

    def action_flags(self, rsc: WorkResource, action: WorkAction, node: str | None,
                     instances: InstanceActions) -> tuple[bool, bool]:
        """(optional, runnable) of an action of ``rsc`` on ``node`` (None:
        anywhere); a group's or clone's pseudo-action stands for its members'."""

    def ordering_flags(self, rsc: WorkResource, action: WorkAction, node: str | None,
                       instances: InstanceActions) -> tuple[bool, bool]:
        """(optional, runnable) of an action of ``rsc`` as an ordering with an
        action on ``node`` sees them."""

    def apply_location_inside(self, rsc: WorkResource, scored: list[tuple[str, int]]) -> None:
        """Hand a location constraint's (node, score) pairs, already applied
        to ``rsc``, down to what is inside it."""

    def location(self, rsc: WorkResource) -> str | None:
        """The one node ``rsc`` is placed on, or None (none, or several)."""
