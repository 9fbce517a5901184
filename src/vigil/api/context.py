"""What the API needs from the daemon, and nothing more.

The API reads and writes the store, asks the controller to plan again after
a change, and shows what the controller did; it never runs agents itself.
Tests build a context over an in-memory store and a stand-in controller.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from vigil.api.secrets import PrivateParams
from vigil.errors import Problem
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


# Parses configuration text (CIB XML or YAML): (config, warnings), or InputError.
ConfigParser = Callable[[bytes, str], tuple[Config, list[str]]]
# Checks a configuration against this node (agents installed, the node listed): problems found.
ConfigChecker = Callable[[Config], Awaitable[list[Problem]]]


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
