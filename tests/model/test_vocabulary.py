"""The model's vocabulary: each concept defined once, and read as Pacemaker reads it."""

from __future__ import annotations

import pytest

from vigil.model.booleans import is_true, parse_bool
from vigil.model.config import Clone, Config, Group, NvSet, Primitive
from vigil.model.failcounts import (
    failcount_attribute,
    failure_attribute,
    is_failure_attribute,
    last_failure_attribute,
    migration_threshold,
    recoveries_left,
    resource_cuts,
    resource_failcount,
    threshold_in_effect,
)
from vigil.model.resources import Found, belongs_to, effective_meta, find, history_id, is_globally_unique
from vigil.model.results import ExecStatus, OcfRc, rc_name, rc_word, result_text, status_label
from vigil.model.rules import DateExpression, Rule
from vigil.model.scores import INFINITY
from vigil.model.stop_context import CONTEXT_KEYS, StopContext, context_items

# 2026-01-01T00:00:00Z
NEW_YEAR = 1_767_225_600


@pytest.mark.parametrize("word", ["true", "on", "yes", "y", "1", " TRUE ", "Y"])
def test_every_pacemaker_true_spelling_is_true(word: str) -> None:
    assert is_true(word) and parse_bool(word) is True


@pytest.mark.parametrize("word", ["false", "off", "no", "n", "0"])
def test_every_pacemaker_false_spelling_is_false(word: str) -> None:
    assert not is_true(word, default=True) and parse_bool(word) is False


def test_a_value_that_is_no_boolean_is_false_when_used_and_refused_when_validated() -> None:
    assert not is_true("maybe") and parse_bool("maybe") is None
    assert is_true(None, default=True) and not is_true(None)


def test_result_texts_for_numbers_ocf_does_not_define() -> None:
    assert (rc_name(7), rc_name(42)) == ("OCF_NOT_RUNNING", "OCF_UNKNOWN")
    assert (rc_word(190), rc_word(42), OcfRc.DEGRADED.text) == ("degraded", "unknown", "OCF_DEGRADED")
    assert (status_label(2), status_label(99)) == ("timed out", "status 99")
    assert (result_text(7, 0), result_text(7, 2), result_text(0, 99)) == (
        "not running", "Timed Out", "UNKNOWN!")
    assert OcfRc.NOT_RUNNING.label == "7 (OCF_NOT_RUNNING)" and ExecStatus.ERROR_FATAL.label == "fatal error"


def test_failure_attribute_names_are_built_and_read_back() -> None:
    count, last = failcount_attribute("web:1", "monitor", 10_000), last_failure_attribute("web", "start", 0)
    assert (count, last) == ("fail-count-web:1#monitor_10000", "last-failure-web#start_0")
    assert failure_attribute(count) == (True, "web:1#monitor_10000")
    assert failure_attribute(last) == (False, "web#start_0")
    assert failure_attribute("standby") is None and not is_failure_attribute("standby")
    # An id may hold a "#": each cut followed by an operation key is a reading.
    assert resource_cuts("a#b#monitor_10000") == [("a", "b#monitor_10000"), ("a#b", "monitor_10000")]
    assert resource_cuts("web#garbage") == []


def test_a_resources_failcount_is_the_score_sum_of_its_operations() -> None:
    attributes = (("fail-count-web#monitor_10000", "2"), ("fail-count-web#start_0", "1"),
                  ("fail-count-web2#start_0", "5"), ("fail-count-web#stop_0", "junk"),
                  ("last-failure-web#monitor_10000", "100"))
    assert resource_failcount(attributes, "web") == 3
    assert resource_failcount((*attributes, ("fail-count-web#stop_0", "INFINITY")), "web") == INFINITY


def test_recoveries_left_counts_down_to_zero_and_is_infinity_without_a_threshold() -> None:
    assert [recoveries_left(3, n) for n in (0, 1, 3, 5, INFINITY)] == ["3", "2", "0", "0", "0"]
    assert recoveries_left(INFINITY, 7) == recoveries_left(0, 7) == "INFINITY"
    assert [migration_threshold(t) for t in (None, "3", "-2", "0", "three")] == [INFINITY, 3, 1, 0, 0]
    assert (threshold_in_effect(0), threshold_in_effect(3)) == (INFINITY, 3)


