"""Recovery exhausted, read off real transitions: which stops give up, and what the event says."""

from __future__ import annotations

from tests.stop_context.cibs import NOW, History, NodeStatus, cib, group, primitive
from vigil.events.exhausted import recovery_exhausted
from vigil.events.model import RecoveryExhausted
from vigil.formats.cib.load import load_cib
from vigil.scheduler import schedule


def exhausted(xml: bytes) -> list[RecoveryExhausted]:
    cluster, _ = load_cib(xml)
    transition = schedule(cluster, NOW)
    found = recovery_exhausted(transition, cluster, NOW, float(NOW))
    for index, event in found.items():
        action = transition.actions[index]
        assert action.task == "stop" and action.node == event.node
    return list(found.values())


def failed(rsc: str, count: str, **attrs: str) -> NodeStatus:
    return NodeStatus("n1", [History(rsc, failed_monitor=True)],
                      {f"fail-count-{rsc}#monitor_10000": count, **attrs})


def test_the_third_failure_with_migration_threshold_3_gives_up_and_says_where_it_goes() -> None:
    xml = cib(primitive("svc", {"migration-threshold": "3"}), [failed("svc", "3"), NodeStatus("n2")])
    [event] = exhausted(xml)
    assert (event.resource, event.node, event.fail_count, event.migration_threshold) == (
        "svc", "n1", "3", "3")
    assert (event.recoveries_left, event.next_node, event.cause, event.policy) == (
        "0", "n2", "migration-threshold", "none")
    assert (event.failed_task, event.failed_interval_ms, event.rc) == ("monitor", 10000, 7)
    assert event.desc == "recovery exhausted: fail-count 3 reached migration-threshold 3; moves to n2"


def test_earlier_failures_are_restarts_in_place_not_exhausted() -> None:
    for count in ("1", "2"):
        xml = cib(primitive("svc", {"migration-threshold": "3"}), [failed("svc", count), NodeStatus("n2")])
        assert exhausted(xml) == []


def test_nowhere_else_to_go_stays_stopped() -> None:
    [event] = exhausted(cib(primitive("svc", {"migration-threshold": "1"}), [failed("svc", "1")]))
    assert event.next_node is None and event.desc.endswith("; stays stopped")


def test_a_failure_that_bans_the_resource_is_exhausted_whatever_the_threshold() -> None:
    [event] = exhausted(cib(primitive("svc"), [failed("svc", "INFINITY"), NodeStatus("n2")]))
    assert (event.cause, event.fail_count, event.migration_threshold, event.next_node) == (
        "hard-failure", "INFINITY", "INFINITY", "n2")


def test_the_policy_and_threshold_come_from_the_clone_of_an_anonymous_instance() -> None:
    clone = ('<clone id="libvirtd-clone"><meta_attributes id="lc-meta">'
             '<nvpair id="lc-policy" name="on-recovery-exhausted" value="fence"/>'
             '<nvpair id="lc-threshold" name="migration-threshold" value="2"/>'
             f'</meta_attributes>{primitive("libvirtd")}</clone>')
    [event] = exhausted(cib(clone, [failed("libvirtd", "2")]))
    assert (event.resource, event.policy, event.migration_threshold) == ("libvirtd", "fence", "2")


def test_only_the_failed_group_member_is_exhausted_not_its_dependents() -> None:
    stack = group("compute", "libvirtd", "neutron", "nova", meta={"migration-threshold": "3"})
    status = NodeStatus("n1", [History("libvirtd"), History("neutron", failed_monitor=True), History("nova")],
                        {"fail-count-neutron#monitor_10000": "3"})
    [event] = exhausted(cib(stack, [status, NodeStatus("n2")]))
    assert event.resource == "neutron" and event.next_node == "n2"


def test_an_unknown_policy_is_none() -> None:
    xml = cib(primitive("svc", {"migration-threshold": "1", "on-recovery-exhausted": "reboot-the-world"}),
              [failed("svc", "1")])
    assert exhausted(xml)[0].policy == "none"
