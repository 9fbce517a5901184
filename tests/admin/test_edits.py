"""The operator's configuration edits: pure functions, checked case by case without I/O."""

from __future__ import annotations

from dataclasses import replace

import pytest

from vigil.admin import edits
from vigil.admin.errors import AdminError, NotFound
from vigil.admin.tree import find_node, find_resource, fresh_id
from vigil.formats.cib.dump import dump_cib
from vigil.formats.cib.load import load_cib
from vigil.model.cluster import Cluster
from vigil.model.config import Config, Location, NvSet
from vigil.model.nvsets import plain_value
from vigil.model.rules import Rule
from vigil.model.scores import INFINITY
from vigil.model.status import Status


def meta(config: Config, rsc: str) -> tuple[NvSet, ...]:
    return find_resource(config, rsc).resource.meta


def roundtrip(config: Config) -> Config:
    """What Pacemaker (or vigil) reads back from the exported CIB."""
    cluster, _ = load_cib(dump_cib(Cluster(config, Status())), name="export.xml")
    return cluster.config


# -- name/value sets --------------------------------------------------------------------------


def test_set_value_replaces_in_place() -> None:
    sets = (NvSet("s", (("a", "1"), ("b", "2"), ("c", "3"))),)
    assert edits.set_value(sets, "b", "9", "new") == (NvSet("s", (("a", "1"), ("b", "9"), ("c", "3"))),)


def test_set_value_adds_to_the_first_set_without_a_rule() -> None:
    rule = Rule(id="r", conditions=())
    sets = (NvSet("ruled", (("x", "1"),), rule=rule), NvSet("s1", (("a", "1"),)), NvSet("s2", ()))
    result = edits.set_value(sets, "b", "2", "new")
    assert result == (sets[0], NvSet("s1", (("a", "1"), ("b", "2"))), NvSet("s2", ()))


def test_set_value_creates_a_set_when_there_is_none_without_a_rule() -> None:
    rule = Rule(id="r", conditions=())
    sets = (NvSet("ruled", (("b", "1"),), rule=rule),)
    assert edits.set_value(sets, "b", "2", "new") == (sets[0], NvSet("new", (("b", "2"),)))
    assert edits.set_value((), "b", "2", "new") == (NvSet("new", (("b", "2"),)),)


def test_set_value_removes_duplicates_from_other_plain_sets() -> None:
    sets = (NvSet("s1", (("a", "1"),)), NvSet("s2", (("b", "old"), ("c", "3"))), NvSet("s3", (("b", "x"),)))
    result = edits.set_value(sets, "b", "new", "n")
    assert result == (NvSet("s1", (("a", "1"),)), NvSet("s2", (("b", "new"), ("c", "3"))))


def test_removing_drops_the_name_everywhere_and_sets_it_emptied() -> None:
    rule = Rule(id="r", conditions=())
    sets = (NvSet("s1", (("b", "1"),)), NvSet("s2", (("b", "2"), ("c", "3"))), NvSet("empty", ()),
            NvSet("ruled", (("b", "4"),), rule=rule))
    result = edits.set_value(sets, "b", None, "n")
    assert result == (NvSet("s2", (("c", "3"),)), NvSet("empty", ()), sets[3])


def test_removing_an_absent_name_changes_nothing() -> None:
    sets = (NvSet("s1", (("a", "1"),)),)
    assert edits.set_value(sets, "b", None, "n") == sets


def test_get_value_ignores_sets_with_rules_and_follows_scores() -> None:
    rule = Rule(id="r", conditions=())
    sets = (NvSet("low", (("a", "low"),)), NvSet("high", (("a", "high"),), score=5),
            NvSet("ruled", (("a", "ruled"),), score=100, rule=rule))
    assert plain_value(sets, "a") == "high"
    assert plain_value(sets, "b") is None


# -- target-role ------------------------------------------------------------------------------


def test_stop_sets_target_role_in_the_resources_own_set(config: Config) -> None:
    changed = edits.set_target_role(config, "web", "Stopped")
    assert meta(changed, "web")[0] == NvSet("web-meta", (("migration-threshold", "3"),
                                                         ("target-role", "Stopped")))
    # The operator's rule set is left alone.
    assert meta(changed, "web")[1] == meta(config, "web")[1]
    assert edits.meta_value(changed, "web", "target-role") == "Stopped"


