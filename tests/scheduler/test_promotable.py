"""Promotable clones and notifications in the scheduler.

The summaries of these cases are also golden (tests/scheduler/cases); here
the parts no summary shows: which instance is promoted and why, what the
agents are told in their notifications (the ``notify_*`` meta Pacemaker
passes as ``OCF_RESKEY_CRM_meta_notify_*``), and how orderings after a
notifying clone wait for its notifications.  The expected notification
values are the ones Pacemaker 3.0 (the version of the corpus) puts in its
transition graph for the same CIB.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.model.transition import Action, Transition
from vigil.simulator.from_file import simulate_file

CASES = Path(__file__).resolve().parent / "cases"


def _plan(case: str) -> Transition:
    return simulate_file(CASES / case / "cib.xml").transition


def _actions(transition: Transition, task: str, resource: str | None = None) -> list[Action]:
    return [a for a in transition.actions if a.task == task and (resource is None or a.resource == resource)]


def test_the_instance_with_the_highest_promotion_score_is_promoted() -> None:
    plan = _plan("promotable-initial-start-promotes-highest-score")  # master-db: node1 10, node2 5
    promotes = [a for a in _actions(plan, "promote") if not a.pseudo]
    assert [(a.resource, a.node) for a in promotes] == [("db:0", "node1")]
    assert [line.render() for line in plan.summary] == [
        "* Promote db:0 ( Stopped -> Promoted node1 )", "* Start db:1 ( node2 )"]


def test_a_promoted_monitor_expects_running_promoted() -> None:
    plan = _plan("promotable-initial-start-promotes-highest-score")
    monitors = {(a.node, a.interval_ms): dict(a.meta) for a in _actions(plan, "monitor") if a.interval_ms}
    # The Promoted-role monitor (10 s) on the promoted node, the Unpromoted one (11 s) elsewhere.
    assert set(monitors) == {("node1", 10000), ("node2", 11000)}
    assert monitors[("node1", 10000)].get("op_target_rc") == "8"
    assert "op_target_rc" not in monitors[("node2", 11000)]


def test_notifications_carry_the_lists_pacemaker_fills() -> None:
    plan = _plan("promoted-node-standby-promotion-moves")  # node1 (promoted) goes into standby
    post_demote = [a for a in _actions(plan, "notify", "db:0")
                   if (dict(a.meta).get("notify_type"), dict(a.meta).get("notify_operation"))
                   == ("post", "demote")]
    assert len(post_demote) == 1 and post_demote[0].node == "node1"
    meta = dict(post_demote[0].meta)
    expected = {
        "notify_active_resource": "db:0 db:1", "notify_active_uname": "node1 node2",
        "notify_all_uname": "node1 node2", "notify_available_uname": "node1 node2",
        "notify_demote_resource": "db:0", "notify_demote_uname": "node1",
        "notify_inactive_resource": " ",
        "notify_promoted_resource": "db:0", "notify_promoted_uname": "node1",
        "notify_master_resource": "db:0", "notify_master_uname": "node1",
        "notify_unpromoted_resource": "db:1", "notify_unpromoted_uname": "node2",
        "notify_slave_resource": "db:1", "notify_slave_uname": "node2",
        "notify_promote_resource": "db:1", "notify_promote_uname": "node2",
        "notify_start_resource": " ", "notify_start_uname": " ",
        "notify_stop_resource": "db:0", "notify_stop_uname": "node1",
        "notify_operation": "demote", "notify_type": "post",
    }
    assert {key: meta.get(key) for key in expected} == expected
    # The agent's own promote carries the same lists.
    promote = next(a for a in _actions(plan, "promote", "db:1") if not a.pseudo)
    assert dict(promote.meta)["notify_promote_uname"] == "node2"


@pytest.mark.parametrize("case", ["promoted-fails-once-recovered-and-promoted-in-place",
                                  "promoted-node-standby-promotion-moves"])
def test_every_instance_is_told_before_and_after_each_promote(case: str) -> None:
    plan = _plan(case)
    index = {a.index: a for a in plan.actions}
    # The clone's promote point waits for every "pre" notification.
    clone_promote = next(a for a in plan.actions if a.task == "promote" and a.pseudo)
    before = [index[b] for b, a in plan.order if a == clone_promote.index]
    assert any(dict(b.meta).get("notify_key_type") == "confirmed-pre" for b in before)
    told = {(a.resource, a.node) for a in _actions(plan, "notify")
            if dict(a.meta).get("notify_operation") == "promote" and a.node is not None}
    assert told == {("db:0", "node1"), ("db:1", "node2")} - (
        {("db:0", "node1")} if case == "promoted-node-standby-promotion-moves" else set())


def test_notification_keys_are_pacemakers() -> None:
    plan = _plan("promoted-fails-once-recovered-and-promoted-in-place")
    keys = {a.key for a in plan.actions if a.task in ("notify", "notified") and a.resource == "db-clone"}
    assert {"db-clone_pre_notify_demote_0", "db-clone_confirmed-post_notify_promoted_0",
            "db-clone_post_notify_running_0"} <= keys
