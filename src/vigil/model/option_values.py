"""Which values the options and meta attributes with a fixed type may take.

A configuration is refused for what Pacemaker refuses: its schema's lists
(``on-fail``) and the cluster options that Pacemaker resets to their
default with a configuration error (``stonith-enabled=maybe``,
``no-quorum-policy=dance``, both reported by ``crm_verify``).  A value
taken silently in some other way would run the cluster on a setting no one
chose: ``migration-threshold=three`` reads as 0, which means "never move",
and is shown as INFINITY recoveries left.
"""

from __future__ import annotations

from collections.abc import Callable

from vigil.model.booleans import parse_bool
from vigil.model.isodate import parse_interval_ms
from vigil.model.scores import ScoreError, parse_score

ON_FAIL = ("ignore", "block", "demote", "stop", "restart", "standby", "fence", "restart-container")
NO_QUORUM_POLICIES = ("stop", "freeze", "ignore", "demote", "suicide", "fence")
BOOLEAN_OPTIONS = frozenset({
    "stonith-enabled", "fencing-enabled", "symmetric-cluster", "maintenance-mode",
    "start-failure-is-fatal", "stop-orphan-resources", "stop-orphan-actions", "stop-removed-resources",
    "cancel-removed-actions", "stop-all-resources", "startup-fencing", "concurrent-fencing",
    "shutdown-lock", "enable-startup-probes",
})


def _one_of(choices: tuple[str, ...]) -> Callable[[str, str], str | None]:
    def check(name: str, value: str) -> str | None:
        if value.strip().lower() in choices:
            return None
        return f"invalid value {value!r} for {name}: use one of {', '.join(choices)}"

    return check


def _boolean(name: str, value: str) -> str | None:
    if parse_bool(value) is not None:
        return None
    return f"invalid value {value!r} for {name}: use true or false"


def _score(name: str, value: str) -> str | None:
    try:
        parse_score(value)
    except ScoreError:
        return f"invalid value {value!r} for {name}: use an integer or INFINITY"
    return None


def _lease_ttl(name: str, value: str) -> str | None:
    try:
        seconds = parse_interval_ms(value) / 1000
    except ValueError:
        seconds = -1
    if seconds < 2:
        return f"invalid value {value!r} for {name}: use a duration of at least 2 seconds, such as 3 or 3s"
    return None


_CLUSTER_OPTIONS: dict[str, Callable[[str, str], str | None]] = {
    **dict.fromkeys(BOOLEAN_OPTIONS, _boolean),
    "no-quorum-policy": _one_of(NO_QUORUM_POLICIES),
    "member-ttl": _lease_ttl,
}
_META: dict[str, Callable[[str, str], str | None]] = {
    "migration-threshold": _score,
    "on-fail": _one_of(ON_FAIL),
}


def cluster_option_problem(name: str, value: str) -> str | None:
    """What is wrong with cluster option ``name`` set to ``value``; None when it is fine (or not typed)."""
    check = _CLUSTER_OPTIONS.get(name)
    return None if check is None else check(name, value)


def meta_problem(name: str, value: str) -> str | None:
    """What is wrong with meta attribute ``name`` (of a resource, an op or a default) set to ``value``."""
    check = _META.get(name)
    return None if check is None else check(name, value)
