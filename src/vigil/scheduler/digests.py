"""Operation digests: has a resource's definition changed since it ran?

Recomputing a recorded operation's digest (:mod:`vigil.model.digests`) from
the current configuration and comparing tells the scheduler whether a
running resource must be restarted (or reloaded) because its definition
changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from vigil.model.config import Op
from vigil.model.digests import definition_params, digest, is_fence_param, operation_timeout_ms
from vigil.model.nvsets import resolve_nvsets
from vigil.model.rule_eval import RuleContext
from vigil.model.status import OpRecord
from vigil.scheduler.unpack_resources import find_op
from vigil.scheduler.working import Work
from vigil.scheduler.working_resources import WorkPrimitive


def resource_params(work: Work, rsc: WorkPrimitive, node: str) -> dict[str, str]:
    """Instance attributes as they apply on ``node`` (rules evaluated there;
    without rules they are the same everywhere, as unpacked)."""
    if all(nvset.rule is None for nvset in rsc.prim.params):
        return rsc.params
    ctx = RuleContext(now=work.now, node_attrs=work.nodes[node].attrs, rsc_class=rsc.prim.cls,
                      rsc_provider=rsc.prim.provider, rsc_type=rsc.prim.type)
    return resolve_nvsets(rsc.prim.params, ctx)


def op_timeout_ms(work: Work, rsc: WorkPrimitive, op: Op | None, task: str, interval_ms: int) -> int:
    return operation_timeout_ms(work.cluster.config, rsc.prim, op, task, interval_ms, work.now)


# A bundle connection configured with this address reaches its container through
# the node the container runs on (Pacemaker's REMOTE_CONTAINER_HACK).
BUNDLE_HOST_ADDRESS = "#uname"


def needs_bundle_address(rsc: WorkPrimitive) -> bool:
    """Whether ``rsc`` is a bundle connection whose address is its container's node:
    its recorded digests hold that node, known only once the container is placed."""
    return (rsc.bundle_id is not None and rsc.is_remote_connection
            and rsc.params.get("addr", "").lower() == BUNDLE_HOST_ADDRESS.lower())


def bundle_connection_address(work: Work, rsc: WorkPrimitive) -> str | None:
    """The node standing for ``#uname`` in a bundle connection's address: where its
    container is placed, else where it runs now (None: neither, or not such a connection)."""
    container = rsc.container
    if not needs_bundle_address(rsc) or container is None:
        return None
    return container.assigned or work.current_node(container)


@dataclass(frozen=True)
class Digests:
    all: str  # every parameter
    restart: str  # the parameters that need a restart to change
    secure: str  # every parameter but the secret ones
    has_op_params: bool  # the operation has instance attributes of its own


@lru_cache(maxsize=64)
def _version(text: str | None) -> tuple[int, ...]:
    parts = []
    for piece in (text or "0").split("."):
        parts.append(int(piece) if piece.isdigit() else 0)
    return tuple(parts)


def expected_digests(work: Work, rsc: WorkPrimitive, node: str, task: str, interval_ms: int,
                     op: Op | None, record: OpRecord) -> Digests:
    """The digests ``record`` should carry if the definition had not changed.

    The recorded list of non-reloadable parameters (``op-force-restart``)
    narrows the restart digest; the recorded list of secret parameters
    (``op-secure-params``) is left out of the secure digest.
    """
    base = dict(resource_params(work, rsc, node))
    op_params = dict(op.params) if op is not None else {}
    defined = base
    address = bundle_connection_address(work, rsc)
    if address is not None:
        # Every digest but the old secure one was taken with the real address.
        defined = {**base, "addr": address}
    params = definition_params(defined, op, interval_ms, op_timeout_ms(work, rsc, op, task, interval_ms))
    restart_params = params
    if record.op_force_restart is not None:
        wanted = set(record.op_force_restart.split())
        restart_params = {k: v for k, v in params.items() if k in wanted}
    old_version = _version(record.crm_feature_set) < (3, 16, 0)
    secure = dict(base) if old_version else dict(params)
    secret = set((record.op_secure_params or " passwd password user ").split())
    secure = {k: v for k, v in secure.items() if k not in secret}
    if old_version:
        if rsc.prim.cls == "stonith":
            secure = {k: v for k, v in secure.items() if not is_fence_param(k)}
        secure.pop("CRM_meta_timeout", None)
    # Usually nothing is left out and the three texts are one: hash it once.
    all_digest = digest(params)
    restart_digest = all_digest if restart_params == params else digest(restart_params)
    secure_digest = all_digest if secure == params else digest(secure)
    return Digests(all_digest, restart_digest, secure_digest, bool(op_params))


def compare_digests(work: Work, rsc: WorkPrimitive, node: str, record: OpRecord) -> tuple[str, Digests]:
    """How ``record``'s parameters compare with the configuration now.

    One of ``restart`` (a non-reloadable parameter changed), ``unknown`` (no
    digest was recorded), ``all`` (something changed) or ``match``.
    """
    task = record.operation
    if record.interval_ms == 0 and task in ("monitor", "migrate_from", "promote"):
        task = "start"
    config_op = find_op(rsc, task, record.interval_ms)
    calc = expected_digests(work, rsc, node, task, record.interval_ms, config_op, record)
    if record.op_restart_digest is not None and calc.restart != record.op_restart_digest:
        return "restart", calc
    if record.op_digest is None:
        return "unknown", calc
    if record.op_digest != calc.all:
        if record.interval_ms == 0 and calc.has_op_params:
            return "restart", calc
        return "all", calc
    return "match", calc

