"""Fail-counts as the operator sees them: summed over operations, with the recoveries left."""

from __future__ import annotations

from dataclasses import replace

from vigil.admin import edits
from vigil.model.config import Config, NvSet
from vigil.model.failcounts import recoveries_left
from vigil.model.scores import INFINITY
from vigil.model.status import NodeState, Status
from vigil.output.failcounts import FailCount, OperationFailures, failcounts, failure_policy

NOW = 1_700_000_000


def status(n1: dict[str, str], n2: dict[str, str] | None = None) -> Status:
    nodes = [NodeState(id="1", uname="n1", attributes=tuple(sorted(n1.items())))]
    if n2 is not None:
        nodes.append(NodeState(id="2", uname="n2", attributes=tuple(sorted(n2.items()))))
    return Status(nodes=tuple(nodes))


def test_recoveries_left() -> None:
    assert recoveries_left(3, 0) == "3"
    assert recoveries_left(3, 1) == "2"
    assert recoveries_left(3, 5) == "0"
    assert recoveries_left(3, INFINITY) == "0"
    assert recoveries_left(INFINITY, 7) == "INFINITY"


def test_the_count_is_the_sum_over_operations(config: Config) -> None:
    found = failcounts(config, status({"fail-count-web#monitor_10000": "2", "fail-count-web#start_0": "1",
                                        "last-failure-web#monitor_10000": str(NOW - 5),
                                        "last-failure-web#start_0": str(NOW - 50)}), NOW)
    assert found == [FailCount(
        resource="web", node="n1", count=3,
        operations=(OperationFailures("monitor_10000", 2), OperationFailures("start_0", 1)),
        migration_threshold=3, recoveries_left="0", last_failure=NOW - 5, expired=False,
    )]


def test_infinity_and_no_threshold(config: Config) -> None:
    found = failcounts(config, status({"fail-count-plain#start_0": "INFINITY"}), NOW)
    assert (found[0].count, found[0].count_text, found[0].threshold_text, found[0].recoveries_left) == (
        INFINITY, "INFINITY", "INFINITY", "INFINITY")


def test_threshold_comes_from_the_group_the_clone_and_rsc_defaults(config: Config) -> None:
    config = edits.set_resource_meta(config, "g", "migration-threshold", "5")
    config = edits.set_resource_meta(config, "c", "migration-threshold", "4")
    config = replace(config, rsc_defaults=(NvSet("defaults", (("migration-threshold", "2"),)),))
    assert failure_policy(config, "a", NOW).migration_threshold == 5
    assert failure_policy(config, "d", NOW).migration_threshold == 4
    assert failure_policy(config, "plain", NOW).migration_threshold == 2
    assert failure_policy(config, "web", NOW).migration_threshold == 3
    # 0 disables it, a negative one means 1, as the scheduler reads them.
    assert failure_policy(edits.set_resource_meta(config, "web", "migration-threshold", "0"),
                          "web", NOW).migration_threshold == INFINITY
    assert failure_policy(edits.set_resource_meta(config, "web", "migration-threshold", "-3"),
                          "web", NOW).migration_threshold == 1


def test_an_expired_failure_no_longer_counts_against_the_budget(config: Config) -> None:
    config = edits.set_resource_meta(config, "web", "failure-timeout", "60s")
    found = failcounts(config, status({"fail-count-web#monitor_10000": "2",
                                        "last-failure-web#monitor_10000": str(NOW - 61)}), NOW)
    assert (found[0].count, found[0].expired, found[0].recoveries_left) == (2, True, "3")
    fresh = failcounts(config, status({"fail-count-web#monitor_10000": "2",
                                        "last-failure-web#monitor_10000": str(NOW - 59)}), NOW)
    assert (fresh[0].expired, fresh[0].recoveries_left) == (False, "1")


def test_anonymous_instances_count_as_the_primitive_unique_ones_apart(config: Config) -> None:
    found = failcounts(config, status({"fail-count-d:1#monitor_10000": "1", "fail-count-d#start_0": "1",
                                        "fail-count-e:0#monitor_10000": "1"}), NOW)
    assert [(f.resource, f.count) for f in found] == [("d", 2), ("e:0", 1)]
    only_e = failcounts(config, status({"fail-count-e:0#monitor_10000": "1"}), NOW, resources=["e"])
    assert [f.resource for f in only_e] == ["e:0"]


def test_filters_and_zeros(config: Config) -> None:
    both = status({"fail-count-web#monitor_10000": "1"}, {"fail-count-plain#monitor_10000": "1"})
    assert [(f.node, f.resource) for f in failcounts(config, both, NOW)] == [("n1", "web"), ("n2", "plain")]
    assert [f.resource for f in failcounts(config, both, NOW, node="n2")] == ["plain"]
    assert failcounts(config, both, NOW, resources=["a"]) == []
    everything = failcounts(config, both, NOW, include_zero=True)
    assert len(everything) == 2 * len([p for p in config.primitives()])
    zero = next(f for f in everything if f.node == "n1" and f.resource == "a")
    assert (zero.count, zero.recoveries_left) == (0, "INFINITY")


def test_a_fail_count_that_is_not_a_number_counts_as_0_but_is_shown(config: Config) -> None:
    """Pacemaker reads garbage as 0 (char2score); vigil does too, and says so instead of hiding it."""
    found = failcounts(config, status({"fail-count-web#monitor_10000": "notanumber",
                                       "fail-count-web#start_0": "1"}), NOW)
    assert found == [FailCount(
        resource="web", node="n1", count=1,
        operations=(OperationFailures("monitor_10000", 0), OperationFailures("start_0", 1)),
        migration_threshold=3, recoveries_left="2", unreadable=("monitor_10000='notanumber'",),
    )]
