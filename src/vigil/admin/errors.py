"""What can go wrong with an operator's command, each with the HTTP status the API answers with."""

from __future__ import annotations

from collections.abc import Sequence


class AdminError(Exception):
    """A command that cannot be done as asked: a message for the operator, and details.

    Nothing was changed when it is raised.
    """

    http_status = 400

    def __init__(self, message: str, details: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.details = tuple(details)


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
