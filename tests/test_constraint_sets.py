"""Resource sets in location, colocation and order constraints: read from CIB
XML and YAML, checked, written back, and what the scheduler makes of them."""

from __future__ import annotations

import textwrap

import pytest

from vigil.errors import InputError, Problem
from vigil.formats.cib.dump import dump_cib
from vigil.formats.cib.load import load_cib
from vigil.formats.yaml.dump import NotExpressibleInYaml, dump_yaml_config
from vigil.formats.yaml.load import load_yaml_config
from vigil.model.config import Colocation, Config, Location, Order, ResourceSet
from vigil.scheduler.constraint_sets import SetOrdering, plain_colocations, plain_locations, set_orderings

DUMMIES = "".join(f'<primitive id="{rsc}" class="ocf" provider="pacemaker" type="Dummy"/>' for rsc in "ABCD")
TAGS = '<tags><tag id="tag1"><obj_ref id="C"/><obj_ref id="D"/></tag></tags>'
TEMPLATE = '<template id="tpl" class="ocf" provider="pacemaker" type="Dummy"/>' \
    '<primitive id="E" template="tpl"/><primitive id="F" template="tpl"/>'


def cib(constraints: str, template: bool = True) -> bytes:
    resources = DUMMIES + (TEMPLATE if template else "")
    return (
        '<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0"><configuration>'
        f"<crm_config/><nodes/><resources>{resources}</resources>{TAGS}<constraints>{constraints}"
        "</constraints></configuration><status/></cib>"
    ).encode()


def config_of(constraints: str, template: bool = True) -> tuple[Config, list[str]]:
    cluster, warnings = load_cib(cib(constraints, template), name="test.xml")
    return cluster.config, warnings


def problems_of(constraints: str) -> list[Problem]:
    with pytest.raises(InputError) as caught:
        load_cib(cib(constraints), name="test.xml")
    return caught.value.problems


ALL_KINDS = (
    '<rsc_location id="loc" node="n1" score="100">'
    '<resource_set id="loc-1" role="Promoted" score="-INFINITY"><resource_ref id="A"/></resource_set>'
    '<resource_set id="loc-2"><resource_ref id="tag1"/><resource_ref id="tpl"/></resource_set>'
    "</rsc_location>"
    '<rsc_colocation id="col" score="INFINITY" influence="false">'
    '<resource_set id="col-1" sequential="false" role="Started"><resource_ref id="A"/>'
    '<resource_ref id="B"/></resource_set>'
    '<resource_set id="col-2" ordering="listed" score="50"><resource_ref id="C"/></resource_set>'
    "</rsc_colocation>"
    '<rsc_order id="ord" kind="Optional" symmetrical="false">'
    '<resource_set id="ord-1" require-all="false" sequential="true" action="promote" kind="Mandatory">'
    '<resource_ref id="A"/><resource_ref id="B"/></resource_set>'
    '<resource_set id="ord-2"><resource_ref id="D"/></resource_set>'
    "</rsc_order>"
)


def test_sets_are_read_with_every_attribute_and_references_as_written() -> None:
    config, warnings = config_of(ALL_KINDS)
    assert warnings == []
    assert config.locations == (Location(id="loc", rsc="", node="n1", score=100, sets=(
        ResourceSet(id="loc-1", resources=("A",), role="Promoted", score=-1_000_000),
        ResourceSet(id="loc-2", resources=("tag1", "tpl")),
    )),)
    assert config.colocations == (Colocation(id="col", rsc="", with_rsc="", score=1_000_000, influence=False,
                                             sets=(
        ResourceSet(id="col-1", resources=("A", "B"), sequential=False, role="Started"),
        ResourceSet(id="col-2", resources=("C",), ordering="listed", score=50),
    )),)
    assert config.orders == (Order(id="ord", first="", then="", kind="Optional", symmetrical=False, sets=(
        ResourceSet(id="ord-1", resources=("A", "B"), sequential=True, require_all=False, action="promote",
                    kind="Mandatory"),
        ResourceSet(id="ord-2", resources=("D",)),
    )),)
    assert config.set_members(config.locations[0].sets[1]) == ("C", "D", "E", "F")


def test_a_cib_with_sets_reads_back_the_same_after_a_dump() -> None:
    cluster, _ = load_cib(cib(ALL_KINDS))
    again, warnings = load_cib(dump_cib(cluster))
    assert warnings == []
    assert again.config == cluster.config


def test_yaml_sets_translate_to_the_same_constraints_and_dump_back() -> None:
    # YAML has no templates.
    config, _ = config_of(ALL_KINDS.replace('<resource_ref id="tpl"/>', ""), template=False)
    text = dump_yaml_config(config)
    assert "sets:" in text and "first:" not in text
    again, _ = load_yaml_config(text, name="dump.yaml")
    assert again == config


