"""What can go wrong with an operator's command, each with the HTTP status the API answers with."""

from __future__ import annotations

from collections.abc import Sequence

from vigil.errors import VigilError


class AdminError(VigilError):
    """A command that cannot be done as asked: a message for the operator, and details.

    Nothing was changed when it is raised.  Offline (the command line on the
    store) it exits 1, or 2 for a bad configuration; through the API it is
    answered with ``http_status``.
    """

    http_status = 400


class NotFound(AdminError):
    """An unknown resource or node; ``details`` lists the known ones."""

    http_status = 404

    def __init__(self, kind: str, name: str, known: Sequence[str]) -> None:
        listed = ", ".join(known) if known else "none"
        super().__init__(f"no {kind} {name!r}", [f"known {kind}s: {listed}"])
        self.kind = kind
        self.name = name
        self.known = tuple(known)


class Conflict(AdminError):
    """The cluster is not in a state where the command makes sense, or the configuration
    kept changing under the command."""

    http_status = 409


class BadConfiguration(AdminError):
    """A configuration that does not parse or cannot run here; ``details`` names every problem."""

    http_status = 400
    exit_code = 2
