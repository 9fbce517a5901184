"""Taking in a configuration: parse it, check it against this node, install it.

A configuration is checked in full before it is stored, so a bad file is
rejected with every problem named and the running configuration untouched:
the parser reports syntax, types, dangling references and duplicate ids
with their lines; :func:`check_for_node` adds what only this node can tell
(is this node one of the configured nodes, can the store hold that many
nodes, is each agent of a class vigil runs).  What concerns one resource on
one node is a warning, never a refusal, as in Pacemaker: an agent that is
not installed here (or whose meta-data fails) leaves that resource failed
"not installed" on this node while everything else runs, and a parameter
value that does not fit its declared type is the agent's to judge.

A configuration that replaces a stored one is also held against it: a file
naming no nodes never replaces a cluster of several (:func:`check_replacement`,
every load goes through it), and a node starting with ``--config`` on a
cluster store never replaces the cluster's configuration with its own file
(:func:`check_start_file`): only ``vigil config load`` replaces it, on purpose.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from vigil.errors import InputError, Problem
from vigil.events.exhausted import POLICIES, POLICY_META
from vigil.executor.executor import Executor
from vigil.executor.metadata import AgentMetadata, type_mismatches
from vigil.executor.request import AgentSpec
from vigil.formats.config_file import load_config_data, load_config_file
from vigil.model.config import Clone, Config, Group, Node, Primitive, Resource
from vigil.model.names import agent_name_problem
from vigil.store.base import RevisionConflict, Store

SUPPORTED_CLASSES = ("ocf", "lsb", "systemd", "service", "stonith")


def parse_config(data: bytes, name: str) -> tuple[Config, list[str]]:
    """A configuration from its text, CIB XML or YAML; raises :class:`InputError` listing every problem."""
    return load_config_data(data, name)


def read_config_file(path: Path) -> tuple[Config, list[str]]:
    return load_config_file(path)


def with_node(config: Config, node: str) -> Config:
    """The configuration with this node in it: a configuration that names no node gets this one."""
    if config.nodes:
        return config
    return replace(config, nodes=(Node(id=node, uname=node),))


@dataclass(frozen=True)
class Findings:
    """What checking a configuration found: problems refuse it; warnings are shown and it goes in."""

    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


async def check_for_node(config: Config, node: str, executor: Executor, *, multi_node: bool) -> Findings:
    """What stops ``config`` from running on ``node`` with this store (none: it can), and what to warn of."""
    agents = await check_agents(config, executor)
    problems = check_nodes(config, node, multi_node=multi_node) + check_policies(config) + agents.problems
    return Findings(problems, agents.warnings)


def check_nodes(config: Config, node: str | None, *, multi_node: bool) -> list[Problem]:
    """Is ``node`` (when given) among the configured nodes, and can the store hold them all?"""
    problems: list[Problem] = []
    names = [n.uname for n in config.nodes]
    if node is not None and names and node not in names:
        problems.append(Problem("nodes", f"this node {node!r} is not among the configured nodes "
                                         f"({', '.join(names)}): add it, or start vigil with --node NAME"))
    if len(names) > 1 and not multi_node:
        problems.append(Problem("nodes", f"{len(names)} nodes are configured ({', '.join(names)}), but the "
                                         "SQLite store keeps a cluster on one machine only; configure one "
                                         "node (a cluster of several nodes needs the etcd store)"))
    return problems


async def check_agents(config: Config, executor: Executor) -> Findings:
    """Is every primitive's agent one vigil can run, and does it fit on this node?

    Refused (wrong on every node): a class vigil does not run, an agent name
    that is not a plain name.  Warned of (this node's, or the agent's, own
    business): an agent not installed here or whose meta-data fails (the
    executor then answers its probe "not installed", rc 5, and the scheduler
    keeps the resource off this node, as Pacemaker does; on many machines an
    agent installed on some nodes only is normal), and a parameter value not
    of the type the meta-data declares (:func:`~vigil.executor.metadata.type_mismatches`).
    """
    problems: list[Problem] = []
    warnings: list[str] = []
    fetched: dict[str, AgentMetadata | str] = {}
    for prim in config.primitives():
        where = f"resource {prim.id}"
        if prim.cls not in SUPPORTED_CLASSES:
            problems.append(Problem(where, f"agent class {prim.cls!r} ({prim.agent}) is not supported yet; "
                                           f"vigil runs {', '.join(SUPPORTED_CLASSES)} agents"))
            continue
        name_problem = _agent_name_problem(prim)
        if name_problem is not None:
            # Never looked up, let alone run for its meta-data.
            problems.append(Problem(where, name_problem))
            continue
        if prim.agent not in fetched:
            fetch = await executor.fetch_metadata(AgentSpec(prim.cls, prim.type, prim.provider))
            fetched[prim.agent] = fetch.metadata if fetch.metadata is not None else fetch.error
        found = fetched[prim.agent]
        if isinstance(found, str):
            warnings.append(f"{where}: agent {prim.agent} cannot be used on this node: {found}; the "
                            "resource will be failed here (not installed) and run where the agent works")
            continue
        warnings.extend(f"{where}: {mismatch}" for mismatch in _param_mismatches(prim, found))
    return Findings(problems, warnings)


def _param_mismatches(prim: Primitive, metadata: AgentMetadata) -> list[str]:
    """Every configured value (of every instance attribute set) not of its declared type, once each."""
    found: list[str] = []
    for nvset in prim.params:
        for name, value in nvset.values:
            found.extend(m for m in type_mismatches(metadata, {name: value}) if m not in found)
    return found


def _agent_name_problem(prim: Primitive) -> str | None:
    """Why the agent's provider or type is not a plain name (a CIB may name a path), or None."""
    parts = [("provider", prim.provider)] if prim.cls == "ocf" else []
    parts.append(("type", prim.type))
    found = (agent_name_problem(prim.agent, part, value) for part, value in parts if value is not None)
    return next(filter(None, found), None)