def test_yaml_sets_get_crmsh_ids_by_default() -> None:
    text = textwrap.dedent("""\
        resources:
          - {id: A, agent: "ocf:pacemaker:Dummy"}
          - {id: B, agent: "ocf:pacemaker:Dummy"}
        constraints:
          - order: stack
            sets:
              - resources: [A]
              - {resources: [B], require-all: false, sequential: false}
        """)
    config, _ = load_yaml_config(text, name="test.yaml")
    assert config.orders[0].sets == (
        ResourceSet(id="stack-0", resources=("A",)),
        ResourceSet(id="stack-1", resources=("B",), sequential=False, require_all=False),
    )


@pytest.mark.parametrize(("constraint", "message"), [
    ('<rsc_order id="o" first="A" then="B"><resource_set id="s"><resource_ref id="A"/></resource_set>'
     "</rsc_order>",
     "<rsc_order> names its resources by first/then or by <resource_set> elements, not both: remove 'first'"),
    ('<rsc_location id="l" rsc="A" node="n1" score="1"><resource_set id="s"><resource_ref id="A"/>'
     "</resource_set></rsc_location>", "names its resources by rsc/rsc-pattern or by <resource_set>"),
    ('<rsc_colocation id="c" score="1"><resource_set id="s"><resource_ref id="ghost"/></resource_set>'
     "</rsc_colocation>", "id 'ghost' does not name any resource"),
    ('<rsc_colocation id="c" score="1"><resource_set id="s"/></rsc_colocation>',
     "a <resource_set> needs at least one <resource_ref id=...>"),
    ('<rsc_order id="o"><resource_set id="s" action="restart"><resource_ref id="A"/></resource_set>'
     "</rsc_order>", "invalid action 'restart': use start, stop, promote, demote"),
    ('<rsc_colocation id="c" score="1"><resource_set id="s" role="Leader"><resource_ref id="A"/>'
     "</resource_set></rsc_colocation>", "invalid role 'Leader'"),
    ('<rsc_order id="o"><resource_set id="s" sequential="maybe"><resource_ref id="A"/></resource_set>'
     "</rsc_order>", "invalid sequential 'maybe': use true or false"),
    ('<rsc_colocation id="c" score="1"><resource_set id="s" ordering="random"><resource_ref id="A"/>'
     "</resource_set></rsc_colocation>", "invalid ordering 'random': use group, listed"),
    ('<rsc_order id="o"><resource_set id-ref="nowhere"/></rsc_order>', "id-ref 'nowhere' does not match"),
])
def test_bad_sets_are_problems_that_say_where_and_how_to_fix(constraint: str, message: str) -> None:
    problems = problems_of(constraint)
    assert len(problems) == 1, problems
    assert message in problems[0].message
    assert problems[0].where.startswith("test.xml:")


def test_attributes_that_mean_nothing_in_a_kind_of_set_are_warned_about() -> None:
    _, warnings = config_of(
        '<rsc_colocation id="c" score="1" node-attribute="rack"><resource_set id="s" action="start">'
        '<resource_ref id="A"/></resource_set></rsc_colocation>'
        '<rsc_order id="o" first-action="stop"><resource_set id="t" ordering="listed">'
        '<resource_ref id="A"/></resource_set></rsc_order>'
    )
    assert any("'action' has no effect in a colocation set (only in an order set)" in w for w in warnings)
    assert any("'ordering' has no effect in an order set" in w for w in warnings)
    assert any("'node-attribute' has no effect on a colocation of resource sets" in w for w in warnings)
    assert any("'first-action' has no effect on an order of resource sets" in w for w in warnings)


@pytest.mark.parametrize(("constraint", "message"), [
    ("- {order: o, first: A, sets: [{resources: [A]}]}\n", "has 'first' and 'sets': keep one of them"),
    ("- {colocation: c, score: 1}\n", "needs 'resource': the id of a resource (or 'sets')"),
    ("- {location: l, resource: A, node: n1, score: 1, sets: [{resources: [A]}]}\n",
     "has 'resource' and 'sets': keep one of them"),
    ("- {order: o, sets: [{role: Started}]}\n", "needs 'resources': a list of resource ids"),
    ("- {order: o, sets: [{resources: [A], colour: red}]}\n", "colour"),
])
def test_bad_yaml_sets_are_problems(constraint: str, message: str) -> None:
    text = "resources:\n  - {id: A, agent: \"ocf:pacemaker:Dummy\"}\nconstraints:\n" + \
        textwrap.indent(constraint, "  ")
    with pytest.raises(InputError) as caught:
        load_yaml_config(text, name="test.yaml")
    assert any(message in problem.message for problem in caught.value.problems), caught.value.problems


