"""The packages form layers, and every import points down.

The layers are declared here, once, from the lowest up.  A package may import
only packages of lower layers (never one of its own layer, never a higher
one), so there is no cycle between packages and each can be read and tested
with only what lies below it.  Outside the scheduler, only its public
interface (``vigil.scheduler``) is imported, never one of its stage modules.
The source is read (AST), nothing is imported; imports under
``if TYPE_CHECKING:`` count too, since they are arrows a reader follows.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "vigil"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors",),
    ("model",),                       # the domain vocabulary
    ("formats",),                     # CIB XML and YAML, both directions
    ("scheduler",),                   # schedule(): pure
    ("executor", "store"),            # agents; the store contract and its backends
    ("fencing", "events", "testing"),  # fence agents; alerts; shipped fakes and generators
    ("output",),                      # what people and programs are shown
    ("admin",),                       # the operator's commands over a store
    ("api",),                         # the REST API over admin
    ("controller",),                  # the loop: the one place where time and side effects meet
    ("simulator",),                   # vigil simulate: the controller's runner over a memory store
    ("daemon",),                      # vigil run: wires controller, api, store, executor
    ("cli",),                         # the vigil command
)
TOP_LEVEL_MODULES = frozenset({"__init__.py", "__main__.py", "errors.py"})
RANK = {package: rank for rank, layer in enumerate(LAYERS) for package in layer}


def package_of(path: Path) -> str:
    return path.relative_to(SRC).parts[0].removesuffix(".py")


def vigil_imports(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) for every ``vigil.*`` module the source imports."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names if alias.name.startswith("vigil."))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.startswith("vigil."):
                found.append((node.lineno, node.module))
            elif node.module == "vigil":
                found.extend((node.lineno, f"vigil.{alias.name}") for alias in node.names)
    return found


def backward_imports(source: str, importer: str, where: str) -> list[str]:
    """What in one module's source breaks the layering, as readable lines."""
    problems: list[str] = []
    for line, module in vigil_imports(ast.parse(source)):
        target = module.split(".")[1]
        if target == importer or target not in RANK:
            continue
        if RANK[target] >= RANK[importer]:
            relation = "its own layer" if RANK[target] == RANK[importer] else "a higher layer"
            problems.append(f"{where}:{line}: {importer} imports {module} ({relation})")
        if target == "scheduler" and module != "vigil.scheduler":
            problems.append(f"{where}:{line}: {importer} imports {module}, a stage of the scheduler: "
                            "import what it needs from vigil.scheduler")
    return problems


def test_every_package_has_a_layer_and_nothing_else_sits_at_the_top() -> None:
    packages = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert sorted(packages - RANK.keys()) == [], "declare the new package's layer in LAYERS"
    modules = {p.name for p in SRC.glob("*.py")}
    assert sorted(modules - TOP_LEVEL_MODULES) == [], "a module at the top of vigil belongs in a package"


def test_every_import_points_down() -> None:
    problems: list[str] = []
    for path in sorted(SRC.rglob("*.py")):
        importer = package_of(path)
        if importer not in RANK:
            continue
        problems += backward_imports(path.read_text(), importer, str(path.relative_to(SRC.parent)))
    assert not problems, "imports that point up or sideways:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("source", "importer", "expected"),
    [
        ("from vigil.daemon.main import Daemon", "admin", "admin imports vigil.daemon.main (a higher layer)"),
        ("import vigil.store.base", "executor", "executor imports vigil.store.base (its own layer)"),
        ("from vigil.scheduler.digests import digest", "controller",
         "controller imports vigil.scheduler.digests, a stage of the scheduler"),
        ("from vigil import cli", "model", "model imports vigil.cli (a higher layer)"),
    ],
)
def test_the_check_finds_a_backward_import(source: str, importer: str, expected: str) -> None:
    assert any(expected in problem for problem in backward_imports(source, importer, "x.py"))


def test_the_check_allows_imports_that_point_down() -> None:
    source = ("from vigil.model.config import Config\nfrom vigil.scheduler import schedule\n"
              "import vigil.errors\n")
    assert backward_imports(source, "controller", "x.py") == []
