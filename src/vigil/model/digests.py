"""Operation digests as Pacemaker computes them, and the parameters they cover.

Each recorded operation carries an MD5 digest of the parameters it ran with:
the controller computes it when it records a result, the scheduler
recomputes it from the current configuration to tell whether a definition
changed.  Both must hash exactly the same text, Pacemaker's: the parameters
as one XML element, attributes sorted by name, with a leading space and a
trailing newline.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from vigil.model.config import Config, Op, Primitive
from vigil.model.isodate import parse_interval_ms
from vigil.model.nvsets import resolve_nvsets
from vigil.model.rule_eval import RuleContext

if TYPE_CHECKING:
    from hashlib import md5
else:
    try:
        # CPython's own MD5, which hashlib falls back to without OpenSSL:
        # importing hashlib loads OpenSSL's libcrypto, 3.7 MiB of the 25 MiB
        # a small `vigil simulate` needs in all (and this is faster for short
        # texts).
        from _md5 import md5

        md5(b"", usedforsecurity=False)  # a FIPS-mode Python may block its built-in hashes
    except (ImportError, ValueError):  # a Python built without it, or one that refuses it
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
    """Pacemaker's digest of ``params``: MD5 as a checksum, not for security, so a system in
    FIPS mode (which refuses MD5 for security) computes it too."""
    return md5(f" {params_xml(params)}\n".encode(), usedforsecurity=False).hexdigest()


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
