"""The cluster options the controller itself reads (the scheduler reads its own)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from vigil.model.booleans import is_true
from vigil.model.config import Config
from vigil.model.isodate import parse_interval_ms
from vigil.model.nvsets import resolve_nvsets
from vigil.model.options import RENAMED_OPTIONS
from vigil.model.rule_eval import RuleContext

DEFAULT_RECHECK_S = 15 * 60
DEFAULT_DC_DEADTIME_S = 20.0
# ``member-ttl``: the TTL of each node's membership lease, in seconds.  A node killed or cut off
# is noticed lost this long after its last refresh: short for fast failover, long enough that a
# busy machine never misses two refreshes in a row (a refresh every quarter of it; docs/cluster.md).
DEFAULT_MEMBER_TTL_S = 3
MIN_MEMBER_TTL_S = 2


@dataclass(frozen=True)
class ControllerOptions:
    """``cluster-recheck-interval``: the longest the controller sleeps without
    rescheduling (0 disables the timer); ``batch-limit``: how many actions of a
    transition run at once (0: twice the number of cores, Pacemaker's
    node-action-limit); ``start-failure-is-fatal``: how a failed start counts;
    ``stonith-enabled`` and ``stonith-action``: whether and how the controller
    may fence a node."""

    recheck_interval_s: float = DEFAULT_RECHECK_S
    batch_limit: int = 0
    start_failure_is_fatal: bool = True
    stonith_enabled: bool = True
    stonith_action: str = "reboot"
    # How long a newly elected controller of a cluster waits for configured nodes that never
    # joined, before it plans without them (and fences them: startup-fencing).
    dc_deadtime_s: float = DEFAULT_DC_DEADTIME_S

    @property
    def concurrency(self) -> int:
        return self.batch_limit if self.batch_limit > 0 else 2 * (os.cpu_count() or 1)


def controller_options(config: Config, now: int) -> ControllerOptions:
    raw = resolve_nvsets(config.options, RuleContext(now=now))
    for new, old in RENAMED_OPTIONS.items():
        if new in raw:
            raw[old] = raw[new]
    return ControllerOptions(
        recheck_interval_s=_seconds(raw.get("cluster-recheck-interval"), DEFAULT_RECHECK_S),
        batch_limit=_int(raw.get("batch-limit"), 0),
        start_failure_is_fatal=is_true(raw.get("start-failure-is-fatal"), True),
        stonith_enabled=is_true(raw.get("stonith-enabled"), True),
        stonith_action=raw.get("stonith-action", "reboot").replace("poweroff", "off"),
        dc_deadtime_s=_seconds(raw.get("dc-deadtime"), DEFAULT_DC_DEADTIME_S),
    )


def member_ttl_s(config: Config, now: int) -> int:
    """The ``member-ttl`` cluster option (whole seconds, at least 2: etcd's shortest lease)."""
    raw = resolve_nvsets(config.options, RuleContext(now=now))
    seconds = _seconds(raw.get("member-ttl"), DEFAULT_MEMBER_TTL_S)
    return max(MIN_MEMBER_TTL_S, round(seconds))


def _seconds(text: str | None, default: float) -> float:
    if text is None:
        return default
    try:
        return parse_interval_ms(text) / 1000
    except ValueError:
        return default


def _int(text: str | None, default: int) -> int:
    try:
        return max(0, int(text)) if text is not None else default
    except ValueError:
        return default
