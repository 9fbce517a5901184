"""The decision core stays pure: no I/O, no clock, no randomness.

``schedule(cluster, now)`` must be a function of its arguments alone, so that
golden files, the Pacemaker corpus and differential tests can pin it down and
the daemon and the simulator can share it.  Nobody has to remember that rule:
this test reads the source (AST, nothing is imported) of every module of
``vigil.scheduler``, of the model and of the output formats, follows their imports within vigil
transitively, and fails on any reached module that

- imports a module that does I/O, threads or reads the clock or randomness;
- calls the ``open``, ``print``, ``input``, ``eval``, ``exec`` or
  ``__import__`` builtins;
- calls ``datetime.now()``/``utcnow()``/``today()`` or ``date.today()``;
- is a file-format adapter (``vigil.formats``: the CIB XML and YAML
  adapters and the configuration file reader): those read files and belong
  at the edge, reached only from the simulator, the CLI and the daemon.

Imports under ``if TYPE_CHECKING:`` do not run and are not followed.
"""

from __future__ import annotations

import ast
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
# The output formats are pure too: what people and programs are shown is a function of the data.
PURE_PACKAGES = ("vigil.scheduler", "vigil.model", "vigil.output")
# The operator's edits are pure too: the API and the CLI only orchestrate them.
PURE_MODULES = ("vigil.admin.edits", "vigil.admin.tree")
# The file formats: never reached from the decision core.
ADAPTER_PREFIXES = ("vigil.formats",)
FORBIDDEN_MODULES = frozenset(
    {
        "asyncio",
        "concurrent",
        "ftplib",
        "glob",
        "http",
        "importlib",
        "io",
        "logging",
        "lxml",
        "multiprocessing",
        "os",
        "pathlib",
        "random",
        "secrets",
        "select",
        "selectors",
        "shutil",
        "signal",
        "socket",
        "sqlite3",
        "subprocess",
        "sys",
        "tempfile",
        "threading",
        "time",
        "urllib",
        "uuid",
        "yaml",
    }
)
FORBIDDEN_BUILTINS = frozenset({"open", "print", "input", "eval", "exec", "__import__", "breakpoint"})
CLOCK_METHODS = frozenset({"now", "utcnow", "today"})
CLOCK_OWNERS = frozenset({"datetime", "date"})


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    tree: ast.Module


def module_path(name: str) -> Path | None:
    base = SRC.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def load(name: str) -> Module | None:
    path = module_path(name)
    if path is None:
        return None
    return Module(name, path, ast.parse(path.read_text(), filename=str(path)))


