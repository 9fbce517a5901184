"""Cluster options (``crm_config``) as the scheduler needs them.

Both Pacemaker 2.x and 3.x names are accepted (``stonith-enabled`` and
``fencing-enabled``, ...); the 3.x name wins when both are set.
"""

from __future__ import annotations

from dataclasses import dataclass

from vigil.model.booleans import is_true
from vigil.model.config import Config
from vigil.model.isodate import parse_interval_ms
from vigil.model.nvsets import resolve_nvsets
from vigil.model.rule_eval import RuleContext
from vigil.model.scores import INFINITY, lenient_score

# 3.x name -> 2.x name
RENAMED_OPTIONS = {
    "fencing-enabled": "stonith-enabled",
    "fencing-action": "stonith-action",
    "fencing-timeout": "stonith-timeout",
    "fencing-reaction": "fence-reaction",
    "stop-removed-resources": "stop-orphan-resources",
    "cancel-removed-actions": "stop-orphan-actions",
}


@dataclass(frozen=True)
class Options:
    stonith_enabled: bool = True
    symmetric_cluster: bool = True
    no_quorum_policy: str = "stop"
    start_failure_is_fatal: bool = True
    stop_orphan_resources: bool = True
    stop_orphan_actions: bool = True
    maintenance_mode: bool = False
    stop_all_resources: bool = False
    startup_fencing: bool = True
    concurrent_fencing: bool = True
    stonith_action: str = "reboot"
    placement_strategy: str = "default"
    node_health_strategy: str = "none"
    node_health_red: int = -INFINITY
    node_health_yellow: int = 0
    node_health_green: int = 0
    node_health_base: int = 0
    shutdown_lock: bool = False
    # How long a shutdown lock lasts (0: until the node comes back).
    shutdown_lock_limit_ms: int = 0
    # How long a node may stay pending (a member, its controller not up)
    # before it is fenced (0: forever).
    node_pending_timeout_ms: int = 0
    remove_after_stop: bool = False
    enable_startup_probes: bool = True
    priority_fencing_delay: str | None = None
    # The nodes run a watchdog (SBD): fencing is possible without a fence
    # device (Pacemaker's have-watchdog, set by its controller).
    have_watchdog: bool = False


def _score(value: str | None, default: int) -> int:
    if value is None:
        return default
    return lenient_score(value)


def _duration_ms(value: str | None) -> int:
    """A duration option; unset or invalid: 0."""
    if not value:
        return 0
    try:
        return max(0, parse_interval_ms(value))
    except ValueError:
        return 0


def raw_options(config: Config, ctx: RuleContext) -> dict[str, str]:
    """The cluster options as set, rules evaluated, under their 2.x names (a 3.x name wins)."""
    raw = resolve_nvsets(config.options, ctx)
    for new, old in RENAMED_OPTIONS.items():
        if new in raw:
            raw[old] = raw[new]
    return raw


def unpack_options(config: Config, ctx: RuleContext, have_quorum: bool = True,
                   panic: bool = False) -> Options:
    raw = raw_options(config, ctx)
    health = raw.get("node-health-strategy", "none")
    if health == "migrate-on-red":
        red, yellow, green = -INFINITY, 0, 0
    elif health == "only-green":
        red, yellow, green = -INFINITY, -INFINITY, 0
    else:
        red, yellow, green = -INFINITY, 0, 0
    fixed_colours = health in ("migrate-on-red", "only-green")
    policy = raw.get("no-quorum-policy", "stop").lower()
    if policy == "suicide":
        # Self-fencing on quorum loss needs fencing, and a cluster that had
        # quorum (or a CIB that asks to panic): one that never had quorum
        # must not shoot itself at start-up.
        stonith = is_true(raw.get("stonith-enabled"), True)
        policy = "fence" if stonith and (panic or have_quorum) else "stop"
    elif policy not in ("ignore", "freeze", "demote", "stop"):
        policy = "stop"
    return Options(
        stonith_enabled=is_true(raw.get("stonith-enabled"), True),
        symmetric_cluster=is_true(raw.get("symmetric-cluster"), True),
        no_quorum_policy=policy,
        start_failure_is_fatal=is_true(raw.get("start-failure-is-fatal"), True),
        stop_orphan_resources=is_true(raw.get("stop-orphan-resources"), True),
        stop_orphan_actions=is_true(raw.get("stop-orphan-actions"), True),
        maintenance_mode=is_true(raw.get("maintenance-mode"), False),
        stop_all_resources=is_true(raw.get("stop-all-resources"), False),
        # Unseen nodes are fenced only when fencing is enabled at all.
        startup_fencing=(
            is_true(raw.get("stonith-enabled"), True) and is_true(raw.get("startup-fencing"), True)
        ),
        concurrent_fencing=is_true(raw.get("concurrent-fencing"), True),
        stonith_action=raw.get("stonith-action", "reboot").replace("poweroff", "off"),
        placement_strategy=raw.get("placement-strategy", "default"),
        node_health_strategy=health,
        # migrate-on-red and only-green fix the colours' scores; the
        # configured ones count only for progressive and custom.
        node_health_red=red if fixed_colours else _score(raw.get("node-health-red"), red),
        node_health_yellow=yellow if fixed_colours else _score(raw.get("node-health-yellow"), yellow),
        node_health_green=green if fixed_colours else _score(raw.get("node-health-green"), green),
        node_health_base=_score(raw.get("node-health-base"), 0),
        shutdown_lock=is_true(raw.get("shutdown-lock"), False),
        shutdown_lock_limit_ms=_duration_ms(raw.get("shutdown-lock-limit")),
        node_pending_timeout_ms=_duration_ms(raw.get("node-pending-timeout")),
        remove_after_stop=is_true(raw.get("remove-after-stop"), False),
        enable_startup_probes=is_true(raw.get("enable-startup-probes"), True),
        priority_fencing_delay=raw.get("priority-fencing-delay"),
        have_watchdog=is_true(raw.get("have-watchdog"), False),
    )