# -- what the scheduler makes of them -------------------------------------------------------------


def test_a_location_of_sets_is_one_location_per_member_with_the_set_score_and_role() -> None:
    config, _ = config_of(ALL_KINDS)
    assert [(loc.rsc, loc.score, loc.role) for loc in plain_locations(config)] == [
        ("A", -1_000_000, "Promoted"), ("C", 100, None), ("D", 100, None), ("E", 100, None), ("F", 100, None),
    ]


def test_a_colocation_of_sets_chains_each_set_and_puts_the_earlier_set_with_the_later() -> None:
    config, _ = config_of(
        '<rsc_colocation id="c" score="INFINITY">'
        '<resource_set id="s1"><resource_ref id="A"/><resource_ref id="B"/></resource_set>'
        '<resource_set id="s2" sequential="false"><resource_ref id="C"/><resource_ref id="D"/></resource_set>'
        "</rsc_colocation>"
        '<rsc_colocation id="apart" score="-INFINITY">'
        '<resource_set id="s3"><resource_ref id="A"/><resource_ref id="B"/>'
        '<resource_ref id="C"/></resource_set>'
        "</rsc_colocation>"
    )
    assert [(c.id, c.rsc, c.with_rsc) for c in plain_colocations(config)] == [
        ("s1", "B", "A"),                    # each with the previous one
        ("c", "A", "C"), ("c", "A", "D"),    # the first of set 1 with each of set 2
        ("s3", "B", "A"), ("s3", "C", "A"), ("s3", "C", "B"),  # apart from every earlier one
    ]


def test_an_order_of_sets_chains_sequential_sets_and_goes_through_a_one_or_more_point() -> None:
    config, _ = config_of(
        '<rsc_order id="o">'
        '<resource_set id="s1"><resource_ref id="A"/><resource_ref id="B"/></resource_set>'
        '<resource_set id="s2" sequential="false" require-all="false"><resource_ref id="C"/>'
        '<resource_ref id="D"/></resource_set>'
        '<resource_set id="s3"><resource_ref id="E"/></resource_set>'
        "</rsc_order>"
    )
    steps = set_orderings(config, config.orders[0])
    assert SetOrdering("A", "start", "B", "start", "Mandatory", "symmetric") in steps
    assert SetOrdering("B", "stop", "A", "stop", "Mandatory", "inverse") in steps
    # Between two sets not written sequential="true": every pair.
    assert SetOrdering("A", "start", "C", "start", "Mandatory", "symmetric") in steps
    assert SetOrdering("B", "start", "D", "start", "Mandatory", "symmetric") in steps
    point = "one-or-more:s2"
    assert SetOrdering("C", "start", None, "start", "Mandatory", "symmetric", point) in steps
    assert SetOrdering(None, "start", "E", "start", "Mandatory", "symmetric", point) in steps
    # Going down, E stops before each of C and D: any one is enough only to go up.
    assert SetOrdering("E", "stop", "C", "stop", "Mandatory", "inverse") in steps


SHARED = (
    '<rsc_order id="o"><resource_set id="shared"><resource_ref id="A"/><resource_ref id="B"/></resource_set>'
    '<resource_set id="last"><resource_ref id="C"/></resource_set></rsc_order>'
    '<rsc_colocation id="c" score="INFINITY"><resource_set id-ref="shared"/></rsc_colocation>'
)


def test_a_set_shared_through_id_ref_is_read_in_both_and_written_once_then_referred_to() -> None:
    cluster, warnings = load_cib(cib(SHARED))
    assert warnings == []
    assert cluster.config.colocations[0].sets == cluster.config.orders[0].sets[:1]
    dumped = dump_cib(cluster)
    assert dumped.count(b'<resource_set id="shared"') == 1 and b'id-ref="shared"' in dumped
    again, _ = load_cib(dumped)
    assert again.config == cluster.config
    with pytest.raises(NotExpressibleInYaml, match="shared through id-ref"):
        dump_yaml_config(cluster.config)


def test_a_location_of_sets_on_a_node_may_take_its_score_from_every_set() -> None:
    config, _ = config_of('<rsc_location id="l" node="n1"><resource_set id="s" score="-INFINITY">'
                          '<resource_ref id="A"/></resource_set></rsc_location>')
    assert [(loc.rsc, loc.node, loc.score) for loc in plain_locations(config)] == [("A", "n1", -1_000_000)]
    problems = problems_of('<rsc_location id="l" node="n1"><resource_set id="s"><resource_ref id="A"/>'
                           "</resource_set></rsc_location>")
    assert ["a location with 'node' needs a 'score'" in problem.message for problem in problems] == [True]