def is_type_checking_block(node: ast.AST) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of the tree except what sits under ``if TYPE_CHECKING:``."""
    found: list[ast.AST] = []
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        found.append(node)
        for child in ast.iter_child_nodes(node):
            if is_type_checking_block(child):
                assert isinstance(child, ast.If)
                pending.extend(child.orelse)
            else:
                pending.append(child)
    return found


def resolve_from(module: Module, node: ast.ImportFrom) -> str:
    """The absolute package a ``from ... import`` names."""
    if node.level == 0:
        return node.module or ""
    package = module.name if module.path.name == "__init__.py" else module.name.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def with_parents(name: str) -> list[str]:
    """``a.b.c`` -> ``a``, ``a.b``, ``a.b.c``: importing runs every parent package."""
    parts = name.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def imported_names(module: Module) -> list[str]:
    names: list[str] = []
    for node in runtime_nodes(module.tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = resolve_from(module, node)
            names.append(base)
            # ``from vigil.model import cib`` imports a module, not a name.
            submodules = (f"{base}.{alias.name}" for alias in node.names)
            names.extend(name for name in submodules if module_path(name))
    return names


def impurities(module: Module) -> list[str]:
    """What in this one module breaks the rule, as readable messages."""
    problems: list[str] = []
    if module.name.startswith(ADAPTER_PREFIXES):
        problems.append("is a file-format adapter (reads files)")
    for name in imported_names(module):
        top = name.split(".", 1)[0]
        if top in FORBIDDEN_MODULES:
            problems.append(f"imports {name}")
    for node in runtime_nodes(module.tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in FORBIDDEN_BUILTINS:
            problems.append(f"line {node.lineno}: calls {func.id}()")
        elif (
            isinstance(func, ast.Attribute)
            and func.attr in CLOCK_METHODS
            and isinstance(func.value, ast.Name | ast.Attribute)
            and (func.value.id if isinstance(func.value, ast.Name) else func.value.attr) in CLOCK_OWNERS
        ):
            problems.append(f"line {node.lineno}: reads the clock ({ast.unparse(func)}())")
    return problems


def roots() -> list[str]:
    """Every module of the scheduler, the model and the output formats, and the pure admin modules."""
    names: list[str] = []
    for package in PURE_PACKAGES:
        directory = SRC.joinpath(*package.split("."))
        for path in sorted(directory.rglob("*.py")):
            relative = path.relative_to(SRC).with_suffix("")
            parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
            name = ".".join(parts)
            names.append(name)
    return names + list(PURE_MODULES)


def reachable(start: list[str]) -> dict[str, list[str]]:
    """Every vigil module reached from ``start``, with the chain that reaches it."""
    chains: dict[str, list[str]] = {}
    queue: deque[tuple[str, list[str]]] = deque((name, [name]) for name in start)
    while queue:
        name, chain = queue.popleft()
        if name in chains:
            continue
        module = load(name)
        if module is None:
            continue
        chains[name] = chain
        for imported in imported_names(module):
            for target in with_parents(imported):
                if target.split(".", 1)[0] == "vigil" and target not in chains:
                    queue.append((target, [*chain, target]))
    return chains


def test_scheduler_and_model_reach_nothing_impure() -> None:
    start = roots()
    assert "vigil.scheduler" in start, "the scheduler package is missing"
    chains = reachable(start)
    report: list[str] = []
    for name, chain in sorted(chains.items()):
        module = load(name)
        assert module is not None
        for problem in impurities(module):
            via = f" (via {' -> '.join(chain)})" if len(chain) > 1 else ""
            report.append(f"{name} {problem}{via}")
    assert not report, "the decision core must stay pure:\n" + "\n".join(report)


# --- the checker itself ---------------------------------------------------------


def check_source(source: str, name: str = "vigil.scheduler.example") -> list[str]:
    return impurities(Module(name, SRC / "vigil" / "scheduler" / "example.py", ast.parse(source)))


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import subprocess", "imports subprocess"),
        ("import os.path", "imports os.path"),
        ("from time import monotonic", "imports time"),
        ("from urllib.request import urlopen", "imports urllib.request"),
        ("open('x')", "line 1: calls open()"),
        ("print('decided')", "line 1: calls print()"),
        ("from datetime import datetime\nx = datetime.now()", "line 2: reads the clock (datetime.now())"),
        ("import datetime\nx = datetime.date.today()", "line 2: reads the clock (datetime.date.today())"),
    ],
)
def test_checker_finds(source: str, expected: str) -> None:
    assert expected in check_source(source)


def test_checker_allows_pure_code_and_type_checking_imports() -> None:
    source = (
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "from datetime import UTC, datetime\n"
        "if TYPE_CHECKING:\n"
        "    from pathlib import Path\n"
        "def at(now: int) -> datetime:\n"
        "    return datetime.fromtimestamp(now, tz=UTC)\n"
    )
    assert check_source(source) == []


def test_checker_flags_adapters() -> None:
    assert check_source("", name="vigil.formats.cib.load") == ["is a file-format adapter (reads files)"]
    assert check_source("", name="vigil.formats.config_file") == ["is a file-format adapter (reads files)"]


def test_relative_imports_resolve_within_vigil() -> None:
    module = Module("vigil.scheduler.example", SRC / "vigil" / "scheduler" / "example.py",
                    ast.parse("from ..model import config\nfrom . import working\n"))
    assert sorted(imported_names(module)) == [
        "vigil.model",
        "vigil.model.config",
        "vigil.scheduler",
        "vigil.scheduler.working",
    ]