def test_the_stop_context_round_trips_through_meta_with_every_alias() -> None:
    context = StopContext(stop_reason="failure", stop_final=True, stop_cause="web", recoveries_left="0")
    meta = context.to_meta()
    assert meta["recovery_left"] == meta["retries_left"] == meta["recoveries_left"] == "0"
    assert StopContext.from_meta({**meta, "timeout": "20000"}) == context
    assert context.is_final_failure_stop
    assert context_items(meta) == (("stop_reason", "failure"), ("stop_final", "true"), ("stop_cause", "web"),
                                   ("recoveries_left", "0"))
    assert CONTEXT_KEYS[-1] == "start_reason"


def test_the_demote_and_promote_context_round_trips_through_meta() -> None:
    demote = StopContext(demote_reason="failure", demote_final=False, demote_cause="db",
                         demote_next_node="node1", recoveries_left="2")
    meta = demote.to_meta()
    assert meta["demote_final"] == "false" and meta["retries_left"] == "2"
    assert StopContext.from_meta({**meta, "timeout": "20000"}) == demote
    assert not demote.is_final_failure_stop  # a demote is not a stop
    assert context_items(meta) == (("demote_reason", "failure"), ("demote_final", "false"),
                                   ("demote_cause", "db"), ("demote_next_node", "node1"),
                                   ("recoveries_left", "2"))
    promote = StopContext(promote_reason="move")
    assert promote.to_meta() == {"promote_reason": "move"}
    assert StopContext.from_meta(promote.to_meta()) == promote


def _after_new_year(set_id: str) -> Rule:
    return Rule(id=set_id, conditions=(DateExpression(id=f"{set_id}-date", operation="gt",
                                                      start="2026-01-01"),))


def _config() -> Config:
    web = Primitive(id="web", cls="ocf", provider="heartbeat", type="Dummy",
                    meta=(NvSet("web-meta", (("migration-threshold", "2"),)),))
    db = Primitive(id="db", cls="ocf", provider="heartbeat", type="Dummy")
    group = Group(id="stack", members=(web, db), meta=(NvSet("stack-meta", (("target-role", "Stopped"),
                                                                            ("migration-threshold", "5"))),))
    clone = Clone(id="stack-clone", child=group, meta=(
        NvSet("unique-later", (("globally-unique", "true"),), score=1, rule=_after_new_year("later")),
    ))
    return Config(resources=(clone,), rsc_defaults=(NvSet("defaults", (("failure-timeout", "60s"),
                                                                       ("migration-threshold", "9"))),))


def test_a_primitives_meta_is_its_own_then_its_parents_then_rsc_defaults() -> None:
    config = _config()
    found = find(config, "db")
    assert found is not None
    meta = effective_meta(config, found, NEW_YEAR - 10)
    assert (meta["target-role"], meta["migration-threshold"], meta["failure-timeout"]) == (
        "Stopped", "5", "60s")
    web = find(config, "web")
    assert web is not None and effective_meta(config, web, 0)["migration-threshold"] == "2"
    # A clone's instances are a little sticky unless told otherwise.
    assert effective_meta(config, web, 0)["resource-stickiness"] == "1"


def test_whether_a_clone_is_globally_unique_is_evaluated_at_the_time_asked() -> None:
    config = _config()
    clone = config.resources[0]
    assert isinstance(clone, Clone)
    assert not is_globally_unique(config, clone, NEW_YEAR - 10)
    assert is_globally_unique(config, clone, NEW_YEAR + 10)
    found = find(config, "web")
    assert found is not None
    assert history_id(config, found, "web:1", NEW_YEAR - 10) == "web"
    assert history_id(config, found, "web:1", NEW_YEAR + 10) == "web:1"
    assert history_id(config, Found(Primitive(id="x", cls="ocf", type="Dummy")), "x", 0) == "x"


def test_a_history_belongs_to_its_primitive_and_its_instances_only() -> None:
    assert belongs_to("web", "web") and belongs_to("web:3", "web")
    assert not belongs_to("web2", "web") and not belongs_to("web:x", "web")