def test_start_then_enable_without_meta_gives_back_the_same_configuration(config: Config) -> None:
    started = edits.set_target_role(config, "plain", "Started")
    assert meta(started, "plain") == (NvSet("plain-meta_attributes", (("target-role", "Started"),)),)
    assert edits.set_target_role(started, "plain", None) == config


def test_disable_and_enable_a_group_cover_its_members(config: Config) -> None:
    disabled = edits.set_target_role(config, "g", "Stopped")
    assert edits.meta_value(disabled, "g", "target-role") == "Stopped"
    # a's own target-role=Stopped is removed: the group's decides (crm_resource updates the member's).
    assert edits.meta_value(disabled, "a", "target-role") is None
    enabled = edits.set_target_role(disabled, "g", None)
    assert edits.meta_value(enabled, "g", "target-role") is None
    assert edits.meta_value(enabled, "a", "target-role") is None


def test_starting_a_group_member_names_the_stopped_group(config: Config) -> None:
    stopped_group = edits.set_resource_meta(config, "g", "target-role", "Stopped")
    started = edits.set_target_role(stopped_group, "b", "Started")
    assert edits.meta_value(started, "b", "target-role") == "Started"
    assert edits.meta_value(started, "g", "target-role") == "Stopped"
    assert edits.stopped_ancestors(started, "b") == ["g"]
    assert edits.stopped_ancestors(config, "b") == []


def test_starting_a_clone_child_also_clears_the_clones_stop(config: Config) -> None:
    started = edits.set_target_role(config, "d", "Started")
    assert edits.meta_value(started, "c", "target-role") is None
    assert edits.meta_value(started, "d", "target-role") == "Started"
    assert edits.stopped_ancestors(started, "d") == []


def test_stopping_a_clone_child_leaves_the_clone_alone(config: Config) -> None:
    stopped = edits.set_target_role(config, "d", "Stopped")
    assert edits.meta_value(stopped, "c", "target-role") == "Stopped"
    assert edits.meta_value(stopped, "d", "target-role") == "Stopped"


def test_stopping_a_cloned_group_clears_every_nested_target_role(config: Config) -> None:
    nested = edits.set_resource_meta(edits.set_resource_meta(config, "h", "target-role", "Started"),
                                     "x", "target-role", "Started")
    stopped = edits.set_target_role(nested, "cg", "Stopped")
    assert edits.meta_value(stopped, "cg", "target-role") == "Stopped"
    assert edits.meta_value(stopped, "h", "target-role") is None
    assert edits.meta_value(stopped, "x", "target-role") is None


def test_maintenance_sets_true_and_false(config: Config) -> None:
    on = edits.set_maintenance(config, "web", True)
    assert edits.meta_value(on, "web", "maintenance") == "true"
    assert edits.meta_value(edits.set_maintenance(on, "web", False), "web", "maintenance") == "false"


def test_unknown_resource_lists_the_known_ones(config: Config) -> None:
    with pytest.raises(NotFound) as caught:
        edits.set_target_role(config, "nope", "Stopped")
    assert caught.value.http_status == 404
    assert caught.value.message == "no resource 'nope'"
    assert caught.value.details == (
        "known resources: web, plain, web-on-n1, g, a, b, c, d, u, e, cg, h, x, y",)


def test_edits_survive_the_cib_export(config: Config) -> None:
    changed = edits.set_target_role(edits.set_maintenance(config, "web", True), "g", "Stopped")
    assert roundtrip(changed) == changed


# -- move, ban, clear ----------------------------------------------------------------------------


def test_move_adds_cli_prefer_and_lifts_a_ban_there(config: Config) -> None:
    banned = edits.ban_from(config, "web", "n2")
    moved = edits.move_to(banned, "web", "n2")
    assert [loc.id for loc in moved.locations] == ["loc-web", "cli-prefer-web"]
    assert moved.locations[-1] == Location(id="cli-prefer-web", rsc="web", node="n2", score=INFINITY,
                                           role="Started")


