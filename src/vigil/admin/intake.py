"""Taking in a configuration: parse it, check it against this node, install it.

A configuration is checked in full before it is stored, so a bad file is
rejected with every problem named and the running configuration untouched:
the parser reports syntax, types, dangling references and duplicate ids
with their lines; :func:`check_for_node` adds what only this node can tell
(is each agent installed, is this node one of the configured nodes, can the
store hold that many nodes).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from vigil.errors import Problem
from vigil.events.exhausted import POLICIES, POLICY_META
from vigil.executor.executor import Executor
from vigil.executor.request import AgentSpec
from vigil.formats.config_file import load_config_data, load_config_file
from vigil.model.config import Clone, Config, Group, Node, Primitive, Resource
from vigil.model.names import agent_name_problem
from vigil.store.base import RevisionConflict, Store

SUPPORTED_CLASSES = ("ocf", "lsb", "stonith")


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


async def check_for_node(config: Config, node: str, executor: Executor, *, multi_node: bool) -> list[Problem]:
    """What stops ``config`` from running on ``node`` with this store; empty when it can."""
    return (check_nodes(config, node, multi_node=multi_node) + check_policies(config)
            + await check_agents(config, executor))


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


async def check_agents(config: Config, executor: Executor) -> list[Problem]:
    """Is every primitive's agent of a class vigil runs, installed, and does it give its metadata?"""
    problems: list[Problem] = []
    checked: dict[str, str | None] = {}
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
        if prim.agent not in checked:
            spec = AgentSpec(prim.cls, prim.type, prim.provider)
            fetch = await executor.fetch_metadata(spec)
            checked[prim.agent] = None if fetch.metadata is not None else fetch.error
        error = checked[prim.agent]
        if error is not None:
            problems.append(Problem(where, f"agent {prim.agent} cannot be used: {error}"))
    return problems


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


async def install(store: Store, config: Config, attempts: int = 3) -> bool:
    """Store ``config`` unless it is already the stored one; whether it changed anything.

    Compare-and-set against the revision just read, read again if a command
    changed the configuration in between; the last conflict is raised (a
    :class:`StoreError` with a clear message).
    """
    for attempt in range(attempts):
        current, revision = await store.get_config()
        if current == config:
            return False
        try:
            await store.put_config(config, revision)
        except RevisionConflict:
            if attempt == attempts - 1:
                raise
            continue
        return True
    return False
