"""The fail-count index: one pass over a node's attributes, then lookups.

These pin the attribute names the index accepts to the ones Pacemaker's
``fail-count-RSC#OP_INTERVAL`` matching accepts, including the corners
(anonymous instances written with ``:N``, unparsable values, a ``#`` inside
an id) and the order scores are added in.
"""

from __future__ import annotations

from vigil.model.scores import INFINITY
from vigil.scheduler.failcounts import index_failures


def test_counts_and_last_failures_sum_per_resource() -> None:
    failures = index_failures({
        "fail-count-db#monitor_10000": "2",
        "fail-count-db#start_0": "1",
        "last-failure-db#monitor_10000": "1000",
        "last-failure-db#start_0": "900",
        "fail-count-web#monitor_10000": "1",
        "standby": "off",
    })
    assert failures.by_name == {"db": (3, 1000), "web": (1, 0)}
    assert failures.by_base == failures.by_name


def test_anonymous_instances_share_the_base_name() -> None:
    failures = index_failures({
        "fail-count-ping:0#monitor_10000": "1",
        "fail-count-ping#monitor_10000": "1",
        "fail-count-ping:x#monitor_10000": "1",
    })
    assert failures.by_name == {"ping:0": (1, 0), "ping": (1, 0), "ping:x": (1, 0)}
    assert failures.by_base == {"ping": (2, 0), "ping:x": (1, 0)}


def test_names_without_an_operation_key_or_a_valid_value_do_not_count() -> None:
    failures = index_failures({
        "fail-count-db": "1",
        "fail-count-db#": "1",
        "fail-count-db#monitor": "1",
        "fail-count-db#monitor_10s": "1",
        "fail-count-db#monitor_0": "lots",
        "last-failure-db#monitor_0": "yesterday",
    })
    assert failures.by_name == {}


def test_an_id_with_a_hash_splits_every_way_that_leaves_an_operation_key() -> None:
    failures = index_failures({"fail-count-a#b#start_0": "1"})
    assert failures.by_name == {"a": (1, 0), "a#b": (1, 0)}


def test_scores_add_in_attribute_order() -> None:
    # Saturating addition is not associative: INFINITY stays INFINITY.
    failures = index_failures({
        "fail-count-db#start_0": "999999",
        "fail-count-db#monitor_0": "999999",
        "fail-count-db#stop_0": "-999999",
    })
    assert failures.by_name["db"] == (INFINITY, 0)
