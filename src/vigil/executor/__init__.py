"""The executor: runs OCF and LSB agents' actions exactly as Pacemaker does.

It knows agent classes and nothing of scheduling: its input is an
:class:`ActionRequest` (which agent, which action, parameters, meta, timeout),
its output an :class:`ActionResult` with the agent's exit code and the
execution status kept apart (both in :mod:`vigil.model.results`).  See docs/executor.md.
"""

from vigil.executor.executor import Executor, InstalledAgents, MetadataFetch
from vigil.executor.metadata import AgentMetadata, MetadataError, check_params, parse_metadata
from vigil.executor.process import ProcessResult, Spawner
from vigil.executor.request import ActionRequest, AgentSpec
from vigil.executor.results import ActionResult, Recovery, recovery_class

__all__ = [
    "ActionRequest",
    "ActionResult",
    "AgentMetadata",
    "AgentSpec",
    "Executor",
    "InstalledAgents",
    "MetadataError",
    "MetadataFetch",
    "ProcessResult",
    "Recovery",
    "Spawner",
    "check_params",
    "parse_metadata",
    "recovery_class",
]