def check_policies(config: Config) -> list[Problem]:
    """An ``on-recovery-exhausted`` that is not one of the policies, on any resource."""
    problems: list[Problem] = []
    pending: list[Resource] = list(config.resources)
    while pending:
        resource = pending.pop(0)
        for nvset in resource.meta:
            for name, value in nvset.values:
                if name == POLICY_META and value.strip().lower() not in POLICIES:
                    problems.append(Problem(f"resource {resource.id}", f"{POLICY_META}={value!r}: use one of "
                                                                       f"{', '.join(POLICIES)}"))
        if isinstance(resource, Group):
            pending.extend(resource.members)
        elif isinstance(resource, Clone):
            pending.append(resource.child)
    return problems


# What a configuration about to be stored is held against: the stored one, when there is one.
Agreement = Callable[[Config], list[Problem]]


async def install(store: Store, config: Config, attempts: int = 3, *,
                  agrees: Agreement | None = None) -> bool:
    """Store ``config`` unless it is already the stored one; whether it changed anything.

    Compare-and-set against the revision just read, read again if a command
    changed the configuration in between; the last conflict is raised (a
    :class:`StoreError` with a clear message).  ``agrees``, when given, is
    asked about the configuration already stored (none is asked about an
    empty store): what it finds is raised as :class:`InputError` and nothing
    is written.  It is asked inside the loop, so that of two nodes starting
    at once on an empty store the second is held against the first's file.
    """
    for attempt in range(attempts):
        current, revision = await store.get_config()
        if current == config:
            return False
        problems = agrees(current) if agrees is not None and revision > 0 else []
        if problems:
            raise InputError(problems)
        try:
            await store.put_config(config, revision)
        except RevisionConflict:
            if attempt == attempts - 1:
                raise
            continue
        return True
    return False


# -- replacing a stored configuration --------------------------------------------------------


def check_replacement(old: Config, new: Config, where: str) -> list[Problem]:
    """What forbids ``new`` (as parsed, before :func:`with_node`) from replacing ``old``.

    A file naming no nodes is given the loading node (:func:`with_node`):
    loaded into a cluster of several nodes it would leave that one node
    configured, and the other nodes' resources would be started on it.
    Every load (``vigil config load``, the API, ``vigil run --config``)
    asks this one function.
    """
    names = [node.uname for node in old.nodes]
    if new.nodes or len(names) < 2:
        return []
    return [Problem(where, f"names no nodes, but the cluster's configuration has {len(names)} "
                           f"({', '.join(names)}): list them in the file's nodes section; without them "
                           "only the loading node would stay configured and the others' resources would "
                           "be started on it")]


