"""A failure to inject, as ``vigil simulate --fail RSC:NODE[:OP]`` names it.

Apart from :mod:`vigil.simulator.steps` (which plays it through the
controller's machinery) so that reading the command line loads none of it.
"""

from __future__ import annotations

import dataclasses

from vigil.errors import InputError, Problem


@dataclasses.dataclass(frozen=True)
class Failure:
    """``RSC:NODE[:OP]`` — a failure to inject before scheduling."""

    resource: str
    node: str
    operation: str = "monitor"

    @classmethod
    def parse(cls, text: str) -> Failure:
        parts = text.split(":")
        if len(parts) not in (2, 3) or not all(parts):
            raise InputError([Problem("--fail", f"{text!r} is not RSC:NODE or RSC:NODE:OP "
                                      "(e.g. nova-compute:node1 or nova-compute:node1:monitor)")])
        return cls(*parts)
