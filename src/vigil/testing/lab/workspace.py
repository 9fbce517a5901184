"""The lab's directory, its two agents installed there, and the cluster configuration it runs.

Why the agents are written into the lab's directory rather than installed:
vigil finds OCF agents under ``$OCF_ROOT/resource.d/PROVIDER/`` and fence
agents in ``VIGIL_FENCE_AGENT_DIR`` (default ``/usr/sbin``); the lab points
both at its own directory, so a run needs no root and leaves nothing behind.
Each agent is the text of its module (:mod:`.probe_agent`,
:mod:`.fence_agent`) behind a ``#!`` line naming this Python.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from vigil.testing.cluster import TAG_VARIABLE, VigilNode
from vigil.testing.lab import fence_agent, probe_agent

NODES = ("node1", "node2", "node3")
# Where vigil looks for fence agents (read by vigil.fencing.agent; named here, not imported: the
# testing layer sits beside fencing, not above it).
FENCE_AGENT_DIR_VARIABLE = "VIGIL_FENCE_AGENT_DIR"
PROVIDER = "lab"
PROBE = "Probe"
FENCE_AGENT = "fence_lab"
# Every lab resource's recurring monitor (seconds) and its timeout: a hung monitor is killed then.
MONITOR_INTERVAL_S = 3
MONITOR_TIMEOUT_S = 5
START_STOP_TIMEOUT_S = 10


@dataclass(frozen=True)
class LabPaths:
    """Where a lab run keeps everything (``root`` is ``--workdir``)."""

    root: Path

    @property
    def lab_dir(self) -> Path:
        """The agents' ``lab_dir``: the activity log and the node registry."""
        return self.root / "lab"

    @property
    def activity_log(self) -> Path:
        return self.lab_dir / probe_agent.ACTIVITY_LOG

    @property
    def registry(self) -> Path:
        return self.lab_dir / "nodes"

    @property
    def ocf_root(self) -> Path:
        return self.root / "ocf"

    @property
    def fence_dir(self) -> Path:
        return self.root / "fence-agents"

    @property
    def cluster_dir(self) -> Path:
        return self.root / "cluster"

    @property
    def config_file(self) -> Path:
        return self.root / "cluster.yaml"

    def environment(self) -> dict[str, str]:
        """What the nodes (and the lab's own vigil commands) run with: the lab's two agent directories."""
        env = dict(os.environ)
        env["OCF_ROOT"] = str(self.ocf_root)
        env[FENCE_AGENT_DIR_VARIABLE] = str(self.fence_dir)
        return env


def write_script(path: Path, module_file: str, python: str) -> None:
    """``module_file``'s text as an executable with a ``#!`` line for ``python`` (isolated, no site)."""
    text = Path(module_file).read_text()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!{python} -IS\n{text}")
    path.chmod(0o755)


def install(paths: LabPaths, python: str = sys.executable) -> None:
    """Create the lab's directories and write both agents into them."""
    for directory in (paths.lab_dir, paths.registry, paths.cluster_dir):
        directory.mkdir(parents=True, exist_ok=True)
    paths.activity_log.touch()
    if probe_agent.__file__ is None or fence_agent.__file__ is None:
        raise RuntimeError("the lab's agent modules have no source file to install")
    write_script(paths.ocf_root / "resource.d" / PROVIDER / PROBE, probe_agent.__file__, python)
    write_script(paths.fence_dir / FENCE_AGENT, fence_agent.__file__, python)


