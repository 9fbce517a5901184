"""Operation digests: has a resource's definition changed since it ran?

Each recorded operation carries an MD5 digest of the parameters it ran with.
Recomputing that digest from the current configuration and comparing tells
the scheduler whether a running resource must be restarted (or reloaded)
because its definition changed.  The text hashed is Pacemaker's: the
parameters as one XML element, attributes sorted by name, with a leading
space and a trailing newline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from vigil.model.config import Config, Op, Primitive
from vigil.model.isodate import parse_interval_ms
from vigil.model.nvsets import resolve_nvsets
from vigil.model.rule_eval import RuleContext
from vigil.model.status import OpRecord
from vigil.scheduler.unpack_resources import find_op
from vigil.scheduler.working import Work, WRsc

if TYPE_CHECKING:
    from hashlib import md5
else:
    try:
        # CPython's own MD5, which hashlib falls back to without OpenSSL:
        # importing hashlib loads OpenSSL's libcrypto, 3.7 MiB of the 25 MiB
        # a small `vigil simulate` needs in all (and this is faster for short
        # texts).
        from _md5 import md5
    except ImportError:  # a Python built without it
        from hashlib import md5

DEFAULT_TIMEOUT_MS = 20000


def params_xml(params: dict[str, str]) -> str:
    attrs = "".join(f" {name}={_quote(value)}" for name, value in sorted(params.items()))
    return f"<parameters{attrs}/>"


def _quote(value: str) -> str:
    """``value`` as a double-quoted attribute, escaped the way these digests
    have always been computed (``xml.sax.saxutils.quoteattr``, forced to
    double quotes: a value with a double quote and no single quote keeps its
    whitespace unescaped).  Written out here because importing
    ``xml.sax.saxutils`` pulls in ``urllib.request`` and the HTTP and e-mail
    packages, which a one-shot ``vigil simulate`` would pay for at start-up."""
    text = value.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")
    if '"' not in value or "'" in value:
        text = text.replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    return '"' + text.replace('"', "&quot;") + '"'


def digest(params: dict[str, str]) -> str:
    return md5(f" {params_xml(params)}\n".encode()).hexdigest()


def resource_params(work: Work, rsc: WRsc, node: str) -> dict[str, str]:
    """Instance attributes as they apply on ``node`` (rules evaluated there;
    without rules they are the same everywhere, as unpacked)."""
    if all(nvset.rule is None for nvset in rsc.prim.params):
        return rsc.params
    ctx = RuleContext(now=work.now, node_attrs=work.nodes[node].attrs, rsc_class=rsc.prim.cls,
                      rsc_provider=rsc.prim.provider, rsc_type=rsc.prim.type)
    return resolve_nvsets(rsc.prim.params, ctx)


def op_timeout_ms(work: Work, rsc: WRsc, op: Op | None, task: str, interval_ms: int) -> int:
    return operation_timeout_ms(work.cluster.config, rsc.prim, op, task, interval_ms, work.now)


def operation_timeout_ms(config: Config, prim: Primitive, op: Op | None, task: str, interval_ms: int,
                         now: int) -> int:
    """The operation's timeout, else op_defaults' (rules evaluated for this op), else 20 s.

    Shared with the controller, which must give the agent the same timeout
    that the recorded digest of a recurring operation includes.
    """
    if op is not None and op.timeout_ms is not None:
        return op.timeout_ms
    ctx = RuleContext(now=now, rsc_class=prim.cls, rsc_provider=prim.provider,
                      rsc_type=prim.type, op_name=task, op_interval_ms=interval_ms)
    value = resolve_nvsets(config.op_defaults, ctx).get("timeout")
    if value:
        from_defaults = _parse_ms(value)
        if from_defaults is not None:
            return from_defaults
    return DEFAULT_TIMEOUT_MS


def definition_params(params: Mapping[str, str], op: Op | None, interval_ms: int,
                      timeout_ms: int) -> dict[str, str]:
    """What an operation's digest covers: instance and op parameters, and a recurring op's timeout."""
    covered = dict(params)
    if op is not None:
        covered.update(op.params)
    if interval_ms > 0:
        covered["CRM_meta_timeout"] = str(timeout_ms)
    return covered


def _parse_ms(text: str) -> int | None:
    try:
        return parse_interval_ms(text)
    except ValueError:
        return None


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


def is_fence_param(name: str) -> bool:
    """Parameters Pacemaker itself adds to fence devices."""
    if name in ("provides", "stonith-timeout"):
        return True
    if not name.startswith("pcmk_"):
        return False
    if name in ("pcmk_action_limit", "pcmk_delay_base", "pcmk_delay_max", "pcmk_host_argument",
                "pcmk_host_check", "pcmk_host_list", "pcmk_host_map"):
        return True
    rest = name[5:]
    cut = rest.find("_")
    return cut >= 0 and rest[cut:] in ("_action", "_timeout", "_retries")


def expected_digests(work: Work, rsc: WRsc, node: str, task: str, interval_ms: int,
                     op: Op | None, record: OpRecord) -> Digests:
    """The digests ``record`` should carry if the definition had not changed.

    The recorded list of non-reloadable parameters (``op-force-restart``)
    narrows the restart digest; the recorded list of secret parameters
    (``op-secure-params``) is left out of the secure digest.
    """
    base = dict(resource_params(work, rsc, node))
    op_params = dict(op.params) if op is not None else {}
    params = definition_params(base, op, interval_ms, op_timeout_ms(work, rsc, op, task, interval_ms))
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


def compare_digests(work: Work, rsc: WRsc, node: str, record: OpRecord) -> tuple[str, Digests]:
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