def test_moving_again_replaces_the_preference(config: Config) -> None:
    moved = edits.move_to(edits.move_to(config, "web", "n2"), "web", "n1")
    prefers = [loc for loc in moved.locations if loc.id == "cli-prefer-web"]
    assert [loc.node for loc in prefers] == ["n1"]


def test_ban_adds_cli_ban_once(config: Config) -> None:
    banned = edits.ban_from(edits.ban_from(config, "web", "n1"), "web", "n1")
    bans = [loc for loc in banned.locations if loc.id == "cli-ban-web-on-n1"]
    assert bans == [Location(id="cli-ban-web-on-n1", rsc="web", node="n1", score=-INFINITY, role="Started")]
    assert roundtrip(banned) == banned


def test_groups_and_clones_can_be_moved_but_not_what_is_inside_a_clone(config: Config) -> None:
    assert edits.ban_from(config, "g", "n1").locations[-1].rsc == "g"
    assert edits.move_to(config, "c", "n1").locations[-1].rsc == "c"
    for inside in ("d", "h", "x"):
        with pytest.raises(AdminError, match="is part of the clone"):
            edits.move_to(config, inside, "n1")


def test_move_to_an_unknown_node_lists_the_known_ones(config: Config) -> None:
    with pytest.raises(NotFound) as caught:
        edits.move_to(config, "web", "n9")
    assert caught.value.details == ("known nodes: n1, n2",)


def test_clear_removes_only_the_cli_constraints_of_the_resource(config: Config) -> None:
    busy = edits.ban_from(edits.ban_from(edits.move_to(config, "web", "n2"), "web", "n1"), "plain", "n1")
    # "cli-ban-web-on-n1-on-n2" is web-on-n1's, not web's.
    busy = edits.ban_from(busy, "web-on-n1", "n2")
    cleared = edits.clear_constraints(busy, "web")
    assert [loc.id for loc in cleared.locations] == ["loc-web", "cli-ban-plain-on-n1",
                                                     "cli-ban-web-on-n1-on-n2"]


def test_clear_on_a_node_keeps_the_others(config: Config) -> None:
    busy = edits.ban_from(edits.ban_from(config, "web", "n1"), "web", "n2")
    cleared = edits.clear_constraints(busy, "web", "n2")
    assert [loc.id for loc in cleared.locations][-1] == "cli-ban-web-on-n1"
    assert "cli-ban-web-on-n2" not in [loc.id for loc in cleared.locations]


def test_clear_of_a_removed_resource_removes_what_it_left(config: Config) -> None:
    left = Location(id="cli-ban-web2-on-n1", rsc="web2", node="n1", score=-INFINITY)
    assert edits.clear_constraints(replace(config, locations=(*config.locations, left)), "web2") == config
    with pytest.raises(NotFound):
        edits.clear_constraints(config, "never")


def test_clear_without_constraints_changes_nothing(config: Config) -> None:
    assert edits.clear_constraints(config, "plain") == config


# -- nodes -------------------------------------------------------------------------------------------


def test_standby_and_online_edit_the_permanent_node_attributes(config: Config) -> None:
    standby = edits.set_standby(config, "n1", True)
    assert find_node(standby, "n1").attributes == (NvSet("nodes-1", (("standby", "on"),)),)
    assert edits.set_standby(standby, "n1", False) == config
    # A node with a set already gets it there.
    n2 = find_node(edits.set_standby(config, "n2", True), "n2")
    assert n2.attributes == (NvSet("n2-attrs", (("rack", "r2"), ("standby", "on"))),)
    assert roundtrip(standby) == standby


def test_node_maintenance_on_and_off(config: Config) -> None:
    on = edits.set_node_maintenance(config, "n2", True)
    assert find_node(on, "n2").attributes[0].values == (("rack", "r2"), ("maintenance", "on"))
    assert edits.set_node_maintenance(on, "n2", False) == config


def test_unknown_node(config: Config) -> None:
    with pytest.raises(NotFound, match="no node 'n9'"):
        edits.set_standby(config, "n9", True)


def test_fresh_ids_never_collide(config: Config) -> None:
    assert fresh_id(config, "web-meta") == "web-meta-1"
    assert fresh_id(config, "brand-new") == "brand-new"
