"""Bugs of vigil the lab has found and that are not fixed yet, so a run can tolerate them by name.

Why: a lab run that stops at the first failure exercises nothing after it.
``--tolerate NAME`` (scripts/fault_lab.py) turns the failed audits that match a
known issue into a count in the report, so the other fault kinds still run;
every other failure still fails the run.  Each entry names the audit, what
matches (a regular expression over the failure's message and lines) and the
diagnosis.  Remove an entry once its fix is in: a tolerated issue is still a
bug.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vigil.testing.lab.activity import Violation


@dataclass(frozen=True)
class KnownIssue:
    name: str
    audit: str
    pattern: str
    diagnosis: str

    def matches(self, violation: Violation) -> bool:
        if violation.audit != self.audit:
            return False
        text = "\n".join((violation.message, *violation.lines))
        return re.search(self.pattern, text) is not None


# Empty while every finding of docs/reliability.md is fixed (F6, "etcd-frozen-member", was the last).
KNOWN_ISSUES: dict[str, KnownIssue] = {}


def tolerated(violations: list[Violation], names: tuple[str, ...],
              known: dict[str, KnownIssue] | None = None) -> tuple[list[Violation], list[str]]:
    """(the violations no tolerated issue explains, the names of the issues that explained the rest)."""
    issues = [(KNOWN_ISSUES if known is None else known)[name] for name in names]
    kept: list[Violation] = []
    seen: list[str] = []
    for violation in violations:
        match = next((issue for issue in issues if issue.matches(violation)), None)
        if match is None:
            kept.append(violation)
        else:
            seen.append(match.name)
    return kept, seen