@contextlib.contextmanager
def power_lock(paths: LabPaths, name: str) -> Iterator[None]:
    """The node's power switch, held while the lab boots it and while ``fence_lab`` ends it, so a
    fencing never falls between a boot and the registry entry naming the new process."""
    with open(paths.registry / f"{name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def register(paths: LabPaths, node: VigilNode) -> None:
    """Tell the fence agent how to end ``node`` now: its pid, the cluster's tag, its directories.

    Written (atomically) every time the lab starts the node."""
    entry = {"pid": node.pid, "tag_variable": TAG_VARIABLE, "tag": node.tag,
             "tmpdir": str(node.tmp_dir), "rsctmp": str(node.rsc_tmp)}
    temporary = paths.registry / f".{node.name}.json"
    temporary.write_text(json.dumps(entry))
    temporary.replace(paths.registry / f"{node.name}.json")


# -- the configuration ----------------------------------------------------------------------------

# The lab's resources: name -> (kind, the primitives that run it).  Anonymous clones (C, CG) may
# run on every node at once; everything else must never run on two nodes at the same time.
PRIMITIVES = ("A", "B")
GROUP = ("G", ("G1", "G2"))
CLONE = ("C", "Cp")
CLONED_GROUP = ("CG", "CGg", ("CG1", "CG2"))


def clone_primitives() -> frozenset[str]:
    """The primitives that are clone instances (may run on several nodes at once)."""
    return frozenset({CLONE[1], *CLONED_GROUP[2]})


def all_primitives() -> tuple[str, ...]:
    return (*PRIMITIVES, *GROUP[1], CLONE[1], *CLONED_GROUP[2])


def top_level() -> tuple[str, ...]:
    """The resources an operator names: the primitives, the group, the two clones."""
    return (*PRIMITIVES, GROUP[0], CLONE[0], CLONED_GROUP[0])


def _primitive(name: str, paths: LabPaths, indent: str, generation: int, *, listed: bool = True) -> str:
    """One lab primitive in YAML: an item of a list (``- id:``) or a mapping (a clone's resource)."""
    inner = indent + "  " if listed else indent
    return (f"{indent}{'- ' if listed else ''}id: {name}\n"
            f"{inner}agent: ocf:{PROVIDER}:{PROBE}\n"
            f"{inner}params: {{lab_dir: {paths.lab_dir}, generation: '{generation}'}}\n"
            f"{inner}ops:\n"
            f"{inner}  - {{name: monitor, interval: {MONITOR_INTERVAL_S}s, timeout: {MONITOR_TIMEOUT_S}s}}\n"
            f"{inner}  - {{name: start, interval: 0, timeout: {START_STOP_TIMEOUT_S}s}}\n"
            f"{inner}  - {{name: stop, interval: 0, timeout: {START_STOP_TIMEOUT_S}s}}\n")


def configuration(paths: LabPaths, generations: dict[str, int] | None = None, extra: bool = False) -> str:
    """The lab's cluster: primitives, a group, an anonymous clone, a cloned group, a fence_lab per node.

    ``generations``: a primitive's ``generation`` parameter (a change restarts it);
    ``extra``: one more primitive, ``X`` (a configuration change adds or removes it).
    """
    gen = generations or {}
    nodes = "".join(f"  - name: {node}\n" for node in NODES)
    group_name, members = GROUP
    clone_name, clone_child = CLONE
    cg_name, cg_group, cg_members = CLONED_GROUP
    resources = "".join(_primitive(p, paths, "  ", gen.get(p, 0)) for p in PRIMITIVES)
    if extra:
        resources += _primitive("X", paths, "  ", gen.get("X", 0))
    resources += f"  - group: {group_name}\n    members:\n"
    resources += "".join(_primitive(m, paths, "      ", gen.get(m, 0)) for m in members)
    resources += f"  - clone: {clone_name}\n    resource:\n"
    resources += _primitive(clone_child, paths, "      ", gen.get(clone_child, 0), listed=False)
    resources += (f"  - clone: {cg_name}\n    meta: {{interleave: true}}\n    resource:\n"
                  f"      group: {cg_group}\n      members:\n")
    resources += "".join(_primitive(m, paths, "        ", gen.get(m, 0)) for m in cg_members)
    resources += "".join(
        f"  - id: fence-{node}\n    agent: stonith:{FENCE_AGENT}\n"
        f"    params: {{pcmk_host_list: {node}, lab_dir: {paths.lab_dir}}}\n" for node in NODES)
    return f"""\
# The fault lab's cluster (vigil.testing.lab; docs/reliability.md).
options:
  stonith-enabled: true
  no-quorum-policy: stop
  cluster-recheck-interval: 1min
rsc_defaults:
  resource-stickiness: 100
nodes:
{nodes}resources:
{resources}constraints:
  - {{location: A-prefers-node1, resource: A, node: node1, score: 50}}
  - {{location: B-prefers-node2, resource: B, node: node2, score: 50}}
  - {{location: G-prefers-node3, resource: {group_name}, node: node3, score: 50}}
"""
