"""What the API needs from the daemon, and nothing more.

The API reads and writes the store, asks the controller to plan again after
a change, and shows what the controller did; it never runs agents itself.
Tests build a context over an in-memory store and a stand-in controller.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from vigil.admin.intake import Findings
from vigil.api.secrets import PrivateParams
from vigil.api.what_if import FailureImaginer
from vigil.events.recent import RecentEvents
from vigil.model.activity import ControllerStats, MonitorKey, TransitionReport
from vigil.model.config import Config
from vigil.store.base import Store


class ControllerView(Protocol):
    """The parts of :class:`vigil.controller.loop.Controller` the API uses."""

    node: str
    stats: ControllerStats

    @property
    def transitions(self) -> Sequence[TransitionReport]: ...

    def poke(self, reason: str) -> None: ...

    def active_monitors(self) -> list[MonitorKey]: ...


@dataclass(frozen=True)
class FenceReply:
    """What became of an operator's fencing (or confirmation that a node is down).

    ``device`` is the fence device that did it (``manual`` for a confirmation);
    ``description`` is Pacemaker's sentence for it, as alerts and the log give it.
    """

    target: str
    action: str
    succeeded: bool
    device: str
    description: str
    # The store revision after the fencing was recorded in the fence history.
    revision: int


class NodeFencing(Protocol):
    """Fencing on an operator's request, run by the daemon (it owns the fence agents and the alerts).

    Both raise :class:`~vigil.admin.errors.AdminError` (nothing done) when the request cannot be
    carried out as asked; see :mod:`vigil.daemon.fence_requests`.
    """

    async def fence(self, target: str, action: str | None) -> FenceReply:
        """Fence ``target`` with ``action`` (None: the cluster's ``stonith-action``)."""
        ...

    async def confirm(self, target: str, force: bool) -> FenceReply:
        """Record ``target`` as fenced on the operator's word (it was powered off by hand)."""
        ...


# Parses configuration text (CIB XML or YAML): (config, warnings), or InputError.
ConfigParser = Callable[[bytes, str], tuple[Config, list[str]]]
# Checks a configuration against this node (the node listed, agents usable): problems and warnings.
ConfigChecker = Callable[[Config], Awaitable[Findings]]


@dataclass(frozen=True)
class ApiContext:
    store: Store
    controller: ControllerView
    token: str
    parse_config: ConfigParser
    check_config: ConfigChecker
    clock: Callable[[], float]
    # Which parameters each agent's meta-data marks private (masked without the token, with the
    # usual secret names); None: by name only.
    private_params: PrivateParams | None = None
    # `vigil node fence` and `confirm-fenced`; None: not offered (answered 503).
    fencing: NodeFencing | None = None
    # The web page's recent events (the dispatcher's listener); None: the page shows none.
    recent_events: RecentEvents | None = None
    # The web page's what-if (vigil.simulator.what_if.imagine); None: not offered (answered 503).
    what_if: FailureImaginer | None = None
