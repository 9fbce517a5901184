"""Errors that reach the user as a clear message and exit code, never a traceback."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is, what it is, how to fix it."""

    where: str  # e.g. "cib.xml:12 /cib/configuration/resources/primitive[@id='rsc1']"
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class VigilError(Exception):
    """An error meant for the user: what went wrong, details, and the exit code.

    Every error a user may meet derives from this class, so that the command
    line catches it once (:mod:`vigil.cli.main`) and prints each of
    :attr:`messages` as ``vigil: error: ...``, each detail indented below, and
    each note added on the way (:meth:`add_note`) as ``vigil: ...``.  Anything
    else that escapes is a bug, and shows its traceback.
    """

    exit_code = 1

    def __init__(self, message: str, details: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.details = tuple(details)

    @property
    def messages(self) -> tuple[str, ...]:
        """The error lines: one message here; one per problem for :class:`InputError`."""
        return (self.message,)


class InputError(VigilError):
    """Bad input (configuration, command line), each problem on its own line.  Exit code 2."""

    exit_code = 2

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))

    @property
    def messages(self) -> tuple[str, ...]:
        return tuple(str(problem) for problem in self.problems)