def check_start_file(stored: Config, loaded: Config, node: str, where: str) -> list[Problem]:
    """What forbids ``vigil run --config`` from installing ``loaded`` over a cluster's ``stored`` one.

    Nodes of one cluster may start with different files; the last one must
    not silently replace what the others run.  So the file goes in only when
    it says what is stored (compared as parsed, after :func:`with_node`), or
    that plus this node when the stored configuration does not list it yet:
    that is how a node joins.  Anything else is refused, pointing to ``vigil
    config load``, the deliberate replacement.
    """
    problems = check_replacement(stored, loaded, where)
    if problems:
        return problems
    wanted = with_node(loaded, node)
    if wanted == stored or is_join(stored, wanted, node):
        return []
    summary = "; ".join(config_differences(stored, wanted))
    if any(n.uname == node for n in stored.nodes):
        instead = "start without --config to run the cluster's configuration"
    else:
        instead = f"to join, make the file the cluster's configuration (`vigil config show`) plus node {node}"
    return [Problem(where, f"differs from the running cluster's configuration ({summary}): {instead}, "
                           f"or replace it on purpose with `vigil config load {where}`")]


def agrees_with_file(loaded: Config, node: str, source: str) -> Agreement:
    """:func:`check_start_file` for this file and node, as :func:`install` asks it."""

    def agrees(stored: Config) -> list[Problem]:
        return check_start_file(stored, loaded, node, source)

    return agrees


def is_join(stored: Config, wanted: Config, node: str) -> bool:
    """Is ``wanted`` the stored configuration plus ``node``, which it does not list yet?"""
    if any(n.uname == node for n in stored.nodes):
        return False
    others = tuple(n for n in wanted.nodes if n.uname != node)
    return len(others) == len(wanted.nodes) - 1 and replace(wanted, nodes=others) == stored


class _Identified(Protocol):
    @property
    def id(self) -> str: ...


Section = tuple[str, Callable[[Config], Sequence[_Identified]], Callable[[_Identified], str]]


def _by_id(item: _Identified) -> str:
    return item.id


def _by_name(item: _Identified) -> str:
    return item.uname if isinstance(item, Node) else item.id


# Every compared field of Config, as a user names it (a test keeps this list complete).
SECTIONS: tuple[Section, ...] = (
    ("nodes", lambda c: c.nodes, _by_name),
    ("resources", lambda c: c.resources, _by_id),
    ("resource templates", lambda c: c.templates, _by_id),
    ("location constraints", lambda c: c.locations, _by_id),
    ("colocation constraints", lambda c: c.colocations, _by_id),
    ("order constraints", lambda c: c.orders, _by_id),
    ("ticket constraints", lambda c: c.rsc_tickets, _by_id),
    ("tags", lambda c: c.tags, _by_id),
    ("fencing levels", lambda c: c.fencing_levels, _by_id),
    ("alerts", lambda c: c.alerts, _by_id),
    ("cluster options", lambda c: c.options, _by_id),
    ("resource defaults", lambda c: c.rsc_defaults, _by_id),
    ("operation defaults", lambda c: c.op_defaults, _by_id),
)


def config_differences(old: Config, new: Config) -> list[str]:
    """What differs from ``old`` to ``new``, one line per section, by id (nodes by name)."""
    found: list[str] = []
    for label, items, key in SECTIONS:
        before, after = items(old), items(new)
        if before != after:
            found.append(f"{label} {_changes(before, after, key)}")
    if not found and old != new:
        found.append("the configurations differ")
    return found


def _changes(before: Sequence[_Identified], after: Sequence[_Identified],
             key: Callable[[_Identified], str]) -> str:
    """``added x; removed y; changed z`` (``reordered`` when only the order differs)."""
    old = {key(item): item for item in before}
    new = {key(item): item for item in after}
    kinds = (("added", [k for k in new if k not in old]),
             ("removed", [k for k in old if k not in new]),
             ("changed", [k for k in new if k in old and new[k] != old[k]]))
    parts = [f"{word} {', '.join(keys)}" for word, keys in kinds if keys]
    return "; ".join(parts) or "reordered"
