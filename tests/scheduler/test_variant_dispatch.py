"""The stages ask a resource's variant, never its type.

What differs between a primitive, a group and a clone is said once, in that
variant's module (``vigil.scheduler.variants``), the way Pacemaker's
resources carry a table of assignment methods.  A stage that writes
``isinstance(rsc, WorkGroup)`` instead grows a second place where a kind of
resource is described, and the next variant (promotable clones, bundles)
would have to be added there too.  This test reads the source (AST, nothing
is imported) of every scheduler module outside the variants and fails on an
``isinstance`` against a working resource type; an ``assert isinstance``
only narrows a type for the checker and is allowed.
"""

from __future__ import annotations

import ast
from pathlib import Path

SCHEDULER = Path(__file__).resolve().parents[2] / "src" / "vigil" / "scheduler"
VARIANTS = SCHEDULER / "variants"
RESOURCE_TYPES = frozenset({"WorkPrimitive", "WorkGroup", "WorkClone", "WorkResource", "Instance"})


def _names(node: ast.expr) -> set[str]:
    """The type names an isinstance class argument mentions (``A``, ``A | B``, ``(A, B)``)."""
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _kind_checks(source: str) -> list[int]:
    """Lines of ``isinstance(x, <working resource type>)`` outside asserts."""
    tree = ast.parse(source)
    in_asserts = {id(n) for a in ast.walk(tree) if isinstance(a, ast.Assert) for n in ast.walk(a)}
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "isinstance"
        and len(node.args) == 2
        and _names(node.args[1]) & RESOURCE_TYPES
        and id(node) not in in_asserts
    ]


def test_no_stage_module_asks_what_kind_of_resource_it_has() -> None:
    found = [
        f"{path.relative_to(SCHEDULER)}:{line}"
        for path in sorted(SCHEDULER.rglob("*.py"))
        if VARIANTS not in path.parents
        for line in _kind_checks(path.read_text())
    ]
    assert found == [], "ask rsc.variant instead: " + ", ".join(found)


def test_the_check_sees_a_kind_dispatch_and_lets_an_assert_through() -> None:
    source = (
        "def f(rsc):\n"
        "    assert isinstance(rsc, WorkPrimitive)\n"
        "    if isinstance(rsc, WorkGroup | WorkClone):\n"
        "        return 1\n"
        "    return isinstance(rsc, (str, int))\n"
    )
    assert _kind_checks(source) == [3]
