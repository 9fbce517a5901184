"""A whole CIB: configuration and status, the scheduler's input."""

from __future__ import annotations

from dataclasses import dataclass

from vigil.model.config import Config
from vigil.model.status import Status


@dataclass(frozen=True)
class Cluster:
    config: Config
    status: Status
    # Attributes of the <cib> element that vigil does not interpret, kept so
    # that an export writes them back unchanged.
    cib_attributes: tuple[tuple[str, str], ...] = ()
